"""Self check-in kiosk: the domain and application services.

This package imports no Qt, no card, camera, printer or HTTP library; the
import-linter contract in pyproject.toml keeps it so.
"""

__version__ = "0.1.0"

"""Shared test set-up.

Qt runs on the offscreen platform: CI has no display. Screenshots and other
artefacts go to $KIOSK_ARTIFACTS (default: artifacts/ at the project root).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("KIOSK_ARTIFACTS", PROJECT_ROOT / "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def citizens_dir() -> Path:
    return PROJECT_ROOT / "assets" / "citizens"

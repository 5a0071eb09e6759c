"""The seam between the screens and the application: what a touch can ask for.

Screens are typed against `CheckInOperations`, never against
`kiosk.desk.CheckInDesk`. In production the window gets a `DeskRunner`
(which runs each operation on its worker thread and returns at once); tests
give it a small recording object. `CheckInDesk` itself also matches the
protocol, with blocking methods, which is what the runner wraps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kiosk.domain import VisitType
from kiosk.flow import FlowState


class CheckInOperations(Protocol):
    """The named operations of the check-in desk that the screens trigger."""

    # -- operations (may block on devices or the hub in the desk itself) --------
    def begin(self) -> None: ...

    def use_qr_without_chip(self) -> None: ...

    def id_typed(self, id12: str) -> None: ...

    def use_visit_paper(self) -> None: ...

    def confirm_identity(self) -> None: ...

    def continue_from_insurance(self) -> None: ...

    def choose_visit_type(self, visit_type: VisitType, paper_number: str | None = None) -> None: ...

    def choose_department(self, code: str) -> None: ...

    def choose_service(self, code: str) -> None: ...

    def confirm(self) -> None: ...

    def back(self) -> None: ...

    def cancel(self) -> None: ...

    def retry(self) -> None: ...

    def finish(self) -> None: ...

    def reprint(self) -> None: ...

    # -- cheap: a short lock only, fine on the UI thread -------------------------
    def touch(self) -> None: ...

    def tick(self) -> bool: ...

    def seconds_left(self) -> float | None: ...


class FlowSource(Protocol):
    """What `kiosk.flow.CheckInFlow` offers observers."""

    @property
    def state(self) -> FlowState: ...

    def subscribe(self, listener: Callable[[FlowState], None]) -> None: ...


class ConnectionStatusSource(Protocol):
    """Something that reports (online, pending outbox rows) from any thread,
    such as the outbox sync worker."""

    def add_listener(self, listener: Callable[[bool, int], None]) -> None: ...

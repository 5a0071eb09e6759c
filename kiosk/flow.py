"""The check-in flow as a state machine, with no Qt and no I/O.

A patient moves through the steps in order:

    IDLE -> IDENTIFY -> IDENTITY_CHECK -> INSURANCE -> VISIT_TYPE
         -> DEPARTMENT -> CONFIRM -> PRINTING -> DONE -> IDLE

ERROR can be entered from any step and leads back to IDLE (or to the step
the error allows a retry of). After `idle_timeout` seconds without a touch
the flow returns to IDLE and drops everything it knew about the patient.

`CheckInFlow` only decides *which* step comes next and keeps the patient's
answers. The I/O that feeds it (reading the chip, asking the hub, printing)
lives in `kiosk.services`, which calls the transition methods here. Every
transition checks the current step, so an event that arrives late (a QR
decoded after the patient already confirmed, say) cannot push the flow
somewhere it should not be.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from kiosk.domain import (
    Department,
    Identity,
    InsuranceCheck,
    QueueTicket,
    ReferenceData,
    Service,
    VisitPaper,
    VisitType,
)
from kiosk.payment import PaymentRequest


class Step(enum.Enum):
    IDLE = "idle"
    IDENTIFY = "identify"
    IDENTITY_CHECK = "identity_check"
    INSURANCE = "insurance"
    VISIT_TYPE = "visit_type"
    DEPARTMENT = "department"
    CONFIRM = "confirm"
    PRINTING = "printing"
    DONE = "done"
    ERROR = "error"


# The order a patient walks through; ERROR is outside it.
ORDER = (
    Step.IDLE,
    Step.IDENTIFY,
    Step.IDENTITY_CHECK,
    Step.INSURANCE,
    Step.VISIT_TYPE,
    Step.DEPARTMENT,
    Step.CONFIRM,
    Step.PRINTING,
    Step.DONE,
)

# Where "back" leads. Steps that are busy with the outside world (printing)
# or finished (done) have no way back.
_BACK = {
    Step.IDENTIFY: Step.IDLE,
    Step.IDENTITY_CHECK: Step.IDLE,
    Step.INSURANCE: Step.IDENTITY_CHECK,
    Step.VISIT_TYPE: Step.INSURANCE,
    Step.DEPARTMENT: Step.VISIT_TYPE,
    Step.CONFIRM: Step.DEPARTMENT,
}


class FlowError(Exception):
    """An event arrived in a step that does not accept it (a programming or
    timing error, never the patient's fault)."""


@dataclass(frozen=True)
class ErrorInfo:
    """What an error screen shows. No personal data: it is also logged."""

    code: str
    guidance_vi: str
    guidance_en: str
    retry_step: Step | None = None  # where "try again" leads, if anywhere


@dataclass(frozen=True)
class Session:
    """Everything the kiosk knows about the patient in front of it.

    Frozen: each transition makes a new Session, so a snapshot handed to the
    UI thread never changes under it. A wipe replaces it with an empty one.
    """

    identity: Identity | None = None
    insurance: InsuranceCheck | None = None
    visit_type: VisitType | None = None
    paper_number: str | None = None
    department: Department | None = None
    service: Service | None = None
    ticket: QueueTicket | None = None
    ticket_preview_png: bytes | None = field(default=None, repr=False)
    print_error: ErrorInfo | None = None  # printing failed; the number is on screen
    payment: PaymentRequest | None = None  # the VietQR shown to a fee-paying patient
    # An open re-exam appointment or referral the hub knows for this patient:
    # the visit-type screen offers it as the one-touch choice.
    visit_paper: VisitPaper | None = None

    def __repr__(self) -> str:
        return "Session(<redacted>)"


@dataclass(frozen=True)
class FlowState:
    """An immutable snapshot of the flow, handed to observers."""

    step: Step
    session: Session
    busy: bool = False  # a device or the hub is working; show progress
    progress: str = ""  # the current sub-step while busy ("bac", "dg13", ...)
    prompt: str = ""  # a hint for the identify step ("place_card", "show_qr", ...)
    error: ErrorInfo | None = None
    reference: ReferenceData | None = None


Listener = Callable[[FlowState], None]


class CheckInFlow:
    """The state machine. Thread-safe: device threads and the UI's worker
    threads may call it concurrently; observers get immutable snapshots."""

    def __init__(self, idle_timeout: float = 60.0) -> None:
        self.idle_timeout = idle_timeout
        self._lock = threading.RLock()
        self._state = FlowState(Step.IDLE, Session())
        self._last_touch: float | None = None
        self._listeners: list[Listener] = []

    # -- observing -----------------------------------------------------------

    @property
    def state(self) -> FlowState:
        return self._state

    def subscribe(self, listener: Listener) -> None:
        """Register an observer; it gets the current state at once."""
        with self._lock:
            self._listeners.append(listener)
            state = self._state
        listener(state)

    def _set(self, state: FlowState) -> None:
        with self._lock:
            self._state = state
            listeners = list(self._listeners)
        for listener in listeners:
            listener(state)

    def _require(self, *steps: Step) -> FlowState:
        state = self._state
        if state.step not in steps:
            names = ", ".join(s.value for s in steps)
            raise FlowError(f"event not accepted in step {state.step.value} (expects {names})")
        return state

    def _go(self, step: Step, session: Session | None = None, **fields: object) -> None:
        current = self._state
        self._set(
            FlowState(
                step=step,
                session=current.session if session is None else session,
                busy=bool(fields.get("busy", False)),
                progress=str(fields.get("progress", "")),
                prompt=str(fields.get("prompt", "")),
                error=fields.get("error"),  # type: ignore[arg-type]
                reference=current.reference,
            )
        )

    # -- time ------------------------------------------------------------------

    def touch(self, now: float) -> None:
        """The patient touched the screen (or the card): restart the countdown."""
        with self._lock:
            self._last_touch = now

    def seconds_left(self, now: float) -> float | None:
        """Seconds until the idle wipe, or None at IDLE."""
        with self._lock:
            if self._state.step is Step.IDLE or self._last_touch is None:
                return None
            return max(0.0, self.idle_timeout - (now - self._last_touch))

    def tick(self, now: float) -> bool:
        """Call periodically. Returns True when the idle timeout wiped the session.

        Not while busy: a chip read or a print in progress is activity, and
        abandoning a print would lose a number the patient is waiting for.
        """
        with self._lock:
            state = self._state
            if state.step is Step.IDLE or state.busy or self._last_touch is None:
                return False
            if now - self._last_touch < self.idle_timeout:
                return False
            self._wipe()
            return True

    def _wipe(self) -> None:
        # Dropping the only references to the Session is what makes the
        # personal data unreachable; nothing else holds it (the UI clears its
        # widgets when it renders IDLE).
        self._last_touch = None
        self._go(Step.IDLE, Session())

    # -- reference data --------------------------------------------------------

    def set_reference(self, reference: ReferenceData) -> None:
        with self._lock:
            self._set(replace(self._state, reference=reference))

    # -- transitions -------------------------------------------------------------

    def start(self, prompt: str = "place_card") -> None:
        """Leave IDLE: a touch on the welcome screen, a card or a QR code."""
        with self._lock:
            state = self._state
            if state.step is Step.IDENTIFY:
                self._go(Step.IDENTIFY, prompt=prompt)
                return
            self._require(Step.IDLE)
            self._go(Step.IDENTIFY, Session(), prompt=prompt)

    def identifying(self, progress: str) -> None:
        """A chip read (or a QR verification) is under way."""
        with self._lock:
            if self._state.step is Step.IDLE:
                self._go(Step.IDENTIFY, Session(), busy=True, progress=progress)
                return
            self._require(Step.IDENTIFY)
            self._go(Step.IDENTIFY, busy=True, progress=progress)

    def identified(self, identity: Identity) -> None:
        with self._lock:
            self._require(Step.IDLE, Step.IDENTIFY)
            self._go(Step.IDENTITY_CHECK, Session(identity=identity))

    def confirm_identity(self) -> None:
        with self._lock:
            self._require(Step.IDENTITY_CHECK)
            self._go(Step.INSURANCE, busy=True, progress="insurance")

    def insurance_checked(self, check: InsuranceCheck) -> None:
        with self._lock:
            state = self._require(Step.INSURANCE)
            self._go(Step.INSURANCE, replace(state.session, insurance=check))

    def visit_paper_found(self, paper: VisitPaper | None) -> None:
        """The hub's answer about an appointment or referral (None: none open)."""
        with self._lock:
            state = self._require(Step.INSURANCE)
            self._go(Step.INSURANCE, replace(state.session, visit_paper=paper), busy=state.busy, progress=state.progress)

    def continue_from_insurance(self) -> None:
        with self._lock:
            state = self._require(Step.INSURANCE)
            if state.busy or state.session.insurance is None:
                raise FlowError("insurance check still running")
            self._go(Step.VISIT_TYPE)

    def choose_visit_type(self, visit_type: VisitType, paper_number: str | None = None) -> None:
        with self._lock:
            state = self._require(Step.VISIT_TYPE)
            session = replace(state.session, visit_type=visit_type, paper_number=paper_number)
            self._go(Step.DEPARTMENT, session)

    def choose_department(self, department: Department) -> None:
        """Pick the department; stays in DEPARTMENT until a service is chosen."""
        with self._lock:
            state = self._require(Step.DEPARTMENT)
            self._go(Step.DEPARTMENT, replace(state.session, department=department, service=None))

    def choose_service(self, service: Service) -> None:
        with self._lock:
            state = self._require(Step.DEPARTMENT)
            dept = state.session.department
            if dept is None or service.department_code != dept.code:
                raise FlowError("service does not belong to the chosen department")
            self._go(Step.CONFIRM, replace(state.session, service=service))

    def confirm(self) -> None:
        """The patient confirmed: registering and printing begin."""
        with self._lock:
            self._require(Step.CONFIRM)
            self._go(Step.PRINTING, busy=True, progress="register")

    def printing(self, progress: str) -> None:
        with self._lock:
            self._require(Step.PRINTING)
            self._go(Step.PRINTING, busy=True, progress=progress)

    def ticket_issued(
        self, ticket: QueueTicket, preview_png: bytes | None, payment: PaymentRequest | None = None
    ) -> None:
        """The number exists (hub or offline): from here it must reach the patient."""
        with self._lock:
            state = self._require(Step.PRINTING)
            session = replace(state.session, ticket=ticket, ticket_preview_png=preview_png, payment=payment)
            self._go(Step.PRINTING, session, busy=True, progress="print")

    def printed(self, print_error: ErrorInfo | None = None) -> None:
        """Printing finished; with `print_error` the number is only on screen."""
        with self._lock:
            state = self._require(Step.PRINTING)
            if state.session.ticket is None:
                raise FlowError("printed before a ticket was issued")
            self._go(Step.DONE, replace(state.session, print_error=print_error))

    def payment_settled(self, reference: str, paid_at: datetime | None) -> None:
        """The hub has received the VietQR transfer: the screen says "paid".

        `reference` names the payment: an answer that arrives after the next
        patient reached this step must not mark their fee paid."""
        with self._lock:
            state = self._require(Step.DONE)
            payment = state.session.payment
            if payment is None or payment.paid or payment.reference != reference:
                return
            self._go(Step.DONE, replace(state.session, payment=payment.settled(paid_at)))

    def back(self) -> None:
        with self._lock:
            state = self._state
            target = _BACK.get(state.step)
            if target is None or state.busy:
                raise FlowError(f"no way back from {state.step.value}")
            if target is Step.IDLE:
                self._wipe()
                return
            self._go(target, state.session)

    def finish(self) -> None:
        """Done screen closed (by touch or its own timer)."""
        with self._lock:
            self._require(Step.DONE, Step.ERROR)
            self._wipe()

    def cancel(self) -> None:
        """The patient walked away or pressed "start over": wipe now."""
        with self._lock:
            self._wipe()

    def fail(self, error: ErrorInfo) -> None:
        """Show an error screen. The session is kept only if a retry needs it."""
        with self._lock:
            state = self._state
            session = state.session if error.retry_step is not None else Session()
            self._go(Step.ERROR, session, error=error)

    def retry(self) -> None:
        with self._lock:
            state = self._require(Step.ERROR)
            target = state.error.retry_step if state.error else None
            if target is None:
                self._wipe()
                return
            self._go(target, state.session, prompt="place_card" if target is Step.IDENTIFY else "")

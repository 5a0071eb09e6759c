"""The check-in desk: the application service the screens call.

`CheckInDesk` owns one `CheckInFlow` and the ports (card, hub, outbox,
printer, clock). Each public method is one named operation a touch, a card
or a QR code triggers. The methods block on devices and the network, so
callers run them off the UI thread (the UI has one worker for this); the
resulting state reaches the screens through `flow.subscribe`.

Identification follows what CCCD kiosks do with a "2-in-1" reader: the card
lies on the contactless reader with its front QR under the camera. The QR
gives the key to open the chip (CAN, or the BAC key material: ID, date of
birth and the expiry derived from the date of issue); the chip then gives
the data the kiosk trusts. A QR alone still identifies the patient, marked
"not verified".
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from kiosk import cccd
from kiosk.domain import (
    HubReceipt,
    Identity,
    IdentitySource,
    InsuranceCheck,
    VisitPaper,
    NumberIssuer,
    QueueTicket,
    ReferenceData,
    Registration,
    Verification,
    VisitType,
)
from kiosk.errors import (
    AccessKeyRejected,
    CardError,
    CardNotGenuineError,
    CardRemovedError,
    HubRejected,
    HubUnavailable,
    KioskError,
    NoCardError,
    PrinterError,
    QrRejected,
    StorageError,
    VneidRejected,
)
from kiosk.flow import CheckInFlow, ErrorInfo, FlowError, Step
from kiosk.insurance import amount_due, unreachable, visit_category
from kiosk.ports import (
    CanKey,
    CardPresenceEvents,
    CardReader,
    ChipAccessKey,
    ChipReader,
    Clock,
    Delivery,
    HubClient,
    ReferenceStore,
    RegistrationOutbox,
    TicketPrinter,
    TicketRenderer,
)
from kiosk.qr import BhytQr, CccdQr, HubCode, VietQr, VneidToken, parse_qr
from kiosk.payment import PaymentLookup, PaymentRequest, PaymentSettings, payment_request
from kiosk.ticket import TicketLayout, ticket_layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskSettings:
    kiosk_id: str
    hospital_name: str
    logo_path: str | None = None
    hospital_code: str = "01001"  # MA_CSKCB, to price a visit while the hub is away
    # How long the patient may wait for the hub to give the shared queue
    # number before the kiosk prints an offline one instead.
    register_timeout: float = 5.0
    # VietQR for fee-paying patients ([payment] in the configuration).
    payment: PaymentSettings | None = None


@dataclass(frozen=True)
class TypedId:
    """A CCCD number typed on the keypad: the key to the chip, nothing more."""

    id_number: str

    def __repr__(self) -> str:  # never the number in a log or traceback
        return "TypedId(<redacted>)"


def error_info(error: KioskError, retry_step: Step | None = None) -> ErrorInfo:
    return ErrorInfo(error.code, error.guidance_vi, error.guidance_en, retry_step)


class CheckInDesk:
    def __init__(
        self,
        *,
        settings: DeskSettings,
        flow: CheckInFlow,
        card_reader: CardReader,
        chip_reader: ChipReader,
        hub: HubClient,
        outbox: RegistrationOutbox,
        delivery: Delivery,
        printer: TicketPrinter,
        renderer: TicketRenderer,
        clock: Clock,
        reference_store: ReferenceStore | None = None,
    ) -> None:
        self.settings = settings
        self.flow = flow
        self._card_reader = card_reader
        self._chip_reader = chip_reader
        self._hub = hub
        self._outbox = outbox
        self._delivery = delivery
        self._printer = printer
        self._renderer = renderer
        self._clock = clock
        self._reference_store = reference_store
        # The CCCD QR seen in this session, waiting for the chip it opens.
        self._pending_qr: CccdQr | TypedId | None = None  # or the typed ID
        # An appointment/referral slip's QR seen in this session.
        self._pending_hub_code: HubCode | None = None
        self._card_on_reader = False
        # One chip conversation at a time: the card watcher and a QR arriving
        # may both want to read.
        self._chip_lock = threading.Lock()
        self.last_layout: TicketLayout | None = None  # kept for reprint
        # Where a chip read asked for by a QR code or the keypad runs (see
        # run_chip_reads_on); None: on the caller's thread.
        self._card_thread: Callable[[Callable[[], None]], bool] | None = None
        flow.subscribe(self._forget_on_idle)

    # -- housekeeping --------------------------------------------------------------

    def _forget_on_idle(self, state) -> None:  # noqa: ANN001 - FlowState
        if state.step is Step.IDLE:
            self._pending_qr = None
            self._pending_hub_code = None

    def touch(self) -> None:
        self.flow.touch(self._clock.monotonic())

    def tick(self) -> bool:
        """Idle countdown; True when the session was wiped."""
        wiped = self.flow.tick(self._clock.monotonic())
        if wiped:
            log.info("idle timeout: session wiped")
        return wiped

    def seconds_left(self) -> float | None:
        return self.flow.seconds_left(self._clock.monotonic())

    def refresh_reference(self) -> ReferenceData | None:
        """Fetch departments and services; keep the last good copy when offline.

        Each fresh copy is saved (`reference_store`), so a kiosk started while
        the hub is down still offers the departments it last knew; their
        age is `reference_age_seconds()`.
        """
        try:
            reference = self._hub.reference_data()
        except (HubUnavailable, HubRejected) as exc:
            log.warning("reference data not refreshed: %s", exc.code)
            current = self.flow.state.reference
            if current is None and self._reference_store is not None:
                current = self._cached_reference()
            return current
        self.flow.set_reference(reference)
        if self._reference_store is not None:
            try:
                self._reference_store.save(reference)
            except StorageError as exc:  # the live copy still works
                log.warning("reference data not cached: %s", exc)
        return reference

    def _cached_reference(self) -> ReferenceData | None:
        assert self._reference_store is not None
        try:
            cached = self._reference_store.load()
        except StorageError as exc:
            log.error("cached reference data unusable: %s", exc)
            return None
        if cached is not None:
            log.info("using cached reference data (%s)", cached.fetched_at.isoformat() if cached.fetched_at else "age unknown")
            self.flow.set_reference(cached)
        return cached

    def reference_age_seconds(self) -> float | None:
        """How old the departments and services on screen are (None: none, or unknown)."""
        reference = self.flow.state.reference
        if reference is None or reference.fetched_at is None:
            return None
        return max(0.0, (self._clock.now() - reference.fetched_at).total_seconds())

    # -- identify ---------------------------------------------------------------------

    def begin(self) -> None:
        """The patient touched the welcome screen."""
        self.touch()
        self.flow.start("place_card")

    def card_placed(self) -> None:
        """A card arrived on the reader (called from the card watcher thread)."""
        self._card_on_reader = True
        step = self.flow.state.step
        if step not in (Step.IDLE, Step.IDENTIFY):
            return  # a card left on the reader while the patient goes on
        self.touch()
        if self._pending_qr is None:
            # We cannot open the chip without a key: ask for the card's QR.
            self.flow.start("show_qr")
            return
        self._read_chip(self._pending_qr)

    def card_removed(self) -> None:
        self._card_on_reader = False

    def id_typed(self, id12: str) -> None:
        """The patient typed the 12-digit ID on the keypad (no QR at hand).

        The ID gives the chip's CAN (its last 6 digits, `kiosk.cccd.can`),
        kept like a scanned QR until the card is on the reader. Only the chip
        identifies the patient: a typed number alone proves nothing, so there
        is no "go on without the chip" for it.
        """
        step = self.flow.state.step
        if step not in (Step.IDLE, Step.IDENTIFY) or self.flow.state.busy:
            raise FlowError("an ID can be typed only while identifying")
        self.touch()
        problems = cccd.validate_id_number(id12)
        if problems:
            log.info("typed ID refused: %s", problems[0])  # the problem, never the number
            self.flow.fail(
                ErrorInfo(
                    "typed_id_invalid",
                    "Số CCCD vừa nhập chưa đúng. Số CCCD có 12 chữ số, in ở mặt trước thẻ. Vui lòng nhập lại.",
                    "The ID number typed is not valid. A CCCD number has 12 digits, printed on the front "
                    "of the card. Please type it again.",
                    Step.IDENTIFY,
                )
            )
            return
        typed = TypedId(id12)
        self._pending_qr = typed
        if self._card_on_reader:
            self._read_chip_on_card_thread(typed)
        else:
            self.flow.start("place_card_after_id")

    def qr_scanned(self, payload: str) -> None:
        """A QR code was decoded by the camera (called from the scanner thread)."""
        step = self.flow.state.step
        if step not in (Step.IDLE, Step.IDENTIFY) or self.flow.state.busy:
            return  # a code still in view after identification is not news
        self.touch()
        try:
            code = parse_qr(payload)
        except QrRejected as exc:
            log.info("QR rejected: %s", exc.reason)
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))
            return
        if isinstance(code, CccdQr):
            self._pending_qr = code
            if self._card_on_reader:
                self._read_chip_on_card_thread(code)
            else:
                self.flow.start("place_card_after_qr")
        elif isinstance(code, BhytQr):
            self._identified_by_bhyt(code)
        elif isinstance(code, VneidToken):
            self._identified_by_vneid(code)
        elif isinstance(code, HubCode):
            # An appointment or referral slip names a paper, not a person: keep
            # it, identify the patient by card, and the hub answers the paper
            # only if it is theirs (find_visit_paper after the insurance check).
            self._pending_hub_code = code
            self.flow.start("place_card")
        elif isinstance(code, VietQr):
            exc = QrRejected("payment QR, not an identity")
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))

    def use_qr_without_chip(self) -> None:
        """The patient has no chip to tap (or it cannot be read): go on with
        the printed QR data, marked "not verified" for the staff."""
        self.touch()
        qr = self._pending_qr
        if qr is None or isinstance(qr, TypedId):
            raise FlowError("no QR code to use")
        identity = Identity(
            citizen=qr.citizen(),
            source=IdentitySource.CCCD_QR,
            verification=Verification.NOT_VERIFIED,
            verification_notes=("identity from the printed QR only; chip not read",),
        )
        self.flow.identified(identity)

    def _identified_by_vneid(self, code: VneidToken) -> None:
        # Anyone can print a QR code that looks like a VNeID one, and its
        # format is not public: only the hub's verification service may say
        # whose it is. Nothing is read from the token here.
        self.flow.identifying("vneid")
        try:
            identity = self._hub.verify_vneid(code.token)
        except HubRejected as exc:  # VneidExpired, VneidRejected
            log.info("VNeID code not verified: %s", exc.code)
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))
            return
        except HubUnavailable as exc:
            log.warning("VNeID code not verified: %s", exc.code)
            self.flow.fail(
                ErrorInfo(
                    "vneid_unavailable",
                    "Chưa xác thực được mã VNeID lúc này. Vui lòng đặt thẻ CCCD lên đầu đọc.",
                    "The VNeID code cannot be verified right now. Please place your ID card on the reader.",
                    Step.IDENTIFY,
                )
            )
            return
        if identity.source is not IdentitySource.VNEID:
            # A hub client that answers anything else broke the port's
            # promise; do not let a weaker identity pass as a verified one.
            log.error("hub answered a VNeID check with a %s identity", identity.source.value)
            self.flow.fail(error_info(VneidRejected("not a VNeID identity"), retry_step=Step.IDENTIFY))
            return
        self.touch()
        self.flow.identified(identity)

    def _identified_by_bhyt(self, code: BhytQr) -> None:
        identity = Identity(
            citizen=code.citizen(),
            source=IdentitySource.BHYT_QR,
            verification=Verification.NOT_VERIFIED,
            insurance_card_code=code.card_code,
            verification_notes=("identity from the insurance card QR only",),
        )
        self.flow.identified(identity)

    def _keys_for(self, qr: CccdQr | TypedId) -> list[ChipAccessKey]:
        keys: list[ChipAccessKey] = [CanKey(cccd.can(qr.id_number))]
        if isinstance(qr, TypedId):
            # No date of birth or issue was typed: the CAN is the only key.
            return keys
        # With today's date the law rule orders keys: still valid first.
        keys += cccd.mrz_keys_for(qr.id_number, qr.date_of_birth, qr.date_of_issue, today=self._clock.now().date())
        return keys

    def run_chip_reads_on(self, submit: Callable[[Callable[[], None]], bool]) -> None:
        """Send the chip reads a QR code or the keypad asks for to the card's
        owner thread (`CardWatcher.run_on_card_thread`), where the reads a
        tap starts already run: every conversation with the card is then on
        one thread, not on the scanner's or the UI worker's. `submit`
        answering False (the watcher is not running) reads on the caller's
        thread, as without it."""
        self._card_thread = submit

    def share_card(self, job: Callable[[bool], None]) -> None:
        """Run `job`, a talk with the card that is not a patient's read (the
        technician's test read), where and as the patient's reads run: on the
        card's thread (the caller's when no watcher runs, as above) and
        holding the chip lock. Two conversations at once would break both:
        a plain APDU in the middle of a secure messaging session ends it on
        the chip (which "MUST abort Secure Messaging" on a plain APDU, ICAO
        9303-11 §9.8), and the reader's next protected APDU fails.
        `job(True)`: the card is the job's; `job(False)`: a read holds it on
        another thread, so the job must leave the card alone. Returns once
        `job` ran or was queued."""

        def exclusive() -> None:
            if not self._chip_lock.acquire(blocking=False):
                job(False)
                return
            try:
                job(True)
            finally:
                self._chip_lock.release()

        submit = self._card_thread
        if submit is None or not submit(exclusive):
            exclusive()

    def _read_chip_on_card_thread(self, qr: CccdQr | TypedId) -> None:
        submit = self._card_thread
        if submit is None or not submit(lambda: self._read_chip_if_still_wanted(qr)):
            self._read_chip(qr)

    def _read_chip_if_still_wanted(self, qr: CccdQr | TypedId) -> None:
        # Queued behind taps: the patient may meanwhile have been identified
        # by them, lifted the card, or left (the session wiped).
        state = self.flow.state
        if state.step in (Step.IDLE, Step.IDENTIFY) and not state.busy and self._pending_qr is qr and self._card_on_reader:
            self._read_chip(qr)

    def _read_chip(self, qr: CccdQr | TypedId) -> None:
        if not self._chip_lock.acquire(blocking=False):
            return  # a read is already under way
        try:
            self.flow.identifying("connect")
            try:
                transport = self._card_reader.connect()
                result = self._chip_reader.read_identity(transport, self._keys_for(qr), progress=self.flow.identifying)
            finally:
                self._card_reader.disconnect()
            # A typed ID is only a key: the chip, having opened with it, is
            # what identifies the patient, even after a typo in digits 1-6.
            if not isinstance(qr, TypedId) and result.citizen.id_number != qr.id_number:
                # The chip answered a key derived from this QR, yet holds
                # another ID: the QR belongs to a different card.
                raise CardNotGenuineError("chip and QR disagree")
            if result.verification is Verification.FORGED:
                raise CardNotGenuineError("chip data failed verification")
            identity = Identity(
                citizen=result.citizen,
                source=IdentitySource.CHIP,
                verification=result.verification,
                verification_notes=result.notes,
            )
            self.touch()
            self.flow.identified(identity)
        except (NoCardError, CardRemovedError) as exc:
            log.info("chip read interrupted: %s", exc.code)
            self._card_on_reader = False
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))
        except AccessKeyRejected as exc:
            log.info("chip refused every key")
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))
        except CardError as exc:
            log.warning("chip read failed: %s", exc.code)
            self.flow.fail(error_info(exc, retry_step=Step.IDENTIFY))
        finally:
            self._chip_lock.release()

    # -- after identification -------------------------------------------------------------

    def confirm_identity(self) -> None:
        self.touch()
        self.flow.confirm_identity()
        identity = self.flow.state.session.identity
        assert identity is not None
        hub_reached = True
        try:
            check = self._hub.check_insurance(identity.citizen, identity.insurance_card_code)
        except (HubUnavailable, HubRejected) as exc:
            log.warning("insurance not checked: %s", exc.code)
            check = unreachable()
            hub_reached = not isinstance(exc, HubUnavailable)
        # Still busy on the insurance step: the paper lookup is part of the
        # same wait, so the patient sees one answer, not two. A hub that just
        # did not answer is not asked again: that would double the wait.
        paper = self._find_visit_paper(identity, check) if hub_reached else None
        self.flow.visit_paper_found(paper)
        self.flow.insurance_checked(check)

    def _find_visit_paper(self, identity: Identity, check: InsuranceCheck) -> VisitPaper | None:
        code = self._pending_hub_code
        card = identity.insurance_card_code or check.card_code
        try:
            paper = self._hub.find_visit_paper(identity.citizen, card, code.id if code else None)
            if paper is None and code is not None:
                # The slip was not this patient's (or is used up): fall back
                # to whatever the hub has for them by ID.
                log.info("scanned %s code not open for this patient", code.kind.value)
                paper = self._hub.find_visit_paper(identity.citizen, card)
        except (HubUnavailable, HubRejected) as exc:
            # The patient can still choose re-exam and type the paper number.
            log.warning("appointment lookup failed: %s", exc.code)
            return None
        if paper is not None:
            log.info("open %s paper found", paper.visit_type.value)
        return paper

    def continue_from_insurance(self) -> None:
        self.touch()
        self.flow.continue_from_insurance()

    def choose_visit_type(self, visit_type: VisitType, paper_number: str | None = None) -> None:
        self.touch()
        paper = self.flow.state.session.visit_paper
        if paper is not None and paper.visit_type is visit_type and not (paper_number and paper_number.strip()):
            # The hub has this patient's paper: nothing to type.
            paper_number = paper.paper_number
        self.flow.choose_visit_type(visit_type, paper_number)

    def use_visit_paper(self) -> None:
        """One touch on "I have an appointment / a referral": visit type, paper
        number, department and (where it is clear) service come from the
        paper the hub recorded. The steps still happen in order; the patient
        lands on the department step (or confirm) with the choices made and
        can go back to change them."""
        self.touch()
        paper = self.flow.state.session.visit_paper
        if paper is None:
            raise FlowError("no appointment or referral to use")
        self.flow.choose_visit_type(paper.visit_type, paper.paper_number)
        reference = self.flow.state.reference
        if reference is None or paper.department_code is None:
            return
        try:
            department = reference.department(paper.department_code)
        except KeyError:
            log.info("paper's department not offered at this kiosk; patient chooses")
            return
        self.flow.choose_department(department)
        services = reference.services_of(department.code)
        chosen = [s for s in services if s.code == paper.service_code] or (list(services) if len(services) == 1 else [])
        if chosen:
            self.flow.choose_service(chosen[0])

    def choose_department(self, code: str) -> None:
        self.touch()
        reference = self._reference()
        department = reference.department(code)
        self.flow.choose_department(department)
        services = reference.services_of(code)
        if len(services) == 1:
            # Nothing to choose: save the patient a touch.
            self.flow.choose_service(services[0])

    def choose_service(self, code: str) -> None:
        self.touch()
        self.flow.choose_service(self._reference().service(code))

    def back(self) -> None:
        self.touch()
        self.flow.back()

    def cancel(self) -> None:
        self.flow.cancel()

    def retry(self) -> None:
        self.touch()
        self.flow.retry()
        # "Thử lại" with the card still lying on the reader: the watcher
        # reports changes only, so no tap will come. Ask the reader itself,
        # on the card's thread: the desk's own idea may also be stale after a
        # lift-and-replace quicker than PC/SC looks at the slot.
        qr = self._pending_qr
        if qr is not None and self.flow.state.step is Step.IDENTIFY:
            submit = self._card_thread
            if submit is None or not submit(lambda: self._read_again_if_card_present(qr)):
                self._read_again_if_card_present(qr)

    def _read_again_if_card_present(self, qr: CccdQr | TypedId) -> None:
        try:
            present = self._card_reader.card_present()
        except KioskError as exc:
            log.info("card presence unknown on retry: %s", exc.code)
            return
        if present:
            self._card_on_reader = True
            self._read_chip_if_still_wanted(qr)

    def finish(self) -> None:
        self.flow.finish()

    def _reference(self) -> ReferenceData:
        reference = self.flow.state.reference
        if reference is None:
            raise FlowError("no reference data: the kiosk has never reached the hub")
        return reference

    # -- register and print ----------------------------------------------------------------

    def confirm(self) -> None:
        """Register the visit, get a number (hub or offline) and print it."""
        self.touch()
        self.flow.confirm()
        session = self.flow.state.session
        identity, department, service = session.identity, session.department, session.service
        assert identity is not None and department is not None and service is not None
        assert session.visit_type is not None
        registration = Registration(
            key=uuid.uuid4().hex,
            kiosk_id=self.settings.kiosk_id,
            identity=identity,
            insurance=session.insurance,
            visit_type=session.visit_type,
            department_code=department.code,
            service_code=service.code,
            created_at=self._clock.now(),
            paper_number=session.paper_number,
        )
        try:
            self._outbox.add(registration)
        except StorageError as exc:
            # Nothing was promised yet: no number exists, so send the patient
            # to the desk rather than print a number nobody will ever see.
            log.error("registration not stored: %s", exc)
            self.flow.fail(error_info(exc))
            return

        try:
            receipt = self._delivery.deliver_now(registration.key, self.settings.register_timeout)
        except HubRejected as exc:
            # The hub refused this visit for good (a validation error): no
            # number may be printed for it. The row stays, rejected, for the
            # technician; the patient goes to the desk.
            log.warning("registration rejected by the hub")
            self.flow.fail(error_info(exc))
            return
        ticket = self._ticket_for(registration, receipt)
        payment = self._payment_for(ticket)
        layout = ticket_layout(ticket, self.settings.hospital_name, self.settings.logo_path, payment)
        self.last_layout = layout
        try:
            preview = self._renderer.render_png(layout)
        except Exception:  # the preview is a courtesy; the number is what matters
            log.exception("ticket preview failed")
            preview = None
        self.flow.ticket_issued(ticket, preview, payment)
        self._print(layout)

    def _ticket_for(self, registration: Registration, receipt: HubReceipt | None) -> QueueTicket:
        session = self.flow.state.session
        department, service = session.department, session.service
        assert department is not None and service is not None
        insurance = session.insurance
        if receipt is not None:
            return QueueTicket(
                registration_key=registration.key,
                display_number=receipt.display_number,
                issuer=NumberIssuer.HUB,
                department=department,
                service=service,
                masked_name=registration.identity.citizen.masked_name,
                issued_at=registration.created_at,
                insurance_status=insurance.status if insurance else None,
                amount_due=receipt.amount_due,
                estimated_wait_minutes=receipt.estimated_wait_minutes,
                episode_key=receipt.episode_key,
            )
        number = self._outbox.assign_offline_number(
            registration.key, department.queue_prefix, registration.created_at.date()
        )
        log.info("hub not reached in time: offline number issued")
        return QueueTicket(
            registration_key=registration.key,
            display_number=number,
            issuer=NumberIssuer.KIOSK,
            department=department,
            service=service,
            masked_name=registration.identity.citizen.masked_name,
            issued_at=registration.created_at,
            insurance_status=insurance.status if insurance else None,
            # The hub prices visits; offline the kiosk applies the same rule
            # (kiosk.insurance) so the patient sees the same amount.
            amount_due=amount_due(
                insurance,
                visit_category(insurance, registration.visit_type, registration.paper_number, self.settings.hospital_code),
                service.price,
                service.insured_price,
            ),
        )

    # -- VietQR payment -----------------------------------------------------------------------

    def _payment_for(self, ticket: QueueTicket) -> PaymentRequest | None:
        try:
            payment = payment_request(ticket, self.settings.payment)
        except ValueError as exc:
            # A misconfigured account must not cost the patient the ticket:
            # they pay at the cashier, as without VietQR.
            log.error("VietQR not shown: %s", exc)
            return None
        draw = getattr(self._renderer, "render_qr_png", None)
        if payment is not None and callable(draw):
            try:
                payment = replace(payment, qr_png=draw(payment.qr_payload))
            except Exception:  # the ticket still carries the code
                log.exception("VietQR image for the screen failed")
        return payment

    def payment_pending(self) -> bool:
        """A VietQR is on screen and the hub has not confirmed it yet (cheap)."""
        state = self.flow.state
        payment = state.session.payment
        return state.step is Step.DONE and payment is not None and not payment.paid

    def refresh_payment(self) -> bool:
        """Ask the hub whether the VietQR on screen has been paid; True when it has."""
        state = self.flow.state
        payment = state.session.payment
        if state.step is not Step.DONE or payment is None or payment.paid:
            return False
        if not callable(getattr(self._hub, "payment_status", None)):
            return False
        hub: PaymentLookup = self._hub  # type: ignore[assignment]
        try:
            status = hub.payment_status(payment.registration_key)
        except (HubUnavailable, HubRejected) as exc:
            log.info("payment status not available: %s", exc.code)
            return False
        if not status.covers(payment.amount):
            return False
        try:
            self.flow.payment_settled(payment.reference, status.paid_at)
        except FlowError:
            return False  # the patient left meanwhile: nothing to show
        log.info("VietQR payment confirmed by the hub")
        return True

    def _print(self, layout: TicketLayout) -> None:
        try:
            self._printer.print_ticket(layout)
        except PrinterError as exc:
            log.warning("ticket not printed: %s", exc.code)
            self.flow.printed(error_info(exc))
            return
        self.flow.printed()

    def reprint(self) -> None:
        """Print the last ticket again (after paper was refilled)."""
        if self.last_layout is None:
            raise FlowError("nothing to reprint")
        self._printer.print_ticket(self.last_layout)


# What the card watcher's thread is handed: a presence change, a job to run
# (a chip read asked for by a QR code or the keypad), or None (stop).
_WatcherItem = bool | Callable[[], None] | None


class CardWatcher:
    """Tells the desk about taps, on its own thread.

    That thread is the one that runs `on_placed`/`on_removed`, and so the
    chip read a tap triggers (Electrum's one owner thread per device): never
    the UI thread, never the reader's own event thread.

    A reader that reports taps itself (`kiosk.ports.CardPresenceEvents`:
    PC/SC's SCardGetStatusChange monitor, the simulated slot) wakes the
    thread only when something happened; its observer just queues the
    change, so the thread that noticed it (pcscd's monitor, the simulator's
    button) returns at once. Any other reader is polled every `interval`.
    Either way the calls keep their order and their meaning: a card already
    there at start is reported as placed; a lift and a new tap during a read
    arrive, in order, after the read; placed/removed alternate.
    """

    def __init__(
        self,
        reader: CardReader,
        on_placed: Callable[[], None],
        on_removed: Callable[[], None],
        interval: float = 0.25,
    ) -> None:
        self._reader = reader
        self._on_placed = on_placed
        self._on_removed = on_removed
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changes: queue.SimpleQueue[_WatcherItem] = queue.SimpleQueue()
        self._mode = "stopped"

    @property
    def mode(self) -> str:
        """How the running thread learns of taps: "events", "polling" or "stopped"."""
        return self._mode

    def start(self) -> None:
        self._stop.clear()
        self._changes = queue.SimpleQueue()  # nothing from an earlier run leaks in
        self._thread = threading.Thread(target=self._run, args=(self._changes,), name="card-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._changes.put(None)  # wakes a thread waiting for the next event
        if self._thread is not None:
            self._thread.join(timeout)

    def run_on_card_thread(self, job: Callable[[], None]) -> bool:
        """Queue `job` (a chip read a QR code or the keypad asked for) to run
        on this watcher's thread, after the taps already queued; False when
        the watcher is not running (the caller then does it itself)."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._stop.is_set():
            return False
        self._changes.put(job)
        return True

    def _run(self, changes: queue.SimpleQueue[_WatcherItem]) -> None:
        try:
            if isinstance(self._reader, CardPresenceEvents) and self._follow_events(self._reader, changes):
                return
            self._mode = "polling"
            self._poll(changes)
        finally:
            if self._thread is threading.current_thread():  # not a newer run's thread
                self._mode = "stopped"

    def _follow_events(self, reader: CardPresenceEvents, changes: queue.SimpleQueue[_WatcherItem]) -> bool:
        """False when the reader could not take an observer (then we poll)."""
        observer = changes.put  # one object, so remove_observer finds it again
        try:
            # Subscribed here, not in start(): PC/SC's first look may take a
            # moment, and the caller of start() must not wait for it.
            reader.add_observer(observer)
        except KioskError as exc:
            log.warning("card reader events unavailable (%s): polling instead", exc.code)
            return False
        self._mode = "events"
        present = False
        try:
            while not self._stop.is_set():
                change = changes.get()  # blocks without waking until a change or stop()
                if change is None:
                    continue  # stop() (the loop condition ends it)
                if isinstance(change, bool):
                    present = self._apply(present, change)
                else:
                    self._run_job(change)
        finally:
            try:
                reader.remove_observer(observer)
            except KioskError as exc:
                log.warning("card reader observer not removed: %s", exc.code)
        return True

    def _poll(self, changes: queue.SimpleQueue[_WatcherItem]) -> None:
        present = False
        while not self._stop.is_set():
            try:
                now_present = self._reader.card_present()
            except KioskError as exc:
                log.warning("card reader unavailable: %s", exc.code)
                now_present = False
            present = self._apply(present, now_present)
            try:
                item = changes.get(timeout=self._interval)  # the poll's pause; a job or stop() ends it
            except queue.Empty:
                continue
            if item is not None and not isinstance(item, bool):
                self._run_job(item)

    @staticmethod
    def _run_job(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("queued card job failed")

    def _apply(self, present: bool, now_present: bool) -> bool:
        """Call the desk for a change of presence; the new presence."""
        if now_present and not present:
            try:
                self._on_placed()
            except Exception:
                log.exception("card tap handling failed")
        elif present and not now_present:
            try:
                self._on_removed()
            except Exception:
                log.exception("card removal handling failed")
        return now_present

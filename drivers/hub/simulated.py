"""A hub that lives in memory (`kiosk.ports.HubClient`), for unit tests and offline development.

It keeps the promises of the real hub - idempotent registration by key,
unique gapless numbers per department per day, printed (offline) numbers
kept, the same insurance answers and the same co-payment rule - without a
server. Setting `.down = True` makes every call raise `HubUnavailable`, as a
network outage would.

Insurance answers come from the same data as the simulated gateway: the
sample citizens in `assets/citizens` (by CCCD number or BHYT code) and one
test card per result code (`card_for_result`), fed through
`kiosk.insurance.interpret` like a real gateway answer.

VNeID codes are checked like the hub's simulated verifier does
(`server.vneid`: the same token layout, key and one-minute validity, by
`vneid_clock`), so a code minted for the demo works against either hub.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

from drivers.hub.http_client import vneid_identity
from kiosk import insurance as rules
from kiosk.domain import (
    VIETNAM_TZ,
    Citizen,
    Department,
    HubReceipt,
    Identity,
    InsuranceCheck,
    ReferenceData,
    Registration,
    Service,
    Sex,
)
from kiosk.errors import HubRejected, HubUnavailable, VneidExpired, VneidRejected
from kiosk.payment import PaymentStatus, find_reference, payment_reference
from kiosk.domain import VisitPaper

DEFAULT_HOSPITAL_CODE = "01001"
_MINUTES_PER_PATIENT = 8

# A small outpatient department set for when no reference data is given. The
# hub's full seed (server/seed.py) cannot be imported from a driver; this is
# a subset with the same codes, rooms and prices.
_CONSULTATION = 42_100
DEFAULT_REFERENCE = ReferenceData(
    departments=(
        Department("NOI", "Khám Nội tổng quát", "General internal medicine", "101", "1", "A"),
        Department("NHI", "Khám Nhi", "Paediatrics", "104", "1", "B"),
        Department("TMH", "Tai Mũi Họng", "Ear, nose and throat", "201", "2", "C"),
        Department("RHM", "Răng Hàm Mặt", "Dentistry and oral surgery", "205", "2", "D"),
        Department("MAT", "Mắt", "Ophthalmology", "208", "2", "E"),
        Department("SAN", "Sản phụ khoa", "Obstetrics and gynaecology", "301", "3", "G"),
        Department("DALIEU", "Da liễu", "Dermatology", "305", "3", "H"),
    ),
    services=(
        Service("KB.NOI", "NOI", "Khám Nội tổng quát", "General internal medicine consultation", _CONSULTATION, _CONSULTATION),
        Service("KYC.NOI", "NOI", "Khám theo yêu cầu - Khám Nội tổng quát", "On-demand consultation - General internal medicine", 150_000, _CONSULTATION),
        Service("KB.NHI", "NHI", "Khám Nhi", "Paediatrics consultation", _CONSULTATION, _CONSULTATION),
        Service("KB.TMH", "TMH", "Khám Tai Mũi Họng", "Ear, nose and throat consultation", _CONSULTATION, _CONSULTATION),
        Service("KB.RHM", "RHM", "Khám Răng Hàm Mặt", "Dentistry and oral surgery consultation", _CONSULTATION, _CONSULTATION),
        Service("KB.MAT", "MAT", "Khám Mắt", "Ophthalmology consultation", _CONSULTATION, _CONSULTATION),
        Service("KB.SAN", "SAN", "Khám Sản phụ khoa", "Obstetrics and gynaecology consultation", _CONSULTATION, _CONSULTATION),
        Service("KB.DALIEU", "DALIEU", "Khám Da liễu", "Dermatology consultation", _CONSULTATION, _CONSULTATION),
    ),
)


def card_for_result(result_code: str) -> str:
    """The test card that answers `result_code` (same numbering as the simulated gateway)."""
    return "GD479" + "99999" + result_code.zfill(5)


_NO_CARD = {"050", "054", "055", "100", "101", "130", "205", "401"}


def _dmy(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass
class StoredRegistration:
    """What the in-memory hub remembers about one visit (inspectable in tests)."""

    registration: Registration
    receipt: HubReceipt
    printed_number: str | None
    queue_number: int | None
    attention: list[str]


class InMemoryHubClient:
    """A complete hub in memory. Thread-safe."""

    def __init__(self, reference_data: ReferenceData | None = None, *, hospital_code: str = DEFAULT_HOSPITAL_CODE) -> None:
        self.reference = reference_data or DEFAULT_REFERENCE
        self.hospital_code = hospital_code
        self.down = False
        self.heartbeats: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._by_key: dict[str, StoredRegistration] = {}
        self._counters: dict[tuple[str, date], int] = {}
        self._people = self._load_people()
        self._transfers: list[tuple[str | None, int]] = []  # (payment reference, VND)
        # Open papers by patient: "CCCD:<id>" or "BHXH:<last 10 of the card>".
        self._papers: dict[str, list[VisitPaper]] = {}
        self.vneid_clock: Callable[[], float] = time.time  # unix seconds; tests move it

    # -- kiosk.ports.HubClient --------------------------------------------------

    def reference_data(self) -> ReferenceData:
        self._reachable()
        return ReferenceData(self.reference.departments, self.reference.services, fetched_at=datetime.now(VIETNAM_TZ))

    def check_insurance(self, citizen: Citizen, card_code: str | None) -> InsuranceCheck:
        self._reachable()
        return rules.interpret(self._gateway_answer(citizen, card_code))

    def register(self, registration: Registration, printed_number: str | None = None) -> HubReceipt:
        self._reachable()
        printed_number = printed_number.strip() if printed_number and printed_number.strip() else None
        if not _patient_keys(registration.identity.citizen.id_number, registration.identity.insurance_card_code):
            raise HubRejected("a registration needs a 12-digit CCCD number or a BHYT card code", 422)
        with self._lock:
            stored = self._by_key.get(registration.key)
            if stored is not None:
                return self._replay(stored, registration, printed_number)
            try:
                department = self.reference.department(registration.department_code)
                service = self.reference.service(registration.service_code)
            except KeyError as exc:
                raise HubRejected(f"unknown department or service {exc.args[0]!r}", 422) from None
            if service.department_code != department.code:
                raise HubRejected(f"service {service.code!r} is not offered by {department.code!r}", 422)
            day = registration.created_at.astimezone(VIETNAM_TZ).date()
            ahead = sum(
                1
                for s in self._by_key.values()
                if s.registration.department_code == department.code
                and s.registration.created_at.astimezone(VIETNAM_TZ).date() == day
            )
            if printed_number is None:
                number: int | None = self._counters.get((department.code, day), 0) + 1
                self._counters[(department.code, day)] = number
                shown = f"{department.queue_prefix}-{number:03d}"
                queue_number = number
            else:
                number = None
                shown = printed_number
                queue_number = _number_in(printed_number)
            category = rules.visit_category(
                registration.insurance, registration.visit_type, registration.paper_number, self.hospital_code
            )
            receipt = HubReceipt(
                registration_key=registration.key,
                queue_number=queue_number,
                display_number=shown,
                episode_key=f"{self.hospital_code}{day:%Y%m%d}{secrets.token_hex(6).upper()}",
                room=department.room,
                estimated_wait_minutes=ahead * _MINUTES_PER_PATIENT,
                amount_due=rules.amount_due(registration.insurance, category, service.price, service.insured_price),
            )
            stored = StoredRegistration(registration, receipt, printed_number, number, [])
            self._by_key[registration.key] = stored
            self._use_paper(registration)
            if printed_number is not None:
                self._flag_collisions(stored)
            return receipt

    def ping(self) -> bool:
        return not self.down

    def payment_status(self, registration_key: str) -> PaymentStatus:
        """Transfers booked with `record_transfer` under this registration's reference."""
        self._reachable()
        reference = payment_reference(registration_key)
        with self._lock:
            paid = sum(amount for ref, amount in self._transfers if ref == reference)
            stored = self._by_key.get(registration_key)
        due = stored.receipt.amount_due if stored is not None else None
        covered = due is not None and paid >= due > 0
        return PaymentStatus(reference, paid, due, datetime.now(VIETNAM_TZ) if covered else None)

    def record_transfer(self, transfer_note: str, amount: int) -> bool:
        """The simulated bank's callback: True when the note held a reference."""
        reference = find_reference(transfer_note)
        with self._lock:
            self._transfers.append((reference, amount))
        return reference is not None

    def find_visit_paper(
        self, citizen: Citizen, card_code: str | None, reference: str | None = None
    ) -> VisitPaper | None:
        self._reachable()
        with self._lock:
            for key in _patient_keys(citizen.id_number, card_code):
                for paper in self._papers.get(key, []):
                    if reference is None or paper.reference == reference:
                        return paper
        return None

    def add_visit_paper(self, id_number: str | None, card_code: str | None, paper: VisitPaper) -> None:
        """Record an open appointment or referral, as hub staff would."""
        keys = _patient_keys(id_number, card_code)
        if not keys:
            raise ValueError("a paper needs a CCCD number or a card code")
        with self._lock:
            self._papers.setdefault(keys[0], []).append(paper)

    def verify_vneid(self, token: str) -> Identity:
        self._reachable()
        slot = _simulated_vneid_slot(token.strip(), self.vneid_clock())
        for person in self._people.values():
            if int(person.get("slot", -1)) == slot:
                citizen = Citizen(
                    id_number=person["id_number"],
                    full_name=person["full_name"],
                    date_of_birth=date.fromisoformat(person["date_of_birth"]) if person.get("date_of_birth") else None,
                    sex=Sex.from_vietnamese(str(person.get("sex", ""))),
                    old_id_number=person.get("old_id_number"),
                    place_of_residence=person.get("place_of_residence"),
                    date_of_issue=date.fromisoformat(person["date_of_issue"]) if person.get("date_of_issue") else None,
                )
                return vneid_identity(citizen, "simulated")
        raise VneidRejected("the VNeID code names nobody this service knows", 422)

    # -- beyond the port -------------------------------------------------------------

    def heartbeat(self, version: str, devices: dict[str, Any], outbox_depth: int) -> dict[str, Any]:
        self._reachable()
        with self._lock:
            self.heartbeats.append({"version": version, "devices": dict(devices), "outbox_depth": outbox_depth})
        return {"ok": True, "kiosk_id": "in-memory", "server_time": datetime.now(VIETNAM_TZ).isoformat()}

    def registrations(self) -> list[StoredRegistration]:
        with self._lock:
            return list(self._by_key.values())

    # -- internals ---------------------------------------------------------------------

    def _reachable(self) -> None:
        if self.down:
            raise HubUnavailable("simulated hub is down")

    def _replay(self, stored: StoredRegistration, registration: Registration, printed_number: str | None) -> HubReceipt:
        previous = stored.registration
        if (
            previous.department_code != registration.department_code
            or previous.service_code != registration.service_code
            or _patient_keys(previous.identity.citizen.id_number, previous.identity.insurance_card_code)[:1]
            != _patient_keys(registration.identity.citizen.id_number, registration.identity.insurance_card_code)[:1]
        ):
            raise HubRejected("this registration key was already used for a different visit", 409)
        if printed_number is not None and stored.printed_number is None:
            # Same rule as the hub: the patient holds the printed ticket.
            stored.attention.append(
                f"patient holds printed number {printed_number}; hub number {stored.receipt.display_number} not handed out"
            )
            stored.printed_number = printed_number
            stored.receipt = HubReceipt(
                registration_key=stored.receipt.registration_key,
                queue_number=_number_in(printed_number),
                display_number=printed_number,
                episode_key=stored.receipt.episode_key,
                room=stored.receipt.room,
                estimated_wait_minutes=stored.receipt.estimated_wait_minutes,
                amount_due=stored.receipt.amount_due,
            )
            self._flag_collisions(stored)
        return stored.receipt

    def _use_paper(self, registration: Registration) -> None:
        """Same rule as the hub: the paper a registration carries is used up."""
        number = (registration.paper_number or "").strip()
        if not number:
            return
        for key in _patient_keys(registration.identity.citizen.id_number, registration.identity.insurance_card_code):
            papers = self._papers.get(key, [])
            for paper in papers:
                if paper.paper_number == number:
                    papers.remove(paper)
                    return

    def _flag_collisions(self, stored: StoredRegistration) -> None:
        day = stored.registration.created_at.astimezone(VIETNAM_TZ).date()
        for other in self._by_key.values():
            if other is stored:
                continue
            if (
                other.registration.department_code == stored.registration.department_code
                and other.registration.created_at.astimezone(VIETNAM_TZ).date() == day
                and other.receipt.display_number == stored.printed_number
            ):
                stored.attention.append(f"number {stored.printed_number} also held by registration {other.registration.key}")
                other.attention.append(f"number {stored.printed_number} also held by registration {stored.registration.key}")

    @staticmethod
    def _load_people() -> dict[str, dict[str, Any]]:
        people: dict[str, dict[str, Any]] = {}
        folder = resources.files("assets") / "citizens"
        for entry in folder.iterdir():
            if entry.name.startswith("citizen-") and entry.name.endswith(".json"):
                person = json.loads(entry.read_text(encoding="utf-8"))
                people[person["id_number"]] = person
                if person.get("bhyt_card_code"):
                    people[person["bhyt_card_code"]] = person
        return people

    def _gateway_answer(self, citizen: Citizen, card_code: str | None) -> dict[str, Any]:
        """What the simulated gateway would answer, as a gateway payload."""
        number = (card_code or citizen.id_number).strip().upper()
        today = datetime.now(VIETNAM_TZ).date()
        year_from, year_to = _dmy(date(today.year, 1, 1)), _dmy(date(today.year, 12, 31))
        last_from, last_to = _dmy(date(today.year - 1, 1, 1)), _dmy(date(today.year - 1, 12, 31))
        for code in rules.RESULT_CODES:
            if number == card_for_result(code):
                card, facility, name, birth = number, self.hospital_code, None, None
                break
        else:
            person = self._people.get(number)
            if person is None:
                if re.fullmatch(r"\d{10}|\d{12}", number):
                    return {"maKetQua": "050"}
                if re.fullmatch(r"[A-Z]{2}\d{13}", number):
                    return {"maKetQua": "051"}
                return {"maKetQua": "205"}
            code = str(person["insurance_result"])
            card = person.get("bhyt_card_code")
            province = card[3:5] if card else ""
            facility = self.hospital_code if province == self.hospital_code[:2] else f"{province}024"
            name, birth = person["full_name"], person.get("date_of_birth")
        if name is not None and code not in _NO_CARD:
            given_birth = citizen.date_of_birth.isoformat() if citizen.date_of_birth else None
            if _fold(name) != _fold(citizen.full_name):
                initials = "".join(w[0] for w in _fold(name).split())
                code = "061" if initials == "".join(w[0] for w in _fold(citizen.full_name).split()) else "060"
            elif birth and given_birth != birth:
                code = "070"
        if code in _NO_CARD or not card:
            return {"maKetQua": code}
        answer: dict[str, Any] = {"maKetQua": code, "maThe": card, "maDKBD": facility, "gtTheTu": year_from, "gtTheDen": year_to}
        if code == "010" or code == "003":
            answer.update(gtTheTu=last_from, gtTheDen=last_to)
        if code in ("003", "004"):
            answer.update(
                maTheMoi="GD4" + self.hospital_code[:2] + card[5:],
                maDKBDMoi=self.hospital_code,
                gtTheTuMoi=year_from,
                gtTheDenMoi=year_to,
            )
        return answer


def _patient_keys(id_number: str | None, card_code: str | None) -> list[str]:
    """The hub's patient keys (server.papers.patient_keys, same rule)."""
    keys = []
    if id_number and re.fullmatch(r"\d{12}", id_number):
        keys.append("CCCD:" + id_number)
    if card_code and re.fullmatch(r"[A-Za-z0-9]{10,15}", card_code):
        keys.append("BHXH:" + card_code.upper()[-10:])
    return keys


def _number_in(printed: str) -> int:
    match = re.search(r"(\d+)\D*$", printed)
    return int(match.group(1)) if match else 0


# -- VNeID: the layout of server.vneid's simulated tokens ----------------------------

_VNEID_PREFIX = "VNEID:"
_VNEID_KEY = b"vn-checkin-kiosk simulated VNeID verifier, not a secret"
_VNEID_BODY = struct.Struct(">BBI4s")  # version, slot, issued-at, nonce
_VNEID_MAC = 16
_VNEID_TTL = 60.0
_VNEID_FUTURE = 30.0


def _simulated_vneid_slot(token: str, now: float) -> int:
    """The sample-citizen slot a simulated VNeID code names; raises like the hub."""
    if not token.startswith(_VNEID_PREFIX):
        raise VneidRejected("not a VNeID code", 422)
    text = token[len(_VNEID_PREFIX) :]
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise VneidRejected("the VNeID code is not base64url", 422) from None
    if len(raw) != _VNEID_BODY.size + _VNEID_MAC:
        raise VneidRejected("the VNeID code has the wrong length", 422)
    body, mac = raw[: _VNEID_BODY.size], raw[_VNEID_BODY.size :]
    if not hmac.compare_digest(mac, hmac.new(_VNEID_KEY, body, hashlib.sha256).digest()[:_VNEID_MAC]):
        raise VneidRejected("the VNeID code was not issued by this service", 422)
    version, slot, issued_at, _nonce = _VNEID_BODY.unpack(body)
    if version != 1:
        raise VneidRejected("unknown VNeID code version", 422)
    age = now - issued_at
    if age < -_VNEID_FUTURE:
        raise VneidRejected("the VNeID code is dated in the future", 422)
    if age > _VNEID_TTL:
        raise VneidExpired(f"the VNeID code expired {age - _VNEID_TTL:.0f} s ago", 410)
    return slot


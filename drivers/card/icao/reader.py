"""IcaoChipReader: kiosk.ports.ChipReader for CCCD cards over any transport.

Reads DG1 (MRZ), DG13 (Vietnamese details) and DG2 (face) and builds a
`kiosk.domain.Citizen`. The same code runs over a PC/SC reader, the
in-process simulated chip and a card emulator behind pcscd.

Not done yet, and said so in every result: passive authentication (EF.SOD
signature and data-group hashes, ICAO 9303-11 §5.1) is the next issue, so a
successful read is `Verification.CHIP_READ`, never `GENUINE`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import date

from kiosk import cccd
from kiosk.domain import Citizen, Sex, Verification
from kiosk.errors import MalformedDataError
from kiosk.ports import CardTransport, ChipAccessKey, ChipReadResult

from .bac import RandomBytes
from .dg2 import face_png
from .dg13 import Dg13, parse_dg13
from .lds import FID_DG1, FID_DG2, FID_DG13, parse_dg1
from .mrz import Mrz
from .session import ChipSession, Progress

log = logging.getLogger(__name__)

PASSIVE_AUTH_NOTE = "passive authentication not performed"
NO_DG13_NOTE = "DG13 not on the chip: details from DG1 (MRZ) only, without diacritics"
NO_DG2_NOTE = "no face image (DG2) on the chip"
BAD_DG2_NOTE = "face image (DG2) could not be decoded"
MRZ_CHECK_NOTE = "DG1 MRZ check digits do not verify"
ID_MISMATCH_NOTE = "ID number in DG13 differs from the one in DG1"


def _no_progress(step: str) -> None:
    pass


class IcaoChipReader:
    """Reads a CCCD chip: BAC, then DG1, DG13 and DG2 under secure messaging.

    `read_size` caps the bytes per READ BINARY (None: the largest that fits
    a short APDU once wrapped; larger values use extended length). The
    session opened by `read_identity` stays open so that `read_photo` can
    fetch the face afterwards without authenticating again.
    """

    def __init__(
        self,
        *,
        read_size: int | None = None,
        random_bytes: RandomBytes = os.urandom,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._read_size = read_size
        self._random_bytes = random_bytes
        self._today = today
        self._lock = threading.Lock()
        self._session: ChipSession | None = None
        self._keys: tuple[ChipAccessKey, ...] = ()

    def _open(self, transport: CardTransport, keys: Sequence[ChipAccessKey], progress: Progress) -> ChipSession:
        session = ChipSession(transport, read_size=self._read_size, random_bytes=self._random_bytes)
        self._session = None
        session.open(keys, progress)
        self._session = session
        self._keys = tuple(keys)
        return session

    def read_identity(
        self,
        transport: CardTransport,
        keys: Sequence[ChipAccessKey],
        progress: Progress = _no_progress,
        *,
        with_photo: bool = True,
    ) -> ChipReadResult:
        """Open the chip with the first key that works and read the holder.

        Raises AccessKeyRejected (no key opened it), CardRemovedError,
        SecureMessagingError, MalformedDataError (DG1 or DG13 broken) and
        other CardErrors. A missing or undecodable face is not an error: the
        photo is None and a note says why.
        """
        with self._lock:
            session = self._open(transport, keys, progress)
            notes = list(session.notes)

            progress("dg1")
            mrz = parse_dg1(session.read_file(FID_DG1))
            if not mrz.check_digits_ok:
                notes.append(MRZ_CHECK_NOTE)

            progress("dg13")
            raw13 = session.read_optional_file(FID_DG13)
            dg13 = parse_dg13(raw13) if raw13 is not None else None
            if dg13 is None:
                notes.append(NO_DG13_NOTE)

            photo = None
            if with_photo:
                progress("dg2")
                photo = self._photo(session, notes)

            citizen = citizen_from_chip(mrz, dg13, photo, today=self._today())
            if dg13 is not None and dg13.id_number and mrz.cccd_id_number and dg13.id_number != mrz.cccd_id_number:
                notes.append(ID_MISMATCH_NOTE)
            notes.append(PASSIVE_AUTH_NOTE)
            return ChipReadResult(citizen=citizen, verification=Verification.CHIP_READ, notes=tuple(notes))

    def read_photo(
        self,
        transport: CardTransport,
        keys: Sequence[ChipAccessKey] = (),
        progress: Progress = _no_progress,
    ) -> bytes | None:
        """The face from DG2 as PNG, or None when the chip has none.

        Reuses the session of the last `read_identity` on the same
        transport; otherwise opens one with `keys` (or the keys used last).
        Raises MalformedDataError when the image does not decode.
        """
        with self._lock:
            session = self._session
            if session is None or session.transport is not transport or not session.is_open:
                session = self._open(transport, keys or self._keys, progress)
            progress("dg2")
            raw = session.read_optional_file(FID_DG2)
            return face_png(raw) if raw is not None else None

    def close(self) -> None:
        """Forget the open session (call when the card is disconnected)."""
        with self._lock:
            self._session = None
            self._keys = ()

    def _photo(self, session: ChipSession, notes: list[str]) -> bytes | None:
        raw = session.read_optional_file(FID_DG2)
        if raw is None:
            notes.append(NO_DG2_NOTE)
            return None
        try:
            return face_png(raw)
        except MalformedDataError as exc:
            # The holder's details are still good; show no photo rather than
            # fail the whole read. Only the error class is logged.
            log.warning("DG2 not decodable (%s)", type(exc).__name__)
            notes.append(BAD_DG2_NOTE)
            return None


def _dg1_birth_date(mrz: Mrz, id_number: str | None, today: date) -> date | None:
    """DG1 carries YYMMDD; a CCCD number's 4th digit gives the century."""
    if id_number and cccd.is_id_number(id_number):
        century, _ = cccd.birth_century_and_sex(id_number)
        text = mrz.date_of_birth_text
        if text.isdigit():
            try:
                return date(century + int(text[:2]), int(text[2:4]), int(text[4:6]))
            except ValueError:
                return None
    return mrz.date_of_birth(today)


def _dg1_expiry(mrz: Mrz) -> str | None:
    expiry = mrz.date_of_expiry()
    return expiry.strftime("%d/%m/%Y") if expiry else None


def citizen_from_chip(mrz: Mrz, dg13: Dg13 | None, photo: bytes | None, *, today: date) -> Citizen:
    """The holder as DG13 describes them, DG1 filling what DG13 lacks."""
    d = dg13 or Dg13()
    id_number = d.id_number if d.id_number and cccd.is_id_number(d.id_number) else mrz.cccd_id_number
    if not id_number:
        raise MalformedDataError("no 12-digit ID number in DG13 or in the DG1 optional data")

    sex = Sex.from_vietnamese(d.sex_text) if d.sex_text else Sex.UNDETERMINED
    if sex is Sex.UNDETERMINED:
        sex = mrz.sex
    return Citizen(
        id_number=id_number,
        full_name=d.full_name or mrz.full_name,
        date_of_birth=d.date_of_birth or _dg1_birth_date(mrz, id_number, today),
        sex=sex,
        old_id_number=d.old_id_number,
        nationality=d.nationality,
        ethnicity=d.ethnicity,
        religion=d.religion,
        place_of_origin=d.place_of_origin,
        place_of_residence=d.place_of_residence,
        identifying_marks=d.identifying_marks,
        date_of_issue=d.date_of_issue,
        date_of_expiry=d.date_of_expiry_text or _dg1_expiry(mrz),
        father_name=d.father_name,
        mother_name=d.mother_name,
        spouse_name=d.spouse_name,
        photo=photo,
    )

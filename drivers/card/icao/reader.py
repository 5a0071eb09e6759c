"""IcaoChipReader: kiosk.ports.ChipReader for CCCD cards over any transport.

Reads DG1 (MRZ), DG13 (Vietnamese details) and DG2 (face) and builds a
`kiosk.domain.Citizen`. The same code runs over a PC/SC reader, the
in-process simulated chip and a card emulator behind pcscd.

Passive Authentication (ICAO 9303-11 §5.1, drivers/card/icao/pa.py) decides
the verification: GENUINE only when EF.SOD's signature chains to a CSCA in
the trust store and every data group read matches its hash; CHIP_READ
("not verifiable", with the reason) when there is no SOD or no trust
anchor; FORGED when a signature or hash does not match.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date

from kiosk import cccd
from kiosk.domain import Citizen, Sex, Verification
from kiosk.errors import CardNotGenuineError, MalformedDataError, SecureMessagingError, StatusWordError
from kiosk.ports import CardTransport, ChipAccessKey, ChipReadResult

from .bac import RandomBytes
from .dg2 import face_png
from .dg13 import Dg13, parse_dg13
from .chip_auth import (
    AA_CHALLENGE_LENGTH,
    AuthResult,
    AuthStatus,
    active_auth_hash,
    chip_auth_key,
    internal_authenticate,
    parse_dg14,
    perform_chip_authentication,
    verify_active_authentication,
)
from .lds import DG_TAGS, FID_DG1, FID_DG2, FID_DG13, FID_DG14, FID_DG15, FID_EF_COM, FID_EF_SOD, parse_dg1, parse_ef_com
from .pace import SecurityInfo
from .pa import PassiveAuthResult, PaStatus, TrustStore, passive_authentication, parse_sod
from .mrz import Mrz
from .session import ChipSession, Progress

log = logging.getLogger(__name__)

PASSIVE_AUTH_NOTE = "passive authentication not performed"
_VERIFICATION_BY_PA = {
    PaStatus.VERIFIED: Verification.GENUINE,
    PaStatus.NOT_VERIFIABLE: Verification.CHIP_READ,
    PaStatus.FAILED: Verification.FORGED,
}
NO_DG13_NOTE = "DG13 not on the chip: details from DG1 (MRZ) only, without diacritics"
NO_DG2_NOTE = "no face image (DG2) on the chip"
BAD_DG2_NOTE = "face image (DG2) could not be decoded"
MRZ_CHECK_NOTE = "DG1 MRZ check digits do not verify"
ID_MISMATCH_NOTE = "ID number in DG13 differs from the one in DG1"


def _no_progress(step: str) -> None:
    pass


class IcaoChipReader:
    """Reads a CCCD chip: PACE (or BAC), Chip Authentication, DG1, DG13,
    DG2 and Active Authentication on demand, EF.SOD and Passive
    Authentication against `trust_store`.

    `read_size` fixes the bytes per READ BINARY (larger than a short
    protected APDU carries: extended length). None, the default, chooses:
    extended length when the card announces it (ATR card capabilities or
    EF.ATR/INFO) and the reader's link does not say it is too small,
    otherwise the largest short read; a failed extended read falls back to
    short reads without re-reading bytes (see `last_read_mode`). The
    session opened by `read_identity` stays open so that `read_photo` can
    fetch the face afterwards without authenticating again.
    """

    def __init__(
        self,
        *,
        read_size: int | None = None,
        random_bytes: RandomBytes = os.urandom,
        today: Callable[[], date] = date.today,
        trust_store: TrustStore | None = None,
    ) -> None:
        self.trust_store = trust_store
        # What the last read found, for the CLI and technicians (no personal
        # data): file -> status, the PA result, how the chip was opened.
        self.last_files: dict[str, str] = {}
        self.last_passive_auth: PassiveAuthResult | None = None
        self.last_access_protocol: str | None = None
        self.last_chip_auth: AuthResult | None = None
        self.last_active_auth: AuthResult | None = None
        self._last_sod: bytes | None = None
        self._read_size = read_size
        self._random_bytes = random_bytes
        self._today = today
        self._lock = threading.Lock()
        self._session: ChipSession | None = None
        self._last_session: ChipSession | None = None
        self._keys: tuple[ChipAccessKey, ...] = ()

    @property
    def last_read_mode(self) -> str | None:
        """How the last session read: "extended, up to N bytes ..." or
        "short, N bytes ..." with why (what the card and link said, or the
        failure that made it fall back). None before any chip was opened."""
        session = self._last_session
        return session.read_mode if session is not None else None

    def _open(self, transport: CardTransport, keys: Sequence[ChipAccessKey], progress: Progress) -> ChipSession:
        session = ChipSession(transport, read_size=self._read_size, random_bytes=self._random_bytes)
        self._session = None
        self._last_session = session
        session.open(keys, progress)
        self._session = session
        self._keys = tuple(keys)
        self.last_access_protocol = session.access_protocol
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
        with self._lock, _transaction(transport):
            self.last_files = {}
            self.last_passive_auth = None
            self.last_chip_auth = None
            self.last_active_auth = None
            self._last_sod = None
            session = self._open(transport, keys, progress)
            notes = list(session.notes)
            read: dict[int, bytes] = {}

            # Chip Authentication first, as ICAO 9303-11 §6.2 advises: the
            # rest of the read then runs under keys only the genuine chip has.
            progress("dg14")
            raw14 = session.read_optional_file(FID_DG14)
            self.last_files["DG14"] = f"read, {len(raw14)} bytes" if raw14 is not None else "absent (6A82)"
            dg14_infos: list[SecurityInfo] = []
            if raw14 is not None:
                read[14] = raw14
                try:
                    dg14_infos = parse_dg14(raw14)
                except MalformedDataError:
                    notes.append("DG14 does not parse")
            progress("ca")
            self.last_chip_auth = self._chip_authentication(session, dg14_infos)
            notes.append(f"chip authentication: {self.last_chip_auth.reason}")

            progress("dg1")
            self._ef_com(session, notes)
            read[1] = session.read_file(FID_DG1)
            self.last_files["DG1"] = f"read, {len(read[1])} bytes"
            mrz = parse_dg1(read[1])
            if not mrz.check_digits_ok:
                notes.append(MRZ_CHECK_NOTE)

            progress("dg13")
            raw13 = session.read_optional_file(FID_DG13)
            self.last_files["DG13"] = f"read, {len(raw13)} bytes" if raw13 is not None else "absent (6A82)"
            if raw13 is not None:
                read[13] = raw13
            dg13 = parse_dg13(raw13) if raw13 is not None else None
            if dg13 is None:
                notes.append(NO_DG13_NOTE)

            photo = None
            if with_photo:
                progress("dg2")
                photo = self._photo(session, notes, read)
                progress("aa")
                self.last_active_auth = self._active_authentication(session, dg14_infos, read)
                notes.append(f"active authentication: {self.last_active_auth.reason}")

            progress("sod")
            sod = session.read_optional_file(FID_EF_SOD)
            self.last_files["EF.SOD"] = f"read, {len(sod)} bytes" if sod is not None else "absent (6A82)"
            self._last_sod = sod
            pa = passive_authentication(sod, read, self.trust_store)
            self.last_passive_auth = pa
            notes.extend(f"passive authentication: {reason}" for reason in pa.reasons)

            citizen = citizen_from_chip(mrz, dg13, photo, today=self._today())
            if dg13 is not None and dg13.id_number and mrz.cccd_id_number and dg13.id_number != mrz.cccd_id_number:
                notes.append(ID_MISMATCH_NOTE)
            if sod is None:
                notes.append(PASSIVE_AUTH_NOTE)
            verification = _VERIFICATION_BY_PA[pa.status]
            if any(r is not None and r.status is AuthStatus.FAILED for r in (self.last_chip_auth, self.last_active_auth)):
                verification = Verification.FORGED  # the chip could not prove its key: a copy
            return ChipReadResult(citizen=citizen, verification=verification, notes=tuple(notes))

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
        with self._lock, _transaction(transport):
            session = self._session
            if session is None or session.transport is not transport or not session.is_open:
                session = self._open(transport, keys or self._keys, progress)
            progress("dg2")
            raw = session.read_optional_file(FID_DG2)
            if raw is None:
                return None
            self._check_against_sod(2, raw)
            return face_png(raw)

    def _ef_com(self, session: ChipSession, notes: list[str]) -> None:
        """EF.COM (ICAO 9303-10): the LDS version and the data groups the chip
        lists, for technicians. The reader does not rely on it (every data
        group is tried by FID, and EF.SOD is what vouches for them)."""
        raw = session.read_optional_file(FID_EF_COM)
        if raw is None:
            self.last_files["EF.COM"] = "absent (6A82)"
            return
        try:
            com = parse_ef_com(raw)
        except MalformedDataError:
            self.last_files["EF.COM"] = f"read, {len(raw)} bytes, does not parse"
            notes.append("EF.COM does not parse")
            return
        listed = [f"DG{n}" for n, tag in sorted(DG_TAGS.items()) if tag in com.data_group_tags]
        self.last_files["EF.COM"] = f"read, {len(raw)} bytes, LDS {com.lds_version}, lists {' '.join(listed) or 'nothing'}"

    def _chip_authentication(self, session: ChipSession, infos: list[SecurityInfo]) -> AuthResult:
        """ICAO 9303-11 §6.2; FAILED when the chip cannot follow the new keys."""
        try:
            key = chip_auth_key(infos)
        except MalformedDataError as exc:
            return AuthResult(AuthStatus.FAILED, f"DG14 key unusable ({exc})")
        if key is None:
            return AuthResult(AuthStatus.NOT_SUPPORTED, "no ECDH Chip Authentication key in DG14")
        try:
            session.replace_sm(perform_chip_authentication(session.send, key, random_bytes=self._random_bytes))
            session.select_file(FID_DG1)  # the first command under the new keys is the proof
        except SecureMessagingError:
            # Read on under a fresh PACE/BAC session; the verdict stays FAILED.
            session.reopen()
            return AuthResult(AuthStatus.FAILED, "the chip did not continue under the Chip Authentication keys")
        except StatusWordError as exc:
            session.reopen()
            return AuthResult(AuthStatus.FAILED, f"the chip refused Chip Authentication ({exc.sw:04X})")
        return AuthResult(AuthStatus.PASSED, f"ECDH {key.curve.name}: secure messaging re-keyed by the chip's DG14 key")

    def _active_authentication(self, session: ChipSession, infos: list[SecurityInfo], read: dict[int, bytes]) -> AuthResult:
        """ICAO 9303-11 §6.1, when DG15 is on the chip."""
        raw15 = session.read_optional_file(FID_DG15)
        self.last_files["DG15"] = f"read, {len(raw15)} bytes" if raw15 is not None else "absent (6A82)"
        if raw15 is None:
            return AuthResult(AuthStatus.NOT_SUPPORTED, "no DG15 on the chip")
        read[15] = raw15
        challenge = self._random_bytes(AA_CHALLENGE_LENGTH)
        try:
            signature = internal_authenticate(session.send, challenge)
        except StatusWordError as exc:
            return AuthResult(AuthStatus.FAILED, f"the chip refused INTERNAL AUTHENTICATE ({exc.sw:04X})")
        return verify_active_authentication(raw15, challenge, signature, active_auth_hash(infos))

    def _check_against_sod(self, number: int, raw: bytes) -> None:
        """A data group read after the identity must match the SOD seen then."""
        if self._last_sod is None:
            return
        try:
            sod = parse_sod(self._last_sod)
        except MalformedDataError:
            return  # already reported as FAILED by the identity read
        if number in sod.hashes and passive_authentication(self._last_sod, {number: raw}, None).status is PaStatus.FAILED:
            raise CardNotGenuineError(f"DG{number} does not match EF.SOD")

    def close(self) -> None:
        """Forget the open session (call when the card is disconnected)."""
        with self._lock:
            self._session = None
            self._keys = ()

    def _photo(self, session: ChipSession, notes: list[str], read: dict[int, bytes]) -> bytes | None:
        raw = session.read_optional_file(FID_DG2)
        if raw is None:
            self.last_files["DG2"] = "absent (6A82)"
            notes.append(NO_DG2_NOTE)
            return None
        read[2] = raw
        self.last_files["DG2"] = f"read, {len(raw)} bytes"
        try:
            return face_png(raw)
        except MalformedDataError as exc:
            # The holder's details are still good; show no photo rather than
            # fail the whole read. Only the error class is logged.
            log.warning("DG2 not decodable (%s)", type(exc).__name__)
            notes.append(BAD_DG2_NOTE)
            return None


def _transaction(transport: CardTransport) -> AbstractContextManager[None]:
    """The reader's exclusive-access context when it has one (PC/SC
    SCardBeginTransaction): a whole read under SM is one transaction."""
    begin = getattr(transport, "transaction", None)
    return begin() if callable(begin) else nullcontext()


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

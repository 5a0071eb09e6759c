"""An authenticated session with the eMRTD application, and reading its files.

Order of a read (ICAO 9303-11 §4.2, chip access procedure):
1. Read EF.CardAccess in the clear by selecting 011C directly (the MF
   answers 6D00 on CCCD cards, DOMAIN.md §1).
2. Access control: PACE (§4.4) with the CAN or the MRZ when EF.CardAccess
   offers an option this reader runs (ECDH Generic Mapping), then SELECT
   the eMRTD application under SM. BAC (§4.3, MRZ keys only) after a plain
   SELECT of the application when the chip has no EF.CardAccess or refuses
   PACE (6982).
   Before that, unless the caller fixed the read size, whether the card
   takes extended-length APDUs: the ATR's card capabilities and EF.ATR/INFO
   (2F01, in the clear), see lengths.py.
3. Under secure messaging: SELECT EF by file identifier (P1=02, P2=0C),
   READ BINARY its first 4 bytes to learn the length from the TLV header
   (Appendix D.4 does the same), then READ BINARY the rest: in one
   extended-length chunk as far as the card's (and the link's, when known)
   limit allows, otherwise in chunks whose protected answer still fits a
   short response.

Field quirks handled here (DOMAIN.md, "Reading quirks"): some readers and
cards cannot carry the largest chunk, so a failed read is retried with half
the size (as gmrtd and NFCPassportReader do); and an SM error (6987/6988)
ends the chip's session, so the session is re-established with the key
that worked before reading on. A failed extended read (a status word, an
SM error, 6282 short of the file, or the reader failing the exchange with
the card still present) switches to short reads for the rest of the
session; the bytes already read are kept, never read again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from kiosk.errors import (
    AccessKeyRejected,
    CardError,
    CardLinkError,
    FileNotFoundOnCard,
    MalformedDataError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    StatusWordError,
)
from kiosk.ports import CanKey, CardTransport, ChipAccessKey, MrzKey

from . import tlv
from .apdu import (
    EXTENDED_MAX_NE,
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SW1_WRONG_LE,
    SW_END_OF_FILE,
    SW_OFFSET_OUTSIDE_EF,
    SW_OK,
    SW_WRONG_LENGTH,
    CommandApdu,
    ResponseApdu,
    raise_for_status,
)
from .bac import BacKeys, RandomBytes, perform_bac
from .lds import EMRTD_AID, FID_EF_CARD_ACCESS
from .lengths import (
    EF_ATR_INFO_MAX,
    FID_EF_ATR_INFO,
    CardLengths,
    atr_historical_bytes,
    capabilities_from_historical_bytes,
    largest_protected_read,
    parse_atr_info,
)
from .pace import PaceInfo, PaceRefused, choose_pace_info, perform_pace
from .crypto import AES_BLOCK
from .sm import SecureMessaging

Progress = Callable[[str], None]

HEADER_PROBE = 4  # bytes read first: tag + length of nearly every EF
MIN_READ_SIZE = 0x1F  # fits a 64-byte reader frame once wrapped: 31 bytes pad to 32 under 3DES and AES SM
MAX_READ_RETRIES = 4  # per file: enough to halve 0xE7 down to MIN_READ_SIZE
MAX_FILE_SIZE = 1 << 20  # 1 MiB: no EF on an ID card comes near it
MAX_EVEN_OFFSET = 0x7FFF  # READ BINARY B0 carries a 15-bit offset in P1-P2
TAG_OFFSET = 0x54  # READ BINARY B1: offset data object (ISO/IEC 7816-4)
TAG_DISCRETIONARY = 0x53  # READ BINARY B1: data come back in DO'53'

# Answers to a READ BINARY that mean "that chunk was too big for this card
# or reader" more often than what they say (NFCPassportReader saw 6B00 and
# 6988 after 256-byte reads). Only retried while the offset is inside the
# file, so a real end of file is never mistaken for one.
_SIZE_TROUBLE_SWS = frozenset({SW_WRONG_LENGTH, SW_OFFSET_OUTSIDE_EF})

CAN_SKIPPED_NOTE = "CAN key skipped: the chip offers no PACE this reader runs (BAC only)"
PACE_REFUSED_NOTE = "chip refused PACE (6982): BAC used instead"
NO_CARD_ACCESS_NOTE = "no EF.CardAccess on the chip: BAC only"
BAD_CARD_ACCESS_NOTE = "EF.CardAccess does not parse: BAC only"
CARD_ACCESS_MAX = 4096  # EF.CardAccess holds a few SecurityInfos: well under 1 KiB
BAD_ATR_INFO_NOTE = "EF.ATR/INFO does not parse: short reads"
EXTENDED_FELL_BACK_NOTE = "extended-length READ BINARY failed"


def _no_progress(step: str) -> None:
    pass


class ChipSession:
    """The eMRTD application of one card, opened with one access key.

    Not thread-safe: one device thread owns a session (the Electrum idea of
    one owner thread per device).
    """

    def __init__(
        self,
        transport: CardTransport,
        *,
        read_size: int | None = None,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        self.transport = transport
        self._random_bytes = random_bytes
        self._requested_read_size = read_size
        self._read_size: int | None = None
        self._sm: SecureMessaging | None = None
        self._key: BacKeys | None = None
        self._pace_key: ChipAccessKey | None = None
        self._pace_info: PaceInfo | None = None
        self.notes: list[str] = []
        # How the session was opened, for technicians: "PACE ECDH-GM AES-128
        # brainpoolP256r1 (CAN)" or "BAC"; never the key itself.
        self.access_protocol: str | None = None
        self.card_access: bytes | None = None
        # Extended length: what the card said (None until probed), whether
        # reads use it now, and a one-line account for technicians.
        self.card_lengths: CardLengths | None = None
        self.extended = False
        self.read_mode: str | None = None

    def __repr__(self) -> str:
        return f"ChipSession(open={self.is_open})"

    @property
    def is_open(self) -> bool:
        return self._sm is not None

    # -- raw exchange ----------------------------------------------------------

    def _transmit_plain(self, command: CommandApdu) -> ResponseApdu:
        return ResponseApdu.parse(self.transport.transmit(command.to_bytes()))

    def send(self, command: CommandApdu) -> ResponseApdu:
        """One command, under secure messaging once the session is open."""
        if self._sm is None:
            return self._transmit_plain(command)
        protected = self._sm.protect(command)
        raw = self.transport.transmit(protected.to_bytes())
        try:
            return self._sm.unprotect(raw)
        except SecureMessagingError:
            # The chip has ended (6987/6988) or we no longer trust (bad MAC)
            # this session; nothing more may be sent under it.
            self._sm = None
            raise

    # -- opening -----------------------------------------------------------------

    def select_application(self) -> None:
        """SELECT the eMRTD application by AID, plain ('00 A4 04 0C 07 A0..01').

        Selecting resets the chip's security state, so any SM session ends.
        """
        self._sm = None
        response = self._transmit_plain(CommandApdu(0x00, INS_SELECT, 0x04, 0x0C, data=EMRTD_AID))
        raise_for_status(response, "SELECT eMRTD application")

    def read_card_access(self) -> PaceInfo | None:
        """EF.CardAccess, read in the clear (ICAO 9303-11 §4.4.1, 9303-10).

        Selected by its identifier directly (P1=02): CCCD chips answer 6D00
        to selecting the MF. None (with a note) when the chip has none, or
        nothing in it this reader can run.
        """
        data = self._read_plain_file(FID_EF_CARD_ACCESS, CARD_ACCESS_MAX)
        if data is None:
            self.notes.append(NO_CARD_ACCESS_NOTE)
            return None
        self.card_access = data
        try:
            info, notes = choose_pace_info(self.card_access)
        except MalformedDataError:
            self.notes.append(BAD_CARD_ACCESS_NOTE)
            return None
        self.notes.extend(notes)
        return info

    def _read_plain_file(self, fid: int, limit: int) -> bytes | None:
        """A small EF of the MF read without SM (None when it cannot be selected).

        Selected by identifier (P1=02, P2=0C), then plain READ BINARY in short
        chunks (some readers cannot carry more before SM exists) until the
        TLV object(s) end, the card says end of file, or `limit` bytes.
        """
        self._sm = None
        response = self._transmit_plain(CommandApdu(0x00, INS_SELECT, 0x02, 0x0C, data=fid.to_bytes(2, "big")))
        if response.sw != SW_OK:
            return None
        data = bytearray()
        while len(data) < limit:
            chunk = self._transmit_plain(CommandApdu(0x00, INS_READ_BINARY, len(data) >> 8, len(data) & 0xFF, ne=256))
            if chunk.sw1 == SW1_WRONG_LE and chunk.sw2:
                chunk = self._transmit_plain(
                    CommandApdu(0x00, INS_READ_BINARY, len(data) >> 8, len(data) & 0xFF, ne=chunk.sw2)
                )
            if chunk.sw not in (SW_OK, SW_END_OF_FILE) or not chunk.data:
                break
            data += chunk.data
            try:
                _, value_offset, value_length = tlv.parse_header(bytes(data))
                if fid == FID_EF_CARD_ACCESS and len(data) >= value_offset + value_length:
                    # EF.CardAccess is one SET: stop at its end. EF.ATR/INFO
                    # holds several objects, so it is read to its end.
                    data = data[: value_offset + value_length]
                    break
            except MalformedDataError:
                pass  # header not complete yet
            if chunk.sw == SW_END_OF_FILE or len(chunk.data) < 256:
                break
        return bytes(data[:limit])

    def probe_lengths(self) -> CardLengths:
        """What the card says about extended length, before authentication.

        The ATR's historical bytes first (ISO/IEC 7816-4 §8.1.1.2.7, card
        capabilities), then EF.ATR/INFO ('2F01', read access ALWAYS, ICAO
        9303-10) unless the ATR already said "no extended length". Garbled
        data is noted and counts as "did not say": short reads then.
        """
        found = CardLengths()
        atr = getattr(self.transport, "atr", None)
        if isinstance(atr, (bytes, bytearray)) and atr:
            try:
                found = capabilities_from_historical_bytes(atr_historical_bytes(bytes(atr)))
            except MalformedDataError as exc:
                self.notes.append(f"ATR historical bytes unusable ({exc}): extended length not assumed")
        if found.extended is False:
            self.card_lengths = found
            return found
        raw = self._read_plain_file(FID_EF_ATR_INFO, EF_ATR_INFO_MAX)
        if raw:
            try:
                from_file = parse_atr_info(raw)
            except MalformedDataError as exc:
                self.notes.append(f"{BAD_ATR_INFO_NOTE} ({exc})")
                from_file = CardLengths()
            if from_file.extended is not None:
                found = from_file
        self.card_lengths = found
        return found

    def open(self, keys: Sequence[ChipAccessKey], progress: Progress = _no_progress) -> None:
        """Authenticate with the first key that works: PACE when offered, else BAC.

        Raises AccessKeyRejected when no key opened the chip.
        """
        progress("select")
        pace_info = self.read_card_access()
        if self._requested_read_size is None:
            self.probe_lengths()
        tried = 0
        for key in keys:
            if not isinstance(key, (CanKey, MrzKey)):
                raise TypeError(f"unsupported access key type {type(key).__name__}")
            if pace_info is not None:
                tried += 1
                progress("pace")
                try:
                    self._open_pace(key, pace_info)
                except PaceRefused:
                    self.notes.append(PACE_REFUSED_NOTE)
                    pace_info = None  # the chip will not do it: BAC from here on
                except StatusWordError as exc:
                    # Not a password refusal: the chip or the reader cannot
                    # finish PACE (e.g. a reader whose frames cannot carry an
                    # EC point). BAC may still work.
                    self.notes.append(f"PACE failed ({exc.sw:04X}): BAC used instead")
                    pace_info = None
                except AccessKeyRejected:
                    continue
                else:
                    self._pace_key, self._pace_info = key, pace_info
                    self._read_size = self._initial_read_size()
                    return
            if isinstance(key, CanKey):
                if CAN_SKIPPED_NOTE not in self.notes:
                    self.notes.append(CAN_SKIPPED_NOTE)
                continue
            # Select before each BAC try: a refused EXTERNAL AUTHENTICATE
            # leaves the chip in an undefined state on some cards.
            self.select_application()
            tried += 1
            progress("bac")
            bac_keys = BacKeys.from_key(key)
            try:
                self._sm = perform_bac(self.transport, bac_keys, random_bytes=self._random_bytes)
            except AccessKeyRejected:
                continue
            self._key = bac_keys
            self.access_protocol = "BAC"
            self._read_size = self._initial_read_size()
            return
        if not tried:
            raise AccessKeyRejected("no key to try: the chip offers no PACE, and BAC needs the MRZ data")
        raise AccessKeyRejected(f"the chip refused all {tried} key(s)")

    def _open_pace(self, key: ChipAccessKey, info: PaceInfo) -> None:
        """PACE, then SELECT the eMRTD application under SM (§4.2)."""
        result = perform_pace(self.transport, key, info, random_bytes=self._random_bytes)
        self._sm = result.sm
        kind = "CAN" if isinstance(key, CanKey) else "MRZ"
        self.access_protocol = f"{info.describe()} ({kind})"
        response = self.send(CommandApdu(0x00, INS_SELECT, 0x04, 0x0C, data=EMRTD_AID))
        raise_for_status(response, "SELECT eMRTD application")

    def replace_sm(self, sm: SecureMessaging) -> None:
        """Continue under new keys (Chip Authentication, ICAO 9303-11 §6.2)."""
        self._sm = sm

    def reopen(self) -> None:
        """Re-establish SM with the key that worked (after an SM error)."""
        if self._pace_key is not None and self._pace_info is not None:
            self._sm = None
            self._open_pace(self._pace_key, self._pace_info)
            return
        if self._key is None:
            raise SecureMessagingError("no key to re-establish secure messaging with")
        self.select_application()
        self._sm = perform_bac(self.transport, self._key, random_bytes=self._random_bytes)

    def _initial_read_size(self) -> int:
        """Bytes per READ BINARY: the caller's, else extended when the card
        (and the link, when it tells) take it, else the largest short Le."""
        assert self._sm is not None
        short = self._sm.max_short_read
        if self._requested_read_size is not None:
            size = max(MIN_READ_SIZE, self._requested_read_size)
            self.extended = size > short
            self.read_mode = f"{'extended' if self.extended else 'short'}, {size} bytes per READ BINARY (fixed)"
            return size
        lengths = self.card_lengths or CardLengths()
        link = getattr(self.transport, "max_apdu_length", None)
        link_text = f"link carries {link} bytes" if isinstance(link, int) else "link limit not reported"
        if not lengths.extended:
            said = f"{lengths.source} says no extended length" if lengths.extended is False else "card does not announce extended length"
            self.extended = False
            self.read_mode = f"short, {short} bytes per READ BINARY ({said})"
            return short
        limits = [n for n in (lengths.max_response, link) if isinstance(n, int)]
        # Sized for AES's 16-byte blocks even under 3DES: Chip Authentication
        # may switch the session to AES, and the size must still fit then.
        size = largest_protected_read(min(limits) if limits else EXTENDED_MAX_NE + 2, AES_BLOCK)
        if size <= short:
            self.extended = False
            self.read_mode = f"short, {short} bytes per READ BINARY (extended length, but {link_text})"
            return short
        self.extended = True
        card_text = f"{lengths.source} max response {lengths.max_response}" if lengths.max_response else lengths.source
        self.read_mode = f"extended, up to {size} bytes per READ BINARY (card: {card_text}; {link_text})"
        return size

    def _fall_back_to_short(self, why: str) -> None:
        """An extended read failed: short reads from here on (never extended again)."""
        short = self._sm.max_short_read if self._sm is not None else MIN_READ_SIZE
        self.extended = False
        self._read_size = short
        self.read_mode = f"short, {short} bytes per READ BINARY ({EXTENDED_FELL_BACK_NOTE}: {why})"
        self.notes.append(f"{EXTENDED_FELL_BACK_NOTE} ({why}): short reads")

    @property
    def read_size(self) -> int | None:
        """Bytes per READ BINARY now (shrinks when a card or reader needs it)."""
        return self._read_size

    # -- files --------------------------------------------------------------------

    def select_file(self, fid: int) -> None:
        """SELECT EF by file identifier under SM (P1=02, P2=0C; Appendix D.4)."""
        response = self.send(CommandApdu(0x00, INS_SELECT, 0x02, 0x0C, data=fid.to_bytes(2, "big")))
        raise_for_status(response, f"SELECT EF {fid:04X}")

    def _read_chunk(self, offset: int, length: int) -> tuple[bytes, bool]:
        """One READ BINARY of up to `length` bytes at `offset` of the current EF.

        Returns the data and whether the card said the file ended (6282).
        """
        assert self._sm is not None
        # Beyond what a short protected response carries, ask with extended
        # length (ISO/IEC 7816-4 §5.1); cards and readers must support it.
        extended = length > self._sm.max_short_read
        if offset <= MAX_EVEN_OFFSET:
            command = CommandApdu(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, ne=length, force_extended=extended)
        else:
            # ISO/IEC 7816-4 READ BINARY, odd INS B1: the offset is in DO'54'
            # for EFs larger than 32 KiB; the data come back in DO'53'.
            command = CommandApdu(
                0x00,
                INS_READ_BINARY_ODD,
                0x00,
                0x00,
                data=tlv.encode(TAG_OFFSET, offset.to_bytes(3, "big")),
                ne=length,  # counts the DO'53' header: a few bytes less data
                force_extended=extended,
            )
        response = self.send(command)
        if response.sw1 == SW1_WRONG_LE:
            # 6Cxx: the card tells the exact length it can give; ask again.
            command = CommandApdu(
                command.cla, command.ins, command.p1, command.p2, command.data, ne=response.sw2 or 256
            )
            response = self.send(command)
        raise_for_status(response, "READ BINARY", allowed=(SW_OK, SW_END_OF_FILE))
        ended = response.sw == SW_END_OF_FILE
        if command.ins == INS_READ_BINARY_ODD:
            return tlv.parse_single(response.data, TAG_DISCRETIONARY).value, ended
        return response.data, ended

    def read_file(self, fid: int) -> bytes:
        """The whole content of EF `fid` (a TLV object: its header gives the size)."""
        if self._sm is None:
            raise SecureMessagingError("no secure messaging session: open() first")
        retries = 0
        while True:
            try:
                self.select_file(fid)
                head, _ = self._read_chunk(0, HEADER_PROBE)
                break
            except SecureMessagingError:
                if retries >= 1:
                    raise
                retries += 1
                self.reopen()

        try:
            _, value_offset, value_length = tlv.parse_header(head)
        except MalformedDataError:
            # A long-form length (82 xx xx plus a two-byte tag) may need more.
            if len(head) < HEADER_PROBE:
                raise
            head += self._read_chunk(len(head), HEADER_PROBE)[0]
            _, value_offset, value_length = tlv.parse_header(head)
        total = value_offset + value_length
        if total > MAX_FILE_SIZE:
            raise MalformedDataError(f"EF {fid:04X} claims {total} bytes")

        data = bytearray(head[:total])
        while len(data) < total:
            offset = len(data)
            size = self._read_size or MIN_READ_SIZE
            length = min(size, total - offset)
            was_extended = self._sm is not None and length > self._sm.max_short_read
            try:
                chunk, ended = self._read_chunk(offset, length)
            except (SecureMessagingError, StatusWordError, CardLinkError) as exc:
                if was_extended and _extended_trouble(exc):
                    # The card or the reader cannot do this extended read
                    # after all. Keep what was read, go short, and go on
                    # from `offset`: nothing already read is read again.
                    retries += 1
                    self._fall_back_to_short(_describe(exc))
                    if not isinstance(exc, StatusWordError):
                        # SM ended (6987/6988, bad MAC), or the exchange was
                        # lost on the link so the card's SSC is unknown:
                        # a new session either way (ICAO 9303-11 §9.8).
                        self.reopen()
                        self.select_file(fid)
                    continue
                if isinstance(exc, CardLinkError):
                    raise
                if self._worth_smaller_retry(exc, retries):
                    retries += 1
                    if self.extended:
                        # Even a short-sized read failed: the link is
                        # smaller than the card's extended limit.
                        self._fall_back_to_short(_describe(exc))
                    self._read_size = max(MIN_READ_SIZE, length // 2)
                    if isinstance(exc, SecureMessagingError):
                        self.reopen()
                        self.select_file(fid)
                    continue
                if isinstance(exc, StatusWordError) and exc.sw == SW_OFFSET_OUTSIDE_EF:
                    # Even the smallest read is "outside the EF": the file is
                    # shorter than its own TLV header says.
                    raise MalformedDataError(f"EF {fid:04X} ends before the length in its header") from None
                raise
            data += chunk
            if len(data) < total and (not chunk or (ended and retries >= MAX_READ_RETRIES)):
                raise MalformedDataError(f"EF {fid:04X} ends before the length in its header")
            if len(data) < total and ended:
                # 6282 short of the length in the header: either the file is
                # truncated (the next read says 6B00) or the card gives no
                # more per answer. Keep the bytes and ask for less.
                retries += 1
                if was_extended:
                    self._fall_back_to_short(f"6282 after {len(chunk)} bytes")
                else:
                    self._read_size = max(MIN_READ_SIZE, min(size, len(chunk)))
        return bytes(data[:total])

    def _worth_smaller_retry(self, exc: CardError, retries: int) -> bool:
        if retries >= MAX_READ_RETRIES:
            return False
        if isinstance(exc, SecureMessagingError):
            # Worth a new session even at the smallest size: the failure may
            # have been a one-off (a frame garbled in the field).
            return True
        can_shrink = (self._read_size or 0) > MIN_READ_SIZE
        return can_shrink and isinstance(exc, StatusWordError) and exc.sw in _SIZE_TROUBLE_SWS

    def read_optional_file(self, fid: int) -> bytes | None:
        """Like read_file, but None when the chip has no such file (6A82)."""
        try:
            return self.read_file(fid)
        except FileNotFoundOnCard:
            return None


def _extended_trouble(exc: CardError) -> bool:
    """Whether a failed extended READ BINARY is worth retrying with short ones.

    6700 (wrong length) is what a short-only card answers; other status
    words, an SM failure or a link failure also say "not this size", except
    "no such file" (6A82) and "not allowed" (6982), which no size changes.
    """
    if isinstance(exc, (SecureMessagingError, CardLinkError)):
        return True
    return isinstance(exc, StatusWordError) and not isinstance(exc, (FileNotFoundOnCard, SecurityStatusNotSatisfied))


def _describe(exc: CardError) -> str:
    if isinstance(exc, StatusWordError):
        return f"{exc.sw:04X}"
    if isinstance(exc, CardLinkError):
        return "the reader could not carry it"
    return "secure messaging ended"

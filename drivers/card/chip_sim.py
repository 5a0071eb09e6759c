"""SimulatedCccdChip: a software CCCD chip that answers APDUs like a card.

It is a real backend, not a mock: the kiosk reads it with the same
IcaoChipReader it uses on a real card, in-process (SimulatedCardReader) or
behind pcscd (VirtualCardBridge). It implements the card side of:

- SELECT of the eMRTD application by AID, and of EFs by identifier;
- BAC (ICAO 9303-11 §4.3): GET CHALLENGE, EXTERNAL AUTHENTICATE;
- PACE ECDH Generic Mapping (§4.4) with the CAN or the MRZ, announced in
  EF.CardAccess (011C) like a CCCD: brainpoolP256r1, AES-128 by default;
- secure messaging (§9.8): every file needs it once BAC or PACE has run; a
  wrong MAC ends the session (6988), as on real chips;
- READ BINARY (B0 with offset or short EF identifier, B1 with DO'54'),
  with end-of-file answers like a card (6282, or 6Cxx when configured);
- extended length (ISO/IEC 7816-4 §5.1), announced in EF.ATR/INFO (2F01,
  readable in the clear: '47' card capabilities and '7F66' extended length
  information) and honoured up to the announced response size. Made with
  `extended_length=False` (`kiosk simulate-card --no-extended-length`) the
  chip answers 6700 to extended APDUs and its EF.ATR/INFO says so.

The file layout is that of a CCCD (DOMAIN.md §1): EF.COM 011E, DG1 0101,
DG2 0102, DG13 010D; DG3 answers 6982 (EAC-protected fingerprints), DG11
answers 6A82, selecting the MF (3F00) answers 6D00. A chip made without
`card_access` is BAC-only: EF.CardAccess answers 6A82 and MSE answers 6D00.

- EF.SOD signed by the generated TEST PKI (drivers/card/sample_pki.py),
  DG14 with Chip Authentication (ECDH brainpoolP256r1, SM re-keyed, §6.2)
  and DG15 with Active Authentication (ECDSA or RSA ISO/IEC 9796-2, §6.1).

Faults can be injected (ChipFaults: PACE refused, link length limit, tear
after N APDUs, per-APDU latency, garbled MACs, cloned CA/AA keys; and at
personalisation: no extended length, a tampered data group).
"""

from __future__ import annotations

import enum
import hmac
import io
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from drivers.card.icao import crypto, tlv
from drivers.card.icao.apdu import (
    INS_EXTERNAL_AUTHENTICATE,
    INS_GENERAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    INS_MSE,
    INS_READ_BINARY,
    INS_READ_BINARY_ODD,
    INS_SELECT,
    SECURE_MESSAGING_SWS,
    SHORT_MAX_NE,
    SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS_NOT_SATISFIED,
    SW_END_OF_FILE,
    SW_FILE_NOT_FOUND,
    SW_INS_NOT_SUPPORTED,
    SW_NO_CURRENT_EF,
    SW_OFFSET_OUTSIDE_EF,
    SW_OK,
    SW_SECURITY_STATUS,
    SW_SM_DATA_OBJECTS_INCORRECT,
    SW_SM_DATA_OBJECTS_MISSING,
    SW_VERIFICATION_FAILED,
    SW_WRONG_DATA,
    SW_WRONG_LENGTH,
    SW_WRONG_P1P2,
    CommandApdu,
    ResponseApdu,
)
from drivers.card.icao.bac import BacKeys, initial_ssc, session_keys
from drivers.card.icao.lds import (
    EMRTD_AID,
    FID_DG1,
    FID_DG2,
    FID_DG3,
    FID_DG13,
    FID_EF_CARD_ACCESS,
    FID_DG14,
    FID_DG15,
    FID_EF_COM,
    FID_EF_SOD,
    TAG_DG1,
    TAG_DG2,
    TAG_DG3,
    TAG_DG13,
    TAG_DG14,
    TAG_DG15,
    TAG_EF_COM,
    TAG_LDS_VERSION,
    TAG_MRZ,
    TAG_TAG_LIST,
    TAG_UNICODE_VERSION,
)
from drivers.card.icao.ec import STANDARD_CURVES
from drivers.card.icao.lengths import FID_EF_ATR_INFO, card_capabilities, encode_atr_info
from drivers.card.icao.mrz import compose_td1, format_mrz_date, mrz_information
from drivers.card.icao.chip_auth import INS_INTERNAL_AUTHENTICATE, ecdsa_plain_sign, iso9796_2_sign
from drivers.card.icao.pace import _CIPHER_BY_ARC as CIPHER_BY_ARC
from drivers.card.icao.pace import (
    ARC_BY_CIPHER,
    ID_AA,
    ID_CA_ECDH,
    ID_PK_ECDH,
    CLA_CHAINING,
    ID_PACE_ECDH_GM,
    PASSWORD_CAN,
    PASSWORD_MRZ,
    TAG_DYNAMIC_AUTH,
    PaceInfo,
    authentication_token,
    choose_pace_info,
    encrypt_nonce,
    map_generator,
    mrz_password,
    private_key,
    session_ciphers,
    shared_secret,
    sm_cipher,
)
from drivers.card.icao.sm import (
    DO_ENCRYPTED,
    DO_ENCRYPTED_ODD,
    DO_LE,
    DO_MAC,
    DO_STATUS,
    MAC_LENGTH,
    PADDING_INDICATOR,
    SM_CLA_BITS,
    SmCipher,
    TripleDesSm,
)
from kiosk import cccd
from kiosk.errors import CardRemovedError, MalformedDataError, SecureMessagingError

RandomBytes = Callable[[int], bytes]

# Master file: CCCD chips answer 6D00 to selecting it (DOMAIN.md §1).
FID_MASTER_FILE = 0x3F00
MASTER_FILE_SW = SW_INS_NOT_SUPPORTED

# ISO/IEC 14443-4 Type A cards pass historical bytes in their ATS; the PC/SC
# reader builds the pseudo-ATR from them. Many eMRTDs send none, giving the
# familiar ATR 3B 80 80 01 01.
DEFAULT_HISTORICAL_BYTES = b""

# Longest extended R-APDU (data + SW) the chip builds, announced in
# EF.ATR/INFO '7F66': the most ISO/IEC 7816-4 allows (Ne = 65536, plus SW).
DEFAULT_MAX_EXTENDED_RESPONSE = 65538
DEFAULT_MAX_EXTENDED_COMMAND = 65544  # header + 3-byte Lc + 65535 data + 2-byte Le


def pseudo_atr(historical_bytes: bytes = b"") -> bytes:
    """The ATR a PC/SC reader reports for an ISO/IEC 14443-4 Type A card.

    PC/SC Part 3 (ATR of contactless cards): TS=3B, T0=8n (TD1 present, n historical
    bytes), TD1=80 (TD2 present, T=0), TD2=01 (T=1), the historical bytes
    from the card's ATS, and TCK, the XOR of T0..last byte. With no
    historical bytes this is 3B 80 80 01 01, the ATR many eMRTDs show.
    """
    if len(historical_bytes) > 15:
        raise ValueError("at most 15 historical bytes fit an ATR")
    body = bytes([0x80 | len(historical_bytes), 0x80, 0x01]) + historical_bytes
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


def default_atr_info(extended_length: bool, max_response: int = DEFAULT_MAX_EXTENDED_RESPONSE) -> bytes:
    """EF.ATR/INFO as this chip publishes it (ICAO 9303-10; ISO/IEC 7816-4 DOs).

    With extended length: card capabilities '47' (b7 of the third byte set)
    and extended length information '7F66'. Without: only '47', saying no
    extended Lc/Le, as a short-only card that still has the file would.
    """
    if not extended_length:
        from drivers.card.icao import tlv as _tlv

        return _tlv.encode(0x47, card_capabilities(False, info_in_ef_atr=False))
    return encode_atr_info(DEFAULT_MAX_EXTENDED_COMMAND, max_response, card_capabilities(True))


# DG13 "OID" element: the real value on CCCD cards is not documented in our
# sources; this one sits under Vietnam's joint-iso-itu-t country arc
# (2.16.704) and is a placeholder. Parsers ignore it.
DG13_PLACEHOLDER_OID = bytes.fromhex("0606608572010101")  # 2.16.704.1.1.1


class EndOfFile(enum.Enum):
    """How the chip answers a READ BINARY whose Ne runs past the end of the EF."""

    WARNING = "6282"  # the bytes that exist + 6282 (ISO/IEC 7816-4, Table 5)
    WRONG_LE = "6Cxx"  # no data, 6Cxx with the exact count (T=0 style)


class ParentsShape(enum.Enum):
    """DG13 field 13 encodings seen on cards (DOMAIN.md)."""

    TWO_SEQUENCES = "two_sequences"  # 30{0C father} 30{0C mother}
    ONE_SEQUENCE = "one_sequence"  # 30{0C father 0C mother}


@dataclass
class ChipFaults:
    """Misbehaviour to inject, for tests. Counters are over the chip's life."""

    # The card leaves the field when APDU number N+1 arrives: process()
    # raises CardRemovedError then and until the chip is powered on again.
    # One-shot: cleared once it fires.
    lift_after_apdus: int | None = None
    # Longest R-APDU (data + SW) the link carries, e.g. 64 for readers with
    # small frames; longer answers become `SimulatedCccdChip.too_long_sw`.
    max_response_length: int | None = None
    # Protected responses (1-based count) whose MAC the chip garbles.
    corrupt_response_mac: frozenset[int] = field(default_factory=frozenset)
    # The chip refuses PACE (6982 to MSE:Set AT), as some CCCD cards do
    # (DOMAIN.md §1): a reader must fall back to BAC.
    pace_refused: bool = False
    # The chip's Chip/Active Authentication private keys are not those of
    # its DG14/DG15 (data copied onto another chip): CA and AA must fail.
    cloned_keys: bool = False
    # Seconds the chip takes per APDU (a slow chip or a weak field).
    latency_seconds: float = 0.0


SW_CHAINING_NOT_SUPPORTED = 0x6884  # ISO/IEC 7816-4: command chaining not supported
SW_REFERENCED_DATA_NOT_FOUND = 0x6A88
PACE_NONCE_LENGTH = 16  # bytes of s: one AES block, two 3DES blocks


def build_card_access(parameter_id: int = 13, cipher: crypto.KeyAlgorithm = crypto.KeyAlgorithm.AES128) -> bytes:
    """EF.CardAccess announcing PACE ECDH-GM (ICAO 9303-11 §9.2.1 PACEInfo).

    The default is what CCCD cards announce (DOMAIN.md §1): version 2,
    AES-CBC-CMAC-128, standardized parameter ID 13 = brainpoolP256r1.
    """
    oid = ID_PACE_ECDH_GM + bytes([ARC_BY_CIPHER[cipher]])
    info = tlv.encode(
        0x30,
        tlv.encode(0x06, oid) + tlv.encode(0x02, b"\x02") + tlv.encode(0x02, bytes([parameter_id])),
    )
    return tlv.encode(0x31, info)


@dataclass
class _PaceState:
    """The card side of one PACE run, step by step (§4.4.4.2)."""

    info: PaceInfo
    password: bytes
    step: int = 1
    nonce: bytes = b""
    generator: tuple[int, int] | None = None
    sk_dh: int = 0
    pk_dh: bytes = b""


class _SmFailure(Exception):
    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


class _CardSecureMessaging:
    """Secure messaging as the chip does it (ICAO 9303-11 §9.8): check the
    command's MAC and decrypt it, protect the response."""

    def __init__(self, cipher: SmCipher, ssc: int) -> None:
        self.cipher = cipher
        self._ssc = ssc
        self._modulus = 1 << (8 * cipher.block_size)

    def _next_ssc(self) -> bytes:
        self._ssc = (self._ssc + 1) % self._modulus
        return self._ssc.to_bytes(self.cipher.block_size, "big")

    def _pad(self, data: bytes) -> bytes:
        return crypto.pad(data, self.cipher.block_size)

    def unwrap(self, command: CommandApdu) -> CommandApdu:
        ssc = self._next_ssc()
        try:
            objects = tlv.parse_all(command.data)
        except MalformedDataError:
            raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT) from None
        covered = b""
        cryptogram: bytes | None = None
        le: bytes | None = None
        mac: bytes | None = None
        for obj in objects:
            if mac is not None:
                raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)  # nothing may follow DO'8E'
            if obj.tag == DO_MAC:
                mac = obj.value
                continue
            covered += obj.encode()
            if obj.tag == DO_ENCRYPTED:
                if not obj.value or obj.value[0] != PADDING_INDICATOR:
                    raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)
                cryptogram = obj.value[1:]
            elif obj.tag == DO_ENCRYPTED_ODD:
                cryptogram = obj.value
            elif obj.tag == DO_LE:
                le = obj.value
            else:
                raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)
        if mac is None:
            raise _SmFailure(SW_SM_DATA_OBJECTS_MISSING)
        # The MAC covers the padded protected header, then every object
        # before DO'8E' (Appendix D.4: N = SSC || padded header || DO'87' ...).
        expected = self.cipher.mac(self._pad(ssc + self._pad(command.header) + covered))
        if len(mac) != MAC_LENGTH or not hmac.compare_digest(mac, expected):
            raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)

        data = b""
        if cryptogram is not None:
            if not cryptogram or len(cryptogram) % self.cipher.block_size:
                raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)
            try:
                data = crypto.unpad(self.cipher.decrypt(cryptogram, ssc))
            except ValueError:
                raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT) from None
        ne: int | None = None
        extended = False
        if le is not None:
            if len(le) > 2:
                raise _SmFailure(SW_SM_DATA_OBJECTS_INCORRECT)
            extended = len(le) == 2
            value = int.from_bytes(le, "big") if le else 0
            ne = value or (65536 if extended else SHORT_MAX_NE)
        return CommandApdu(
            command.cla & ~SM_CLA_BITS & 0xFF,
            command.ins,
            command.p1,
            command.p2,
            data=data,
            ne=ne,
            force_extended=extended,
        )

    def wrap(self, response: ResponseApdu, odd_ins: bool, corrupt_mac: bool) -> bytes:
        ssc = self._next_ssc()
        body = b""
        if response.data:
            cryptogram = self.cipher.encrypt(self._pad(response.data), ssc)
            if odd_ins:
                body += tlv.encode(DO_ENCRYPTED_ODD, cryptogram)
            else:
                body += tlv.encode(DO_ENCRYPTED, bytes([PADDING_INDICATOR]) + cryptogram)
        body += tlv.encode(DO_STATUS, response.sw.to_bytes(2, "big"))
        mac = self.cipher.mac(self._pad(ssc + body))
        if corrupt_mac:
            mac = bytes([mac[0] ^ 0x01]) + mac[1:]
        return body + tlv.encode(DO_MAC, mac) + response.sw.to_bytes(2, "big")

    def skip_response(self) -> None:
        """An error answered without SM still advances the counter (see sm.py)."""
        self._next_ssc()


def _sw(sw: int) -> ResponseApdu:
    return ResponseApdu(b"", sw)


class SimulatedCccdChip:
    """A CCCD chip in software: `process(apdu) -> response` (data + SW1 SW2)."""

    def __init__(
        self,
        files: Mapping[int, bytes],
        mrz_info: str,
        *,
        card_access: bytes | None = None,
        can: str | None = None,
        protected_files: Iterable[int] = (FID_DG3,),
        faults: ChipFaults | None = None,
        random_bytes: RandomBytes = os.urandom,
        extended_length: bool = True,
        end_of_file: EndOfFile = EndOfFile.WARNING,
        too_long_sw: int = SW_WRONG_LENGTH,
        historical_bytes: bytes = DEFAULT_HISTORICAL_BYTES,
        atr_info: bytes | None | str = "default",
        max_extended_response: int = DEFAULT_MAX_EXTENDED_RESPONSE,
    ) -> None:
        self._files = dict(files)
        self._bac_keys = BacKeys.from_mrz_information(mrz_info)
        self.card_access = card_access
        self._mrz_password = mrz_password(mrz_info)
        self._can = can
        self._protected_files = frozenset(protected_files)
        self.faults = faults or ChipFaults()
        self._random_bytes = random_bytes
        self.extended_length = extended_length
        self.end_of_file = end_of_file
        self.too_long_sw = too_long_sw
        self.historical_bytes = historical_bytes
        # EF.ATR/INFO (2F01): by default it tells the truth about extended
        # length; None leaves it out; bytes replace it (tests: garbled files).
        self.max_extended_response = max_extended_response
        self.atr_info: bytes | None = (
            default_atr_info(extended_length, max_extended_response) if atr_info == "default" else atr_info  # type: ignore[assignment]
        )
        self._ca_private: int | None = None  # set by from_citizen when DG14 is built
        self._ca_curve = None
        self._aa_private: object | None = None  # RSA or EC private key behind DG15
        self._lock = threading.RLock()
        self.sleep: Callable[[float], None] = time.sleep  # replaceable in tests
        self.apdu_count = 0
        self.protected_response_count = 0
        # (EF, offset, bytes) of every READ BINARY answered with data: tests
        # check that no byte is read twice after a fallback.
        self.read_log: list[tuple[int, int, int]] = []
        self._lifted = False
        self._reset_state()

    def __repr__(self) -> str:
        return f"SimulatedCccdChip(files={sorted(f'{fid:04X}' for fid in self._files)})"

    # -- personalisation ----------------------------------------------------------

    @classmethod
    def from_citizen(
        cls,
        citizen: Mapping[str, object],
        face_jpeg: bytes | None,
        *,
        parents_shape: ParentsShape = ParentsShape.TWO_SEQUENCES,
        omit_dg13_fields: Iterable[int] = (),
        with_dg13: bool = True,
        pace: bool = True,
        with_sod: bool = True,
        tampered_dg: int | None = None,
        chip_authentication: bool = True,
        active_authentication: str | None = "ecdsa",
        **options: object,
    ) -> SimulatedCccdChip:
        """A chip personalised for one sample citizen (assets/citizens/*.json).

        Like a CCCD it announces PACE (CAN and MRZ) unless `pace` is False
        or `card_access` is given, and carries EF.SOD signed by the TEST
        Document Signer (drivers/card/sample_pki.py) unless `with_sod` is
        False. `tampered_dg` (1, 2 or 13) alters that data group after the
        SOD was signed, as a forger would: it still parses, but its hash no
        longer matches.
        """
        dob = date.fromisoformat(str(citizen["date_of_birth"]))
        expiry_text = citizen.get("date_of_expiry")
        expiry = date.fromisoformat(str(expiry_text)) if expiry_text else None
        id12 = str(citizen["id_number"])
        mrz = td1_for_citizen(citizen)
        files: dict[int, bytes] = {FID_DG1: build_dg1(mrz)}
        dg_tags = [TAG_DG1]
        if face_jpeg is not None:
            files[FID_DG2] = build_dg2(face_jpeg, sex=str(citizen.get("sex", "")))
            dg_tags.append(TAG_DG2)
        files[FID_DG3] = b""  # present but EAC-protected: SELECT answers 6982
        dg_tags.append(TAG_DG3)
        if with_dg13:
            files[FID_DG13] = build_dg13(
                dg13_fields_for_citizen(citizen, omit=omit_dg13_fields), parents_shape=parents_shape
            )
            dg_tags.append(TAG_DG13)
        keys = _chip_keys(id12, active_authentication) if (chip_authentication or active_authentication) else None
        if keys is not None and chip_authentication:
            files[FID_DG14] = build_dg14(keys["ca"].public_key(), with_aa=active_authentication == "ecdsa")
            dg_tags.append(TAG_DG14)
        if keys is not None and active_authentication:
            files[FID_DG15] = build_dg15(keys["aa"].public_key())
            dg_tags.append(TAG_DG15)
        if with_sod:
            from drivers.card.sample_pki import build_sod  # personalisation only

            signed = (FID_DG1, FID_DG2, FID_DG13, FID_DG14, FID_DG15)
            files[FID_EF_SOD] = build_sod({fid & 0xFF: files[fid] for fid in signed if fid in files})
        if tampered_dg is not None:
            fid = 0x0100 | tampered_dg
            if fid not in files:
                raise ValueError(f"no DG{tampered_dg} on this chip to tamper with")
            files[fid] = tamper(files[fid])
        files[FID_EF_COM] = build_ef_com(dg_tags)
        mrz_info = mrz_information(cccd.document_number(id12), dob, expiry)
        if pace:
            options.setdefault("card_access", build_card_access())
            options.setdefault("can", cccd.can(id12))
        chip = cls(files, mrz_info, **options)  # type: ignore[arg-type]
        if keys is not None:
            faults = chip.faults
            if faults.cloned_keys:
                keys = _chip_keys("clone-" + id12, active_authentication)
            if chip_authentication:
                chip._ca_curve = STANDARD_CURVES[13]
                chip._ca_private = keys["ca"].private_numbers().private_value
            if active_authentication:
                chip._aa_private = keys["aa"]
        return chip

    def replace_file(self, fid: int, content: bytes) -> None:
        """Swap an EF's content (tests: malformed data groups)."""
        with self._lock:
            self._files[fid] = bytes(content)

    def remove_file(self, fid: int) -> None:
        with self._lock:
            self._files.pop(fid, None)

    # -- power --------------------------------------------------------------------

    def _reset_state(self) -> None:
        self._application_selected = False
        self._current_ef: int | None = None
        self._challenge: bytes | None = None
        self._sm: _CardSecureMessaging | None = None
        self._pace: _PaceState | None = None
        self._ca_protocol: bytes | None = None
        self._pending_sm: _CardSecureMessaging | None = None

    def power_on(self) -> None:
        """The card enters the field (or is cold-reset): all state is lost."""
        with self._lock:
            self._lifted = False
            self._reset_state()

    reset = power_on

    def power_off(self) -> None:
        with self._lock:
            self._reset_state()

    @property
    def atr(self) -> bytes:
        """The pseudo-ATR a PC/SC reader shows for this chip."""
        return pseudo_atr(self.historical_bytes)

    @property
    def in_field(self) -> bool:
        return not self._lifted

    @property
    def session_active(self) -> bool:
        """Whether a secure messaging session is established (for tests)."""
        return self._sm is not None

    # -- APDU processing ---------------------------------------------------------

    def process(self, apdu: bytes) -> bytes:
        """Handle one command APDU; return response data + SW1 SW2.

        Raises CardRemovedError when the card is (or just went) out of the
        field: the only way a card "answers" nothing.
        """
        if self.faults.latency_seconds > 0:
            self.sleep(self.faults.latency_seconds)
        with self._lock:
            if self._lifted:
                raise CardRemovedError("the simulated card is not in the field")
            self.apdu_count += 1
            lift = self.faults.lift_after_apdus
            if lift is not None and self.apdu_count > lift:
                self.faults.lift_after_apdus = None
                self._lifted = True
                self._reset_state()
                raise CardRemovedError("the simulated card left the field")

            try:
                command = CommandApdu.parse(apdu)
            except MalformedDataError:
                return self._deliver(_sw(SW_WRONG_LENGTH).to_bytes())
            if command.extended and not self.extended_length:
                return self._deliver(_sw(SW_WRONG_LENGTH).to_bytes())
            if command.cla & ~(SM_CLA_BITS | CLA_CHAINING) & 0xFF:
                return self._deliver(_sw(SW_CLA_NOT_SUPPORTED).to_bytes())
            if command.cla & CLA_CHAINING and command.ins != INS_GENERAL_AUTHENTICATE:
                return self._deliver(_sw(SW_CHAINING_NOT_SUPPORTED).to_bytes())
            if command.cla & SM_CLA_BITS == SM_CLA_BITS:
                return self._process_protected(command)
            if command.cla & SM_CLA_BITS:
                return self._deliver(_sw(SW_CLA_NOT_SUPPORTED).to_bytes())  # SM without header auth
            # ISO/IEC 7816-4 / ICAO 9303-11 §9.8: a plain command ends
            # an SM session.
            self._sm = None
            return self._deliver(self._dispatch(command, protected=False).to_bytes())

    def _deliver(self, response: bytes, fits_short: bool = True) -> bytes:
        """Apply link limits to a response before it leaves the card."""
        too_long = not fits_short or (
            self.faults.max_response_length is not None and len(response) > self.faults.max_response_length
        )
        if too_long:
            if self.too_long_sw in SECURE_MESSAGING_SWS:
                self._sm = None
            return _sw(self.too_long_sw).to_bytes()
        return response

    def _process_protected(self, command: CommandApdu) -> bytes:
        if self._sm is None:
            # No session (never authenticated, or ended by an earlier error).
            return self._deliver(_sw(SW_SM_DATA_OBJECTS_INCORRECT).to_bytes())
        sm = self._sm
        try:
            inner = sm.unwrap(command)
        except _SmFailure as failure:
            # ICAO 9303-11 §9.8: a wrong or missing MAC ends the session.
            self._sm = None
            return self._deliver(_sw(failure.sw).to_bytes())
        response = self._dispatch(inner, protected=True)
        if response.sw != SW_OK and response.sw >> 8 not in (0x62, 0x63):
            # Errors go back without SM, as many chips do; the counter moves
            # on regardless (both sides count every response).
            sm.skip_response()
            return self._deliver(response.to_bytes())
        self.protected_response_count += 1
        corrupt = self.protected_response_count in self.faults.corrupt_response_mac
        wrapped = sm.wrap(response, odd_ins=bool(inner.ins & 1), corrupt_mac=corrupt)
        if self._pending_sm is not None:
            # Chip Authentication: the answer goes out under the old keys,
            # everything after it under the new ones (ICAO 9303-11 §6.2).
            self._sm, self._pending_sm = self._pending_sm, None
        # Ne' of a short protected command is at most 256 bytes; an extended
        # one gets what EF.ATR/INFO announced.
        fits = len(wrapped) <= self.max_extended_response if command.extended else len(wrapped) - 2 <= SHORT_MAX_NE
        return self._deliver(wrapped, fits_short=fits)

    def _dispatch(self, command: CommandApdu, *, protected: bool) -> ResponseApdu:
        if command.ins == INS_SELECT:
            return self._select(command, protected)
        if command.ins == INS_GET_CHALLENGE:
            return self._get_challenge(command, protected)
        if command.ins == INS_EXTERNAL_AUTHENTICATE:
            return self._external_authenticate(command, protected)
        if command.ins in (INS_READ_BINARY, INS_READ_BINARY_ODD):
            return self._read_binary(command, protected)
        if command.ins == INS_MSE and protected and (command.p1, command.p2) == (0x41, 0xA4):
            return self._ca_set_at(command)
        if command.ins == INS_GENERAL_AUTHENTICATE and protected and self._ca_protocol is not None:
            return self._ca_general_authenticate(command)
        if command.ins == INS_INTERNAL_AUTHENTICATE:
            return self._internal_authenticate(command, protected)
        if command.ins == INS_MSE and self.card_access is not None:
            return self._mse_set_at(command, protected)
        if command.ins == INS_GENERAL_AUTHENTICATE and self.card_access is not None:
            return self._general_authenticate(command, protected)
        return _sw(SW_INS_NOT_SUPPORTED)

    # -- SELECT -------------------------------------------------------------------

    def _select(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        if command.p1 == 0x04:  # by DF name (AID)
            if command.data != EMRTD_AID:
                return _sw(SW_FILE_NOT_FOUND)
            if command.p2 != 0x0C:
                return _sw(SW_WRONG_P1P2)
            if protected:
                # After PACE (run at MF level) the terminal selects the
                # application under SM, and the session carries on
                # (ICAO 9303-11 §4.2, chip access procedure).
                self._current_ef = None
                self._application_selected = True
                return ResponseApdu(b"", SW_OK)
            # Selected in the clear, the application starts with a fresh
            # security state.
            self._reset_state()
            self._application_selected = True
            return ResponseApdu(b"", SW_OK)
        if command.p1 == 0x00:
            # MF / by path from the MF: CCCD chips answer 6D00 here.
            return _sw(MASTER_FILE_SW)
        if command.p1 != 0x02:
            return _sw(SW_WRONG_P1P2)
        if len(command.data) != 2:
            return _sw(SW_WRONG_LENGTH)
        if command.p2 != 0x0C:
            return _sw(SW_WRONG_P1P2)
        fid = int.from_bytes(command.data, "big")
        status = self._access(fid, protected)
        if status == SW_OK:
            self._current_ef = fid
        return _sw(status)

    def _access(self, fid: int, protected: bool) -> int:
        """Whether EF `fid` may be selected now: SW_OK or the refusal."""
        if fid == FID_EF_CARD_ACCESS:
            # In the MF and readable without authentication (ICAO 9303-10,
            # EF.CardAccess); absent on this BAC-only chip unless configured.
            return SW_OK if self.card_access is not None else SW_FILE_NOT_FOUND
        if fid == FID_EF_ATR_INFO:
            # Also in the MF, read access ALWAYS (ICAO 9303-10, EF.ATR/INFO).
            return SW_OK if self.atr_info is not None else SW_FILE_NOT_FOUND
        if not self._application_selected or fid not in self._files:
            return SW_FILE_NOT_FOUND
        if fid in self._protected_files:
            return SW_SECURITY_STATUS  # DG3: needs Terminal Authentication (EAC)
        if not protected or self._sm is None:
            return SW_SECURITY_STATUS  # BAC protects every data group
        return SW_OK

    def _file_content(self, fid: int) -> bytes:
        if fid == FID_EF_CARD_ACCESS:
            return self.card_access or b""
        if fid == FID_EF_ATR_INFO:
            return self.atr_info or b""
        return self._files[fid]

    # -- BAC ----------------------------------------------------------------------

    def _get_challenge(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        if protected or not self._application_selected:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)
        if command.ne != 8 or command.data:
            return _sw(SW_WRONG_LENGTH)
        self._challenge = self._random_bytes(8)
        return ResponseApdu(self._challenge, SW_OK)

    def _external_authenticate(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        """ICAO 9303-11 §4.3 / Appendix D.3, chip side."""
        challenge, self._challenge = self._challenge, None  # one attempt per challenge
        if protected or challenge is None:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)
        if len(command.data) != 40 or command.ne not in (40, SHORT_MAX_NE):
            return _sw(SW_WRONG_LENGTH)
        e_ifd, m_ifd = command.data[:32], command.data[32:]
        keys = self._bac_keys
        expected = crypto.retail_mac(keys.k_mac, crypto.pad(e_ifd, crypto.DES_BLOCK))
        if not hmac.compare_digest(m_ifd, expected):
            return _sw(SW_VERIFICATION_FAILED)
        s = crypto.tdes_decrypt(keys.k_enc, e_ifd)
        rnd_ifd, rnd_ic, k_ifd = s[:8], s[8:16], s[16:]
        if rnd_ic != challenge:
            return _sw(SW_VERIFICATION_FAILED)
        k_ic = self._random_bytes(16)
        e_ic = crypto.tdes_encrypt(keys.k_enc, rnd_ic + rnd_ifd + k_ic)
        m_ic = crypto.retail_mac(keys.k_mac, crypto.pad(e_ic, crypto.DES_BLOCK))
        self._sm = _CardSecureMessaging(TripleDesSm(*session_keys(k_ifd, k_ic)), initial_ssc(rnd_ic, rnd_ifd))
        return ResponseApdu(e_ic + m_ic, SW_OK)

    # -- PACE (ICAO 9303-11 §4.4), card side ----------------------------------------

    def _announced_pace(self) -> PaceInfo | None:
        try:
            info, _ = choose_pace_info(self.card_access or b"")
        except MalformedDataError:
            return None
        return info

    def _mse_set_at(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        """MSE:Set AT for PACE (§4.4.4.1): protocol, password, parameters."""
        self._pace = None
        if protected:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)  # this chip runs PACE in the clear only
        if (command.p1, command.p2) != (0xC1, 0xA4):
            return _sw(SW_WRONG_P1P2)
        if self.faults.pace_refused:
            return _sw(SW_SECURITY_STATUS)
        try:
            objects = {obj.tag: obj.value for obj in tlv.parse_all(command.data)}
        except MalformedDataError:
            return _sw(SW_WRONG_DATA)
        info = self._announced_pace()
        if info is None or objects.get(0x80) != info.protocol:
            return _sw(SW_WRONG_DATA)
        parameter = objects.get(0x84)
        if parameter is not None and (len(parameter) != 1 or parameter[0] != info.parameter_id):
            return _sw(SW_WRONG_DATA)
        reference = objects.get(0x83)
        if reference == bytes([PASSWORD_MRZ]):
            password = self._mrz_password
        elif reference == bytes([PASSWORD_CAN]) and self._can is not None:
            password = self._can.encode("ascii")
        else:
            return _sw(SW_REFERENCED_DATA_NOT_FOUND)
        # A new PACE run ends whatever session there was.
        self._sm = None
        self._pace = _PaceState(info, password)
        return ResponseApdu(b"", SW_OK)

    def _general_authenticate(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        """The four GENERAL AUTHENTICATE steps of PACE ECDH-GM (§4.4.4.2)."""
        state = self._pace
        if protected or state is None:
            return _sw(SW_CONDITIONS_NOT_SATISFIED)
        if (command.p1, command.p2) != (0x00, 0x00):
            return _sw(SW_WRONG_P1P2)
        curve, algorithm = state.info.curve, state.info.cipher
        assert curve is not None and algorithm is not None
        try:
            template = tlv.parse_single(command.data, TAG_DYNAMIC_AUTH)
            inner = {obj.tag: obj.value for obj in template.children()}
        except MalformedDataError:
            self._pace = None
            return _sw(SW_WRONG_DATA)
        last = not command.cla & CLA_CHAINING
        try:
            if state.step == 1 and not inner and not last:
                state.nonce = self._random_bytes(PACE_NONCE_LENGTH)
                state.step = 2
                z = encrypt_nonce(state.password, algorithm, state.nonce)
                return ResponseApdu(tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(0x80, z)), SW_OK)
            if state.step == 2 and 0x81 in inner and not last:
                pk_map_ifd = curve.decode(inner[0x81])
                sk_map = private_key(curve, self._random_bytes)
                pk_map = curve.encode(curve.multiply(sk_map, curve.generator))
                state.generator = map_generator(curve, state.nonce, curve.multiply(sk_map, pk_map_ifd))
                state.step = 3
                return ResponseApdu(tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(0x82, pk_map)), SW_OK)
            if state.step == 3 and 0x83 in inner and not last and state.generator is not None:
                state.pk_dh = inner[0x83]
                curve.decode(state.pk_dh)
                state.sk_dh = private_key(curve, self._random_bytes)
                pk_dh = curve.encode(curve.multiply(state.sk_dh, state.generator))
                state.step = 4
                return ResponseApdu(tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(0x84, pk_dh)), SW_OK)
            if state.step == 4 and 0x85 in inner and last and state.generator is not None:
                self._pace = None  # one token per run
                own_pk = curve.encode(curve.multiply(state.sk_dh, state.generator))
                secret = shared_secret(curve, state.sk_dh, curve.decode(state.pk_dh))
                ks_enc, ks_mac = session_ciphers(secret, algorithm)
                expected = authentication_token(algorithm, ks_mac, state.info.protocol, own_pk)
                if not hmac.compare_digest(inner[0x85], expected):
                    return _sw(SW_VERIFICATION_FAILED)  # another password: refused
                token = authentication_token(algorithm, ks_mac, state.info.protocol, state.pk_dh)
                self._sm = _CardSecureMessaging(sm_cipher(algorithm, ks_enc, ks_mac), 0)
                return ResponseApdu(tlv.encode(TAG_DYNAMIC_AUTH, tlv.encode(0x86, token)), SW_OK)
        except (MalformedDataError, SecureMessagingError):
            self._pace = None
            return _sw(SW_WRONG_DATA)
        self._pace = None
        return _sw(SW_CONDITIONS_NOT_SATISFIED)

    # -- Chip Authentication and Active Authentication (§6.2, §6.1), card side --------

    def _ca_set_at(self, command: CommandApdu) -> ResponseApdu:
        self._ca_protocol = None
        if self._ca_private is None:
            return _sw(SW_REFERENCED_DATA_NOT_FOUND)
        try:
            objects = {obj.tag: obj.value for obj in tlv.parse_all(command.data)}
        except MalformedDataError:
            return _sw(SW_WRONG_DATA)
        protocol = objects.get(0x80, b"")
        if not protocol.startswith(ID_CA_ECDH) or len(protocol) != len(ID_CA_ECDH) + 1:
            return _sw(SW_WRONG_DATA)
        self._ca_protocol = protocol
        return ResponseApdu(b"", SW_OK)

    def _ca_general_authenticate(self, command: CommandApdu) -> ResponseApdu:
        protocol, self._ca_protocol = self._ca_protocol, None
        curve = self._ca_curve
        assert protocol is not None and curve is not None and self._ca_private is not None
        try:
            inner = tlv.parse_single(command.data, TAG_DYNAMIC_AUTH).require(0x80).value
            terminal_key = curve.decode(inner)
            secret = shared_secret(curve, self._ca_private, terminal_key)
        except (MalformedDataError, SecureMessagingError):
            return _sw(SW_WRONG_DATA)
        algorithm = CIPHER_BY_ARC[protocol[-1]]
        ks_enc, ks_mac = session_ciphers(secret, algorithm)
        self._pending_sm = _CardSecureMessaging(sm_cipher(algorithm, ks_enc, ks_mac), 0)
        return ResponseApdu(tlv.encode(TAG_DYNAMIC_AUTH, b""), SW_OK)

    def _internal_authenticate(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        if not protected or self._sm is None:
            return _sw(SW_SECURITY_STATUS)
        if self._aa_private is None:
            return _sw(SW_INS_NOT_SUPPORTED)
        if len(command.data) != 8:
            return _sw(SW_WRONG_LENGTH)
        from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

        if isinstance(self._aa_private, _rsa.RSAPrivateKey):
            return ResponseApdu(iso9796_2_sign(self._aa_private, command.data, self._random_bytes), SW_OK)
        return ResponseApdu(ecdsa_plain_sign(self._aa_private, command.data), SW_OK)  # type: ignore[arg-type]

    # -- READ BINARY ----------------------------------------------------------------

    def _read_binary(self, command: CommandApdu, protected: bool) -> ResponseApdu:
        if command.ne is None:
            return _sw(SW_WRONG_LENGTH)
        if command.ins == INS_READ_BINARY_ODD:
            if command.p1 or command.p2:
                return _sw(SW_WRONG_P1P2)  # only "current EF" is supported
            try:
                offset_do = tlv.parse_single(command.data, 0x54)
            except MalformedDataError:
                return _sw(SW_WRONG_DATA)
            if not 1 <= len(offset_do.value) <= 3:
                return _sw(SW_WRONG_DATA)
            offset = int.from_bytes(offset_do.value, "big")
        elif command.p1 & 0x80:
            # Short EF identifier in P1 b5-b1 (ISO/IEC 7816-4 READ BINARY): select
            # and read in one go; DG n has SFI n.
            if command.p1 & 0x60:
                return _sw(SW_WRONG_P1P2)
            fid = 0x0100 | (command.p1 & 0x1F)
            status = self._access(fid, protected)
            if status != SW_OK:
                return _sw(status)
            self._current_ef = fid
            offset = command.p2
        else:
            offset = (command.p1 << 8) | command.p2
        if self._current_ef is None:
            return _sw(SW_NO_CURRENT_EF)
        if self._current_ef not in (FID_EF_CARD_ACCESS, FID_EF_ATR_INFO) and (not protected or self._sm is None):
            return _sw(SW_SECURITY_STATUS)
        content = self._file_content(self._current_ef)
        if offset >= len(content):
            return _sw(SW_OFFSET_OUTSIDE_EF)
        available = len(content) - offset

        if command.ins == INS_READ_BINARY_ODD:
            # The answer is DO'53' and Ne counts its header too.
            count = min(available, command.ne)
            while count and len(tlv.encode(0x53, bytes(count))) > command.ne:
                count -= 1
            body = tlv.encode(0x53, content[offset : offset + count])
            short = count == available and len(body) < command.ne
            return ResponseApdu(body, SW_END_OF_FILE if short else SW_OK)

        if command.ne <= available:
            self.read_log.append((self._current_ef, offset, command.ne))
            return ResponseApdu(content[offset : offset + command.ne], SW_OK)
        if self.end_of_file is EndOfFile.WRONG_LE and available < SHORT_MAX_NE:
            return _sw(0x6C00 | available)
        self.read_log.append((self._current_ef, offset, available))
        return ResponseApdu(content[offset:], SW_END_OF_FILE)


# -- building the files (personalisation) ------------------------------------------


def _chip_keys(seed: str, active_authentication: str | None) -> dict[str, object]:
    """The chip's own key pairs (TEST keys, derived from the holder's ID).

    Chip Authentication: ECDH on brainpoolP256r1, like the CCCD (DOMAIN.md
    §1). Active Authentication: ECDSA P-256, or RSA-1024 with ISO/IEC 9796-2.
    """
    from cryptography.hazmat.primitives.asymmetric import ec as _ec

    from drivers.card.sample_pki import derived_ec_key, derived_rsa_key

    keys: dict[str, object] = {"ca": derived_ec_key(b"CA " + seed.encode(), _ec.BrainpoolP256R1())}
    if active_authentication == "rsa":
        keys["aa"] = derived_rsa_key(b"AA " + seed.encode())
    elif active_authentication:
        keys["aa"] = derived_ec_key(b"AA " + seed.encode(), _ec.SECP256R1())
    return keys


def _spki(public_key: object) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def build_dg14(ca_public_key: object, *, key_id: int | None = None, with_aa: bool = True) -> bytes:
    """DG14 SecurityInfos (ICAO 9303-11 §9.2.5/§9.2.6/§9.2.8).

    ChipAuthenticationInfo (id-CA-ECDH-AES-CBC-CMAC-128, version 1), the
    ChipAuthenticationPublicKeyInfo, and for ECDSA Active Authentication an
    ActiveAuthenticationInfo naming ecdsa-with-SHA256.
    """
    ca_info = tlv.encode(0x06, ID_CA_ECDH + b"\x02") + tlv.encode(0x02, b"\x01")
    pk_info = tlv.encode(0x06, ID_PK_ECDH) + _spki(ca_public_key)
    if key_id is not None:
        ca_info += tlv.encode(0x02, bytes([key_id]))
        pk_info += tlv.encode(0x02, bytes([key_id]))
    infos = tlv.encode(0x30, ca_info) + tlv.encode(0x30, pk_info)
    if with_aa:
        aa = tlv.encode(0x06, ID_AA) + tlv.encode(0x02, b"\x01") + tlv.encode(0x06, bytes.fromhex("2A8648CE3D040302"))
        infos += tlv.encode(0x30, aa)
    return tlv.encode(TAG_DG14, tlv.encode(0x31, infos))


def build_dg15(aa_public_key: object) -> bytes:
    """DG15: the Active Authentication public key (ICAO 9303-10)."""
    return tlv.encode(TAG_DG15, _spki(aa_public_key))



def tamper(content: bytes) -> bytes:
    """Change one letter of a data group so it still parses (a forger's edit).

    The last ASCII upper-case letter becomes another one: in DG1 that is in
    the name line (no check digit covers it on TD1), in DG13 inside a name
    or place, in DG2 somewhere in the ISO 19794-5 record or image.
    """
    data = bytearray(content)
    for i in range(len(data) - 1, -1, -1):
        if 0x41 <= data[i] <= 0x5A:
            data[i] = 0x41 + (data[i] - 0x41 + 1) % 26
            return bytes(data)
    data[-1] ^= 0x01
    return bytes(data)



def build_ef_com(dg_tags: Iterable[int], lds_version: str = "0107", unicode_version: str = "040000") -> bytes:
    """EF.COM (ICAO 9303-10): LDS 1.7, Unicode 4.0.0, tag list."""
    return tlv.encode(
        TAG_EF_COM,
        tlv.encode(TAG_LDS_VERSION, lds_version.encode("ascii"))
        + tlv.encode(TAG_UNICODE_VERSION, unicode_version.encode("ascii"))
        + tlv.encode(TAG_TAG_LIST, bytes(dg_tags)),
    )


def build_dg1(mrz: str) -> bytes:
    return tlv.encode(TAG_DG1, tlv.encode(TAG_MRZ, mrz.encode("ascii")))


def td1_for_citizen(citizen: Mapping[str, object]) -> str:
    """The TD1 MRZ a CCCD carries for this citizen.

    Document code "ID", state VNM, document number = last 9 digits of the
    ID, optional data starting with the full 12-digit ID (DOMAIN.md §1).
    A card that never expires gets "<<<<<<" as its expiry: how real CCCDs
    encode "no expiry" is an *open question* (DOMAIN.md); other TD1 cards
    without expiry do it this way.
    """
    id12 = str(citizen["id_number"])
    dob = date.fromisoformat(str(citizen["date_of_birth"]))
    expiry_text = citizen.get("date_of_expiry")
    expiry = date.fromisoformat(str(expiry_text)) if expiry_text else None
    name_words = str(citizen["full_name"]).split()
    sex_code = {"nam": "M", "nữ": "F"}.get(str(citizen.get("sex", "")).strip().casefold(), "<")
    return compose_td1(
        document_code="ID",
        issuing_state="VNM",
        document_number=cccd.document_number(id12),
        optional_data=id12,
        date_of_birth=format_mrz_date(dob),
        sex_code=sex_code,
        date_of_expiry=format_mrz_date(expiry),
        nationality="VNM",
        optional_data_2="",
        primary_identifier=name_words[0] if name_words else "",
        secondary_identifier=" ".join(name_words[1:]),
    )


def _vn_date(iso: object) -> str:
    return date.fromisoformat(str(iso)).strftime("%d/%m/%Y")


NO_EXPIRY_TEXT = "Không thời hạn"


def dg13_fields_for_citizen(citizen: Mapping[str, object], omit: Iterable[int] = ()) -> dict[int, object]:
    """Field number -> value, as build_dg13 takes them.

    Strings become UTF8String, except the fields that are PrintableString on
    cards (ID, dates, old ID). Field 13 is a (father, mother) pair, field 14
    the spouse or None (an empty entry).
    """
    fields: dict[int, object] = {
        1: ("printable", citizen["id_number"]),
        2: citizen["full_name"],
        3: ("printable", _vn_date(citizen["date_of_birth"])),
        4: citizen["sex"],
        5: citizen.get("nationality"),
        6: citizen.get("ethnicity"),
        7: citizen.get("religion"),
        8: citizen.get("place_of_origin"),
        9: citizen.get("place_of_residence"),
        10: citizen.get("identifying_marks"),
        11: ("printable", _vn_date(citizen["date_of_issue"])) if citizen.get("date_of_issue") else None,
        12: _vn_date(citizen["date_of_expiry"]) if citizen.get("date_of_expiry") else NO_EXPIRY_TEXT,
        13: (citizen.get("father_name"), citizen.get("mother_name")),
        14: citizen.get("spouse_name"),
    }
    if citizen.get("old_id_number"):
        fields[15] = ("printable", citizen["old_id_number"])
    for number in omit:
        fields.pop(number, None)
    return {n: v for n, v in fields.items() if v is not None or n == 14}


def _string(value: object) -> bytes:
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "printable":
        return tlv.encode(0x13, str(value[1]).encode("ascii"))
    return tlv.encode(0x0C, str(value).encode("utf-8"))


def build_dg13(fields: Mapping[int, object], *, parents_shape: ParentsShape = ParentsShape.TWO_SEQUENCES) -> bytes:
    """DG13 in the CCCD layout (DOMAIN.md "DG13 layout"), entries by number."""
    entries = b""
    for number in sorted(fields):
        value = fields[number]
        content = tlv.encode(0x02, bytes([number]))
        if number == 13:
            father, mother = value  # type: ignore[misc]
            names = [tlv.encode(0x0C, str(n or "").encode("utf-8")) for n in (father, mother)]
            if parents_shape is ParentsShape.TWO_SEQUENCES:
                content += b"".join(tlv.encode(0x30, n) for n in names)
            else:
                content += tlv.encode(0x30, b"".join(names))
        elif number == 14:
            if value:  # none: the entry is just its number, 30 03 02 01 0E
                content += tlv.encode(0x30, _string(value))
        else:
            content += _string(value)
        entries += tlv.encode(0x30, content)
    body = tlv.encode(0x02, b"\x01") + DG13_PLACEHOLDER_OID + tlv.encode(0x31, entries)
    return tlv.encode(TAG_DG13, tlv.encode(0x30, body))


def build_facial_record(image: bytes, *, jpeg2000: bool, width: int, height: int, sex: str = "") -> bytes:
    """An ISO/IEC 19794-5:2005 record holding one full-frontal image."""
    gender = {"nam": 1, "nữ": 2}.get(sex.strip().casefold(), 0)
    facial_information = (
        (20 + 12 + len(image)).to_bytes(4, "big")  # facial record data length
        + (0).to_bytes(2, "big")  # feature points
        + bytes([gender, 0, 0])  # gender, eye colour, hair colour
        + bytes(3)  # property mask
        + (1).to_bytes(2, "big")  # expression: neutral
        + bytes(3)  # pose angles (yaw, pitch, roll)
        + bytes(3)  # pose angle uncertainty
    )
    image_information = (
        bytes([1])  # face image type: full frontal
        + bytes([1 if jpeg2000 else 0])  # image data type
        + width.to_bytes(2, "big")
        + height.to_bytes(2, "big")
        + bytes([1])  # colour space: 24-bit RGB
        + bytes([2])  # source type: digital still camera
        + bytes(2)  # device type
        + bytes(2)  # quality
    )
    facial = facial_information + image_information + image
    return b"FAC\x00" + b"010\x00" + (14 + len(facial)).to_bytes(4, "big") + (1).to_bytes(2, "big") + facial


def build_dg2(image: bytes, *, sex: str = "", jpeg2000: bool | None = None) -> bytes:
    """DG2 (ICAO 9303-10) around one face image (JPEG or JPEG 2000)."""
    from PIL import Image  # personalisation reads the image size

    with Image.open(io.BytesIO(image)) as img:
        width, height = img.size
        is_jp2 = img.format == "JPEG2000"
    if jpeg2000 is None:
        jpeg2000 = is_jp2
    record = build_facial_record(image, jpeg2000=jpeg2000, width=width, height=height, sex=sex)
    header = tlv.encode(
        0xA1,
        tlv.encode(0x80, b"\x01\x01")  # ICAO header version 1.1
        + tlv.encode(0x81, b"\x02")  # biometric type: facial features
        + tlv.encode(0x87, b"\x01\x01")  # format owner: ISO/IEC JTC 1/SC 37
        + tlv.encode(0x88, b"\x00\x08"),  # format type: face image
    )
    template = tlv.encode(0x7F60, header + tlv.encode(0x5F2E, record))
    group = tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + template)
    return tlv.encode(TAG_DG2, group)

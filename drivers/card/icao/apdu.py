"""Command and response APDUs, and the one place status words become errors.

Encoding follows ISO/IEC 7816-4 §5.1 (cases 1-4, short and extended
length); ICAO 9303-11 relies on it for every command. Mapping status words
to `kiosk.errors` types happens only in `raise_for_status` (the pyscard
ErrorCheckingChain idea): protocol code above never compares SW values to
decide which exception to raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import (
    FileNotFoundOnCard,
    MalformedDataError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    StatusWordError,
)

# -- status words (ISO/IEC 7816-4, status bytes) ----------------------------------
SW_OK = 0x9000
SW_END_OF_FILE = 0x6282  # fewer bytes than Ne: end of file reached
SW_VERIFICATION_FAILED = 0x6300  # e.g. EXTERNAL AUTHENTICATE with a wrong key
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_STATUS = 0x6982  # access conditions not met
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_SM_DATA_OBJECTS_MISSING = 0x6987
SW_SM_DATA_OBJECTS_INCORRECT = 0x6988
SW_WRONG_DATA = 0x6A80
SW_FILE_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_OFFSET_OUTSIDE_EF = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW1_WRONG_LE = 0x6C  # 6Cxx: wrong Le, xx is the exact length
SW1_MORE_DATA = 0x61  # 61xx: xx more bytes, fetch with GET RESPONSE (T=0)

SECURE_MESSAGING_SWS = frozenset({SW_SM_DATA_OBJECTS_MISSING, SW_SM_DATA_OBJECTS_INCORRECT})

# -- instruction bytes used by ICAO 9303 ---------------------------------------
INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_READ_BINARY_ODD = 0xB1  # offset in DO'54', for offsets above 32767
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_GET_RESPONSE = 0xC0
INS_MSE = 0x22  # MANAGE SECURITY ENVIRONMENT (PACE, Chip Authentication)
INS_GENERAL_AUTHENTICATE = 0x86  # PACE, Chip Authentication

_INS_NAMES = {
    INS_SELECT: "SELECT",
    INS_READ_BINARY: "READ BINARY",
    INS_READ_BINARY_ODD: "READ BINARY",
    INS_GET_CHALLENGE: "GET CHALLENGE",
    INS_EXTERNAL_AUTHENTICATE: "EXTERNAL AUTHENTICATE",
    INS_GET_RESPONSE: "GET RESPONSE",
    INS_MSE: "MANAGE SECURITY ENVIRONMENT",
    INS_GENERAL_AUTHENTICATE: "GENERAL AUTHENTICATE",
}

SHORT_MAX_NC = 255
SHORT_MAX_NE = 256
EXTENDED_MAX_NC = 65535
EXTENDED_MAX_NE = 65536


def command_name(ins: int) -> str:
    return _INS_NAMES.get(ins, f"INS {ins:02X}")


@dataclass(frozen=True)
class CommandApdu:
    """A command APDU. `ne` is the expected response length (None: no Le)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    ne: int | None = None
    force_extended: bool = False

    def __post_init__(self) -> None:
        for name in ("cla", "ins", "p1", "p2"):
            value = getattr(self, name)
            if not 0 <= value <= 0xFF:
                raise ValueError(f"{name} must be one byte, got {value}")
        if len(self.data) > EXTENDED_MAX_NC:
            raise ValueError(f"command data of {len(self.data)} bytes does not fit an APDU")
        if self.ne is not None and not 1 <= self.ne <= EXTENDED_MAX_NE:
            raise ValueError(f"Ne must be 1..65536, got {self.ne}")

    def __repr__(self) -> str:  # data may be key material or personal data
        return (
            f"CommandApdu({self.name}, {self.cla:02X} {self.ins:02X} {self.p1:02X} {self.p2:02X},"
            f" nc={len(self.data)}, ne={self.ne})"
        )

    @property
    def name(self) -> str:
        return command_name(self.ins)

    @property
    def header(self) -> bytes:
        return bytes([self.cla, self.ins, self.p1, self.p2])

    @property
    def extended(self) -> bool:
        return (
            self.force_extended
            or len(self.data) > SHORT_MAX_NC
            or (self.ne is not None and self.ne > SHORT_MAX_NE)
        )

    def to_bytes(self) -> bytes:
        """ISO/IEC 7816-4 §5.1: Lc and Le in short or extended form."""
        out = bytearray(self.header)
        nc = len(self.data)
        if not nc and self.ne is None:
            return bytes(out)  # case 1: no body, short or extended alike
        if not self.extended:
            if nc:
                out.append(nc)
                out += self.data
            if self.ne is not None:
                out.append(self.ne & 0xFF)  # 256 -> '00'
            return bytes(out)
        # Extended: a '00' byte, then two-byte Lc and/or Le. With a body, Le
        # has no leading '00' of its own.
        out.append(0x00)
        if nc:
            out += nc.to_bytes(2, "big")
            out += self.data
        if self.ne is not None:
            out += (self.ne & 0xFFFF).to_bytes(2, "big")  # 65536 -> '0000'
        return bytes(out)

    @classmethod
    def parse(cls, raw: bytes) -> CommandApdu:
        """Decode a command APDU (the card side of ISO/IEC 7816-4 §5.1)."""
        n = len(raw)
        if n < 4:
            raise MalformedDataError(f"APDU of {n} bytes is shorter than a header")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:  # case 1
            return cls(cla, ins, p1, p2)
        b4 = raw[4]
        if n == 5:  # case 2 short
            return cls(cla, ins, p1, p2, ne=b4 or SHORT_MAX_NE)
        if b4 != 0:  # case 3 or 4 short
            if n == 5 + b4:
                return cls(cla, ins, p1, p2, data=bytes(raw[5:]))
            if n == 6 + b4:
                return cls(cla, ins, p1, p2, data=bytes(raw[5:-1]), ne=raw[-1] or SHORT_MAX_NE)
            raise MalformedDataError(f"APDU: Lc={b4} does not match {n} bytes")
        # b4 == 0 and more bytes follow: extended length.
        if n == 7:  # case 2 extended
            le = int.from_bytes(raw[5:7], "big")
            return cls(cla, ins, p1, p2, ne=le or EXTENDED_MAX_NE, force_extended=True)
        if n < 7:
            raise MalformedDataError(f"APDU: {n} bytes is not a valid extended APDU")
        lc = int.from_bytes(raw[5:7], "big")
        if lc == 0:
            raise MalformedDataError("APDU: extended Lc of zero")
        if n == 7 + lc:
            return cls(cla, ins, p1, p2, data=bytes(raw[7:]), force_extended=True)
        if n == 9 + lc:
            le = int.from_bytes(raw[-2:], "big")
            return cls(
                cla, ins, p1, p2, data=bytes(raw[7:-2]), ne=le or EXTENDED_MAX_NE, force_extended=True
            )
        raise MalformedDataError(f"APDU: extended Lc={lc} does not match {n} bytes")


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes
    sw: int

    def __repr__(self) -> str:
        return f"ResponseApdu(sw={self.sw:04X}, length={len(self.data)})"

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def parse(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise MalformedDataError(f"response of {len(raw)} bytes has no status word")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))


def error_for_status(sw: int, command: str = "") -> Exception:
    """The typed error for a status word other than 9000."""
    if sw == SW_FILE_NOT_FOUND:
        return FileNotFoundOnCard(sw, command)
    if sw == SW_SECURITY_STATUS:
        return SecurityStatusNotSatisfied(sw, command)
    if sw in SECURE_MESSAGING_SWS:
        # ISO/IEC 7816-4 status bytes: expected SM data objects missing (6987) or
        # incorrect (6988). Per ICAO 9303-11 §9.8 the chip has then ended the
        # session; the caller must authenticate again.
        err = SecureMessagingError(f"{command} answered {sw:04X}" if command else f"card answered {sw:04X}")
        err.sw = sw  # type: ignore[attr-defined]
        return err
    return StatusWordError(sw, command)


def raise_for_status(response: ResponseApdu, command: str = "", allowed: tuple[int, ...] = (SW_OK,)) -> None:
    if response.sw not in allowed:
        raise error_for_status(response.sw, command)

"""Secure messaging, terminal side (ICAO 9303-11 §9.8).

After BAC or PACE every command and response is protected:

- command: CLA with SM bits (§9.8.4: '0C'), the header padded and covered
  by the MAC, data encrypted in DO'87' (DO'85' for odd INS), Le in DO'97',
  the MAC in DO'8E';
- response: data in DO'87', status word in DO'99', MAC in DO'8E' over the
  send sequence counter and every object before it.

The send sequence counter (SSC) is incremented before each command and
before each response is checked (§9.8.6.3 / §9.8.7.3). This module counts
the SSC for unprotected error responses too, on the view that a chip which
answers an error without secure messaging has still advanced its own
counter. The chip simulator does so and open-source readers (e.g.
NFCPassportReader) count the same way; no CCCD trace has confirmed it yet,
and a wrong guess would only show after a file error, as a MAC failure that
the session layer answers by authenticating again.

The cipher is pluggable: 3DES for BAC (§9.8.6), AES for PACE (§9.8.7).
"""

from __future__ import annotations

import hmac
from typing import Protocol

from kiosk.errors import MalformedDataError, SecureMessagingError

from . import crypto, tlv
from .apdu import (
    EXTENDED_MAX_NE,
    SECURE_MESSAGING_SWS,
    SHORT_MAX_NE,
    SW_OK,
    CommandApdu,
    ResponseApdu,
)

SM_CLA_BITS = 0x0C  # ISO/IEC 7816-4 §5.4.1: SM, command header authenticated
MAC_LENGTH = 8

DO_ENCRYPTED_ODD = 0x85  # odd INS: BER-TLV data, encrypted without padding indicator
DO_ENCRYPTED = 0x87  # even INS: padding-content indicator '01' + cryptogram
DO_LE = 0x97
DO_STATUS = 0x99
DO_MAC = 0x8E
PADDING_INDICATOR = 0x01

# Largest plain READ BINARY answer whose protected form still fits a short
# response (256 data bytes): DO'87' with padding + DO'99' + DO'8E'.
# DOMAIN.md "Reading quirks"; JMRTD reads 223 bytes (0xDF) for this reason.
MAX_SHORT_READ_3DES = 0xE7
MAX_SHORT_READ_AES = 0xDF


class SmCipher(Protocol):
    """Encryption and MAC of one SM flavour."""

    block_size: int
    max_short_read: int

    def encrypt(self, data: bytes, ssc: bytes) -> bytes: ...

    def decrypt(self, data: bytes, ssc: bytes) -> bytes: ...

    def mac(self, padded: bytes) -> bytes: ...


class TripleDesSm:
    """ICAO 9303-11 §9.8.6: 3DES-CBC with a zero IV, retail MAC, 8-byte SSC."""

    block_size = crypto.DES_BLOCK
    max_short_read = MAX_SHORT_READ_3DES

    def __init__(self, ks_enc: bytes, ks_mac: bytes) -> None:
        if len(ks_enc) != 16 or len(ks_mac) != 16:
            raise ValueError("3DES SM keys are 16 bytes")
        self._ks_enc = bytes(ks_enc)
        self._ks_mac = bytes(ks_mac)

    def __repr__(self) -> str:
        return "TripleDesSm(<keys>)"

    def encrypt(self, data: bytes, ssc: bytes) -> bytes:
        return crypto.tdes_encrypt(self._ks_enc, data)

    def decrypt(self, data: bytes, ssc: bytes) -> bytes:
        return crypto.tdes_decrypt(self._ks_enc, data)

    def mac(self, padded: bytes) -> bytes:
        return crypto.retail_mac(self._ks_mac, padded)


class AesSm:
    """ICAO 9303-11 §9.8.7: AES-CBC with IV = E(KSenc, SSC), CMAC/8, 16-byte SSC."""

    block_size = crypto.AES_BLOCK
    max_short_read = MAX_SHORT_READ_AES

    def __init__(self, ks_enc: bytes, ks_mac: bytes) -> None:
        if len(ks_enc) not in (16, 24, 32) or len(ks_mac) != len(ks_enc):
            raise ValueError("AES SM keys are 16, 24 or 32 bytes, both the same size")
        self._ks_enc = bytes(ks_enc)
        self._ks_mac = bytes(ks_mac)

    def __repr__(self) -> str:
        return "AesSm(<keys>)"

    def _iv(self, ssc: bytes) -> bytes:
        return crypto.aes_encrypt_block(self._ks_enc, ssc)

    def encrypt(self, data: bytes, ssc: bytes) -> bytes:
        return crypto.aes_encrypt(self._ks_enc, data, self._iv(ssc))

    def decrypt(self, data: bytes, ssc: bytes) -> bytes:
        return crypto.aes_decrypt(self._ks_enc, data, self._iv(ssc))

    def mac(self, padded: bytes) -> bytes:
        return crypto.aes_cmac(self._ks_mac, padded)[:MAC_LENGTH]


def encode_le(ne: int, extended: bool) -> bytes:
    """The value of DO'97': Le as the unprotected command would carry it."""
    if not extended:
        return bytes([ne & 0xFF])  # 256 -> '00'
    return (ne & 0xFFFF).to_bytes(2, "big")  # 65536 -> '0000'


class SecureMessaging:
    """One secure messaging session: keys, cipher and the SSC."""

    def __init__(self, cipher: SmCipher, ssc: int) -> None:
        self.cipher = cipher
        self._ssc = ssc
        self._modulus = 1 << (8 * cipher.block_size)

    def __repr__(self) -> str:
        return f"SecureMessaging({type(self.cipher).__name__})"

    @property
    def ssc(self) -> bytes:
        """The current SSC as the MAC input carries it (block-sized)."""
        return self._ssc.to_bytes(self.cipher.block_size, "big")

    def _increment(self) -> bytes:
        self._ssc = (self._ssc + 1) % self._modulus
        return self.ssc

    @property
    def max_short_read(self) -> int:
        return self.cipher.max_short_read

    def _pad(self, data: bytes) -> bytes:
        return crypto.pad(data, self.cipher.block_size)

    def protect(self, command: CommandApdu) -> CommandApdu:
        """Wrap a plain command (ICAO 9303-11 §9.8.4, Appendix D.4)."""
        if command.cla & SM_CLA_BITS:
            raise ValueError("command is already protected")
        ssc = self._increment()
        cla = command.cla | SM_CLA_BITS
        header = bytes([cla, command.ins, command.p1, command.p2])

        body = b""
        if command.data:
            if command.ins & 1:
                # Odd INS: the data field is BER-TLV, so no padding indicator.
                body += tlv.encode(DO_ENCRYPTED_ODD, self.cipher.encrypt(self._pad(command.data), ssc))
            else:
                cryptogram = self.cipher.encrypt(self._pad(command.data), ssc)
                body += tlv.encode(DO_ENCRYPTED, bytes([PADDING_INDICATOR]) + cryptogram)
        if command.ne is not None:
            body += tlv.encode(DO_LE, encode_le(command.ne, command.extended))

        mac = self.cipher.mac(self._pad(ssc + self._pad(header) + body))
        body += tlv.encode(DO_MAC, mac)

        # The protected command always expects a response (DO'99' + DO'8E'
        # at least), so Le' is '00' ('0000' if anything needs extended length).
        extended = command.extended or len(body) > 255
        return CommandApdu(
            cla,
            command.ins,
            command.p1,
            command.p2,
            data=body,
            ne=EXTENDED_MAX_NE if extended else SHORT_MAX_NE,
            force_extended=extended,
        )

    def unprotect(self, raw: bytes) -> ResponseApdu:
        """Check and decrypt a response (ICAO 9303-11 §9.8, Appendix D.4).

        Raises SecureMessagingError when the MAC is wrong or missing, when
        the chip reports an SM error (6987/6988), or the objects are
        malformed. An unprotected error status word is returned as is for
        the caller to map; an unprotected success is never accepted, since
        anyone could forge it.
        """
        response = ResponseApdu.parse(raw)
        ssc = self._increment()
        if response.sw in SECURE_MESSAGING_SWS:
            err = SecureMessagingError(f"chip reported a secure messaging error {response.sw:04X}")
            err.sw = response.sw  # type: ignore[attr-defined]
            raise err
        if not response.data:
            if response.sw == SW_OK or response.sw >> 8 in (0x62, 0x63):
                raise SecureMessagingError(f"unprotected {response.sw:04X} response under secure messaging")
            return response

        try:
            objects = tlv.parse_all(response.data)
        except MalformedDataError as exc:
            raise SecureMessagingError(f"response data objects do not parse: {exc}") from None

        covered = b""
        cryptogram: bytes | None = None
        status: int | None = None
        mac: bytes | None = None
        for obj in objects:
            if mac is not None:
                raise SecureMessagingError(f"data object {obj.tag:X} after the MAC")
            if obj.tag == DO_MAC:
                mac = obj.value
                continue
            covered += obj.encode()
            if obj.tag == DO_ENCRYPTED:
                if not obj.value or obj.value[0] != PADDING_INDICATOR:
                    raise SecureMessagingError("DO'87' without padding-content indicator '01'")
                cryptogram = obj.value[1:]
            elif obj.tag == DO_ENCRYPTED_ODD:
                cryptogram = obj.value  # odd INS: same padding, no indicator byte
            elif obj.tag == DO_STATUS:
                if len(obj.value) != 2:
                    raise SecureMessagingError("DO'99' must hold two status bytes")
                status = int.from_bytes(obj.value, "big")
            else:
                raise SecureMessagingError(f"unexpected data object {obj.tag:X} in protected response")

        if mac is None:
            raise SecureMessagingError("protected response without DO'8E' (MAC)")
        expected = self.cipher.mac(self._pad(ssc + covered))
        if not hmac.compare_digest(mac, expected):
            raise SecureMessagingError("response MAC does not verify")
        if status is None:
            # ICAO 9303-11 §9.8: DO'99' is mandatory in a protected response.
            raise SecureMessagingError("protected response without DO'99' (status word)")
        if status != response.sw:
            raise SecureMessagingError("status word in DO'99' differs from the response trailer")

        data = b""
        if cryptogram is not None:
            if not cryptogram or len(cryptogram) % self.cipher.block_size:
                raise SecureMessagingError("encrypted data is not whole cipher blocks")
            plain = self.cipher.decrypt(cryptogram, ssc)
            try:
                data = crypto.unpad(plain)
            except ValueError:
                raise SecureMessagingError("decrypted data has no valid padding") from None
        return ResponseApdu(data, status)


"""Symmetric cryptography of ICAO 9303-11, on the `cryptography` package.

- Key derivation function: ICAO 9303-11 §9.7.1.
- 3DES secure messaging: two-key 3DES in CBC mode with a zero IV
  (§9.8.6.1), MAC = ISO/IEC 9797-1 MAC algorithm 3 with DES ("retail MAC")
  over data padded with ISO/IEC 9797-1 padding method 2 (§9.8.6.2).
- AES secure messaging: AES-CBC with IV = E(KSenc, SSC) (§9.8.7.1), MAC =
  AES-CMAC truncated to 8 bytes (§9.8.7.2). BAC only uses 3DES; AES is here
  for PACE and Chip Authentication, which negotiate AES on CCCD cards.

Nothing in this module keeps state or logs: keys never leave the caller.
"""

from __future__ import annotations

import enum
import hashlib

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

# ICAO 9303-11 §9.7.1: the 32-bit counter c selects what the key is for.
KDF_ENC = 1
KDF_MAC = 2
KDF_PACE_PASSWORD = 3  # Kπ, PACE (§4.4)

DES_BLOCK = 8
AES_BLOCK = 16
ZERO_IV_8 = bytes(DES_BLOCK)


class KeyAlgorithm(enum.Enum):
    """Cipher a derived key is for (ICAO 9303-11 §9.7.1)."""

    TDES = "3DES"
    AES128 = "AES-128"
    AES192 = "AES-192"
    AES256 = "AES-256"


def kdf(shared_secret: bytes, counter: int, algorithm: KeyAlgorithm) -> bytes:
    """ICAO 9303-11 §9.7.1: KDF(K, c) = H(K || c) cut to the key length.

    3DES and AES-128 use SHA-1 (16 bytes; for 3DES the two halves are keys
    Ka and Kb with DES parity adjusted); AES-192/256 use SHA-256.
    """
    data = bytes(shared_secret) + counter.to_bytes(4, "big")
    if algorithm is KeyAlgorithm.TDES:
        return adjust_des_parity(hashlib.sha1(data).digest()[:16])
    if algorithm is KeyAlgorithm.AES128:
        return hashlib.sha1(data).digest()[:16]
    if algorithm is KeyAlgorithm.AES192:
        return hashlib.sha256(data).digest()[:24]
    return hashlib.sha256(data).digest()


def adjust_des_parity(key: bytes) -> bytes:
    """Set the least significant bit of each byte for odd parity (FIPS 46-3)."""
    out = bytearray()
    for b in key:
        high = b & 0xFE
        out.append(high | ((bin(high).count("1") + 1) % 2))
    return bytes(out)


# -- padding: ISO/IEC 9797-1 padding method 2 (ICAO 9303-11 §9.8) -------------


def pad(data: bytes, block: int) -> bytes:
    """Append '80' then '00' bytes up to a multiple of `block` (always pads)."""
    padded = bytes(data) + b"\x80"
    return padded + bytes(-len(padded) % block)


def unpad(data: bytes) -> bytes:
    """Remove ISO/IEC 9797-1 method 2 padding; ValueError when absent."""
    stripped = bytes(data).rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise ValueError("no ISO/IEC 9797-1 method 2 padding")
    return stripped[:-1]


# -- 3DES ----------------------------------------------------------------------


def _tdes_key(key16: bytes) -> bytes:
    # Two-key 3DES (Ka, Kb, Ka) spelled out as a 24-byte key: `cryptography`
    # deprecates the short forms.
    if len(key16) != 16:
        raise ValueError("two-key 3DES needs a 16-byte key")
    return key16 + key16[:8]


def _des_key(key8: bytes) -> bytes:
    # Single DES as 3DES with K1 = K2 = K3 (EDE collapses to one DES).
    return key8 * 3


def tdes_encrypt(key16: bytes, data: bytes, iv: bytes = ZERO_IV_8) -> bytes:
    """3DES-CBC encryption of block-aligned data (ICAO 9303-11 §9.8.6.1)."""
    enc = Cipher(TripleDES(_tdes_key(key16)), modes.CBC(iv)).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def tdes_decrypt(key16: bytes, data: bytes, iv: bytes = ZERO_IV_8) -> bytes:
    dec = Cipher(TripleDES(_tdes_key(key16)), modes.CBC(iv)).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


def retail_mac(key16: bytes, padded: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES, output 8 bytes.

    `padded` must already carry padding method 2: ICAO 9303-11 pads the MAC
    input explicitly (§9.8.6.2; Appendix D shows the padded N). CBC-DES with
    Ka over every block, then the output transformation: decrypt with Kb,
    encrypt with Ka.
    """
    if len(padded) % DES_BLOCK or not padded:
        raise ValueError("MAC input must be whole 8-byte blocks")
    ka, kb = key16[:8], key16[8:16]
    cbc = Cipher(TripleDES(_des_key(ka)), modes.CBC(ZERO_IV_8)).encryptor()
    chained = cbc.update(bytes(padded)) + cbc.finalize()
    last = chained[-DES_BLOCK:]
    dec_kb = Cipher(TripleDES(_des_key(kb)), modes.ECB()).decryptor()
    step = dec_kb.update(last) + dec_kb.finalize()
    enc_ka = Cipher(TripleDES(_des_key(ka)), modes.ECB()).encryptor()
    return enc_ka.update(step) + enc_ka.finalize()


# -- AES -----------------------------------------------------------------------


def aes_encrypt_block(key: bytes, block: bytes) -> bytes:
    """One AES block in ECB mode (the SM IV is E(KSenc, SSC), §9.8.7.1)."""
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(bytes(block)) + enc.finalize()


def aes_encrypt(key: bytes, data: bytes, iv: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return enc.update(bytes(data)) + enc.finalize()


def aes_decrypt(key: bytes, data: bytes, iv: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return dec.update(bytes(data)) + dec.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B), full 16 bytes; SM and PACE use the first 8."""
    mac = CMAC(algorithms.AES(key))
    mac.update(bytes(data))
    return mac.finalize()

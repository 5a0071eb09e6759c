"""Sealing personal payloads at rest: AES-256-GCM.

A sealed payload is `version (1 byte) || nonce (12 bytes) || ciphertext+tag`.

* The nonce is 96 random bits, the size GCM is specified for (NIST SP
  800-38D §8.2.2 allows random nonces up to 2^32 messages per key; a kiosk
  writes a few thousand rows a month).
* The associated data binds a payload to its row (the registration key), so
  a payload copied onto another row, or rows swapped by someone editing the
  file, fail authentication instead of sending patient A's data under
  patient B's registration.
* The version byte is authenticated too, which leaves room for another
  format later without guessing.

Any failure to open (tampering, truncation, the wrong key) is a
`StorageError`: the application treats it like unreadable storage.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import StorageError

NONCE_BYTES = 12
TAG_BYTES = 16
_VERSION_1 = b"\x01"
_HEADER_BYTES = len(_VERSION_1) + NONCE_BYTES


class UnreadablePayload(StorageError):
    """A stored payload cannot be opened: it will not get better by retrying.

    Kept apart from other `StorageError`s (disk full, I/O) so the sync worker
    can set such a row aside for a technician instead of retrying it.
    """

    code = "storage_unreadable_payload"


class PayloadCipher:
    """Seals and opens byte strings with one 256-bit data key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError(f"the data key must be 32 bytes (AES-256), got {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never show key material
        return "PayloadCipher(<key>)"

    def seal(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return _VERSION_1 + nonce + self._aead.encrypt(nonce, plaintext, _VERSION_1 + associated_data)

    def open(self, sealed: bytes, associated_data: bytes) -> bytes:
        if len(sealed) < _HEADER_BYTES + TAG_BYTES:
            raise UnreadablePayload("a stored payload is truncated")
        version = sealed[:1]
        if version != _VERSION_1:
            raise UnreadablePayload(f"a stored payload has an unknown format (version byte {version.hex()})")
        nonce = sealed[1:_HEADER_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[_HEADER_BYTES:], version + associated_data)
        except InvalidTag:
            # Deliberately vague: tampering, a row moved to another key and a
            # wrong data key all look the same from here.
            raise UnreadablePayload(
                "a stored payload failed its integrity check (modified, moved, or sealed with another key)"
            ) from None

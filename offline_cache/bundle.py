"""Carrying registrations by hand: the encrypted bundle file of field-staff mode.

A field team registers people on a laptop with no network all day. At the
end of the day `kiosk export-bundle` writes the registrations the hub does
not have yet into one file; a connected kiosk (`kiosk import-bundle`) or the
hub (`POST /api/v1/admin/bundles`) takes them in. Import is idempotent by
registration key, at both places: importing a bundle twice, or a bundle and
then the laptop's own sync, never makes a second visit.

The file (format 1):

    line 1   b"VNCHECKIN-BUNDLE 1\\n"
    line 2   header, one line of JSON: kdf parameters, salt, nonce, the
             exporting kiosk's id, created_at, record count (no personal data)
    rest     AES-256-GCM ciphertext and tag of the records JSON

The key comes from a passphrase through scrypt (RFC 7914; n=2**15, r=8, p=1
is the parameter set RFC 7914 §2 and OWASP's password storage guidance
suggest for interactive use, about 32 MiB and a tenth of a second). Lines 1
and 2 are the associated data, so changing the header (kiosk id, count,
KDF parameters) fails the tag exactly as changing the ciphertext does. A
wrong passphrase and a damaged file cannot be told apart by design.

The hub decodes the same format in `server.bundles` (the two packages do not
import each other; `tests/test_field_bundle.py` holds them together).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.domain import Registration
from kiosk.errors import StorageError
from kiosk.records import registration_from_dict, registration_to_dict
from offline_cache.store import OutboxStore

MAGIC: Final = b"VNCHECKIN-BUNDLE 1\n"
MIN_PASSPHRASE = 10  # characters; field staff type it, an attacker with the file guesses offline
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
# Refuse headers asking for more work than this: a crafted file must not
# make the importer allocate gigabytes.
_MAX_N, _MAX_R, _MAX_P = 2**20, 16, 4
_MAX_HEADER = 4096
_NONCE = 12  # bytes; AES-GCM's standard nonce (NIST SP 800-38D §8.2)


class BundleError(StorageError):
    """The bundle cannot be made or read; the reason says what to do."""

    code = "bundle_error"


@dataclass(frozen=True)
class BundleRecord:
    registration: Registration
    printed_number: str | None


@dataclass(frozen=True)
class Bundle:
    kiosk_id: str
    created_at: str
    records: tuple[BundleRecord, ...]


@dataclass(frozen=True)
class ImportResult:
    added: int  # new to this outbox
    known: int  # already there: nothing changed


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem: scrypt needs 128 * n * r bytes; OpenSSL's default cap is 32 MiB.
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)


def seal_bundle(records: list[BundleRecord], kiosk_id: str, created_at: datetime, passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BundleError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    salt, nonce = os.urandom(16), os.urandom(_NONCE)
    header = {
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "kiosk_id": kiosk_id,
        "created_at": created_at.isoformat(),
        "count": len(records),
    }
    head = MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n"
    body = json.dumps(
        {
            "records": [
                {"registration": registration_to_dict(r.registration), "printed_number": r.printed_number}
                for r in records
            ]
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    key = _key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return head + AESGCM(key).encrypt(nonce, body, head)


def open_bundle(data: bytes, passphrase: str) -> Bundle:
    """Decrypt and parse; BundleError for anything but a good bundle and the right passphrase."""
    if not data.startswith(MAGIC):
        raise BundleError("not a check-in bundle (or a format this software does not know)")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
    if end < 0:
        raise BundleError("the bundle's header is damaged")
    head = data[: end + 1]
    try:
        header = json.loads(data[len(MAGIC) : end])
        n, r, p = int(header["n"]), int(header["r"]), int(header["p"])
        salt = base64.b64decode(header["salt"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
        kiosk_id, created_at, count = str(header["kiosk_id"]), str(header["created_at"]), int(header["count"])
        if header["kdf"] != "scrypt":
            raise ValueError("kdf")
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError("the bundle's header is damaged") from exc
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P) or len(nonce) != _NONCE:
        raise BundleError("the bundle asks for key-derivation parameters outside the accepted range")
    try:
        plaintext = AESGCM(_key(passphrase, salt, n, r, p)).decrypt(nonce, data[end + 1 :], head)
    except InvalidTag:
        raise BundleError("wrong passphrase, or the bundle was changed or damaged") from None
    try:
        records = tuple(
            BundleRecord(registration_from_dict(item["registration"]), item.get("printed_number"))
            for item in json.loads(plaintext.decode("utf-8"))["records"]
        )
    except (ValueError, KeyError, TypeError) as exc:
        # Authenticated, so not tampering: written by software this one cannot read.
        raise BundleError("the bundle's records are in a format this software cannot read") from exc
    if len(records) != count:
        raise BundleError("the bundle's record count does not match its header")
    return Bundle(kiosk_id, created_at, records)


def write_file(path: Path, data: bytes) -> None:
    """Owner-only, all or nothing: temporary file, fsync, rename (atomic on POSIX)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".bundle-", dir=path.parent or Path("."))
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise BundleError(f"cannot write the bundle {path}: {exc.strerror or type(exc).__name__}") from None


def read_file(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read the bundle {path}: {exc.strerror or type(exc).__name__}") from None


def export_pending(store: OutboxStore, path: Path, passphrase: str, now: datetime) -> int:
    """Write every registration the hub does not have yet into `path`; how many.

    The outbox is not changed: the records stay pending here, and if this
    machine reaches the hub later its own sync is harmless (idempotent).
    """
    records = [BundleRecord(store.get(key), store.printed_number(key)) for key in store.undelivered_keys()]
    write_file(path, seal_bundle(records, store.kiosk_id, now, passphrase))
    return len(records)


def import_bundle(store: OutboxStore, bundle: Bundle) -> ImportResult:
    """Add the bundle's registrations to this kiosk's outbox, to be delivered by its sync."""
    added = sum(1 for record in bundle.records if store.add_relayed(record.registration, record.printed_number))
    return ImportResult(added, len(bundle.records) - added)


def bundle_summary(bundle: Bundle) -> dict[str, Any]:
    """What may be shown of a bundle: no personal data."""
    return {"kiosk_id": bundle.kiosk_id, "created_at": bundle.created_at, "records": len(bundle.records)}

"""The kiosk's copy of the hub's reference data (`kiosk.ports.ReferenceStore`).

Departments, rooms and services change rarely, and a kiosk that starts while
the hub is down must still offer them: the outbox then takes the visits and
prints offline numbers. So every fresh copy is kept in the data directory,
with the time it was fetched, and the kiosk falls back to it at start-up.

Plain JSON, not encrypted: it holds no personal data. It is written to a
temporary file, flushed to disk and renamed over the old one (rename is
atomic on POSIX), so a power cut leaves the old copy or the new one, never
half of one. A file that does not parse raises `StorageError`; the kiosk then
runs without reference data until the hub answers, and the file stays for a
technician to look at.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.domain import Department, ReferenceData, Service
from kiosk.errors import StorageError

FORMAT = 1


def reference_to_dict(reference: ReferenceData) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "fetched_at": reference.fetched_at.isoformat() if reference.fetched_at else None,
        "departments": [
            {
                "code": d.code,
                "name_vi": d.name_vi,
                "name_en": d.name_en,
                "room": d.room,
                "floor": d.floor,
                "queue_prefix": d.queue_prefix,
            }
            for d in reference.departments
        ],
        "services": [
            {
                "code": s.code,
                "department_code": s.department_code,
                "name_vi": s.name_vi,
                "name_en": s.name_en,
                "price": s.price,
                "insured_price": s.insured_price,
            }
            for s in reference.services
        ],
    }


def reference_from_dict(data: dict[str, Any]) -> ReferenceData:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown format {data.get('format')!r}")
    fetched = data.get("fetched_at")
    fetched_at = datetime.fromisoformat(fetched) if fetched else None
    if fetched_at is not None and fetched_at.tzinfo is None:
        raise ValueError("fetched_at has no UTC offset")
    return ReferenceData(
        departments=tuple(
            Department(d["code"], d["name_vi"], d["name_en"], d["room"], d["floor"], d["queue_prefix"])
            for d in data["departments"]
        ),
        services=tuple(
            Service(
                s["code"], s["department_code"], s["name_vi"], s["name_en"], int(s["price"]), int(s["insured_price"])
            )
            for s in data["services"]
        ),
        fetched_at=fetched_at,
    )


class ReferenceCache:
    """One JSON file in the kiosk's data directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"ReferenceCache({str(self.path)!r})"

    def save(self, reference: ReferenceData) -> None:
        text = json.dumps(reference_to_dict(reference), ensure_ascii=False, indent=1)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".reference-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"reference data not saved: {exc.strerror or type(exc).__name__}") from None

    def load(self) -> ReferenceData | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"reference data unreadable: {exc.strerror or type(exc).__name__}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return reference_from_dict(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(f"reference data file is damaged ({type(exc).__name__}: {exc})") from None

"""The kiosk keeps the hub's reference data and starts from it when the hub is down."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from drivers.hub.simulated import DEFAULT_REFERENCE
from drivers.printer.raster import ensure_qt_gui_application
from kiosk.config import load_config
from kiosk.domain import VIETNAM_TZ, ReferenceData
from kiosk.errors import StorageError
from launcher.wiring import build_kiosk
from offline_cache.reference_cache import ReferenceCache

FETCHED = datetime(2026, 11, 23, 7, 0, tzinfo=VIETNAM_TZ)


def reference() -> ReferenceData:
    return ReferenceData(DEFAULT_REFERENCE.departments, DEFAULT_REFERENCE.services, fetched_at=FETCHED)


def test_a_saved_copy_comes_back_whole(tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path / "reference.json")
    assert cache.load() is None
    cache.save(reference())
    loaded = cache.load()
    assert loaded == reference()
    assert loaded.fetched_at == FETCHED
    assert not list(tmp_path.glob(".reference-*")), "no temporary file left behind"


def test_saving_again_replaces_the_copy(tmp_path: Path) -> None:
    cache = ReferenceCache(tmp_path / "reference.json")
    cache.save(reference())
    smaller = ReferenceData(DEFAULT_REFERENCE.departments[:1], DEFAULT_REFERENCE.services[:1], fetched_at=FETCHED)
    cache.save(smaller)
    assert cache.load() == smaller


@pytest.mark.parametrize(
    "content",
    ["{not json", "[]", json.dumps({"format": 99}), json.dumps({"format": 1, "departments": [{}], "services": []})],
)
def test_a_damaged_file_is_a_storage_error_and_stays_for_the_technician(tmp_path: Path, content: str) -> None:
    path = tmp_path / "reference.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StorageError):
        ReferenceCache(path).load()
    assert path.read_text(encoding="utf-8") == content


def test_an_unwritable_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        ReferenceCache(blocker / "reference.json").save(reference())


def _kiosk(tmp_path: Path):
    ensure_qt_gui_application()
    config = load_config(
        None,
        environ={
            "KIOSK_KIOSK_DATA_DIR": str(tmp_path / "data"),
            "KIOSK_PRINTER_FOLDER": str(tmp_path / "tickets"),
            "KIOSK_HUB_BACKEND": "simulated",
            "KIOSK_CAMERA_BACKEND": "none",
        },
    )
    return build_kiosk(config)


def test_a_kiosk_started_while_the_hub_is_down_uses_its_last_copy(tmp_path: Path) -> None:
    first = _kiosk(tmp_path)
    try:
        fresh = first.desk.refresh_reference()
        assert fresh is not None
    finally:
        first.stop()
    assert (tmp_path / "data" / "reference.json").exists()

    second = _kiosk(tmp_path)
    try:
        second.desk._hub.down = True  # the in-memory hub: an outage is a flag
        cached = second.desk.refresh_reference()
        assert cached is not None and second.flow.state.reference == cached
        assert [d.code for d in cached.departments] == [d.code for d in fresh.departments]
        assert cached.fetched_at == fresh.fetched_at
        age = second.desk.reference_age_seconds()
        assert age is not None and age >= 0
    finally:
        second.stop()


def test_a_damaged_cache_leaves_the_kiosk_without_departments_not_crashed(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reference.json").write_text("{broken", encoding="utf-8")
    kiosk = _kiosk(tmp_path)
    try:
        kiosk.desk._hub.down = True
        assert kiosk.desk.refresh_reference() is None
        assert kiosk.flow.state.reference is None
        kiosk.desk._hub.down = False
        assert kiosk.desk.refresh_reference() is not None  # the hub is back: fresh copy, file repaired
        assert ReferenceCache(tmp_path / "data" / "reference.json").load() is not None
    finally:
        kiosk.stop()


def test_age_is_measured_with_the_kiosk_clock(tmp_path: Path) -> None:
    kiosk = _kiosk(tmp_path)
    try:
        old = ReferenceData(DEFAULT_REFERENCE.departments, DEFAULT_REFERENCE.services,
                            fetched_at=datetime.now(VIETNAM_TZ) - timedelta(hours=3))
        kiosk.flow.set_reference(old)
        assert 3 * 3600 - 60 < kiosk.desk.reference_age_seconds() < 3 * 3600 + 60
    finally:
        kiosk.stop()

"""The English translation is complete, compiled and current.

Workflow for a new or changed Vietnamese string (see ui/i18n.py):

    .venv/bin/pyside6-lupdate $(find ui -name '*.py') -locations none \\
        -no-obsolete -ts assets/translations/kiosk_en.ts
    # translate in pyside6-linguist (or by hand), then
    .venv/bin/pyside6-lrelease assets/translations/kiosk_en.ts \\
        -qm assets/translations/kiosk_en.qm
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ui.i18n import ENGLISH, VIETNAMESE, LanguageSwitch, translate, translations_dir

ROOT = Path(__file__).resolve().parent.parent
TS = ROOT / "assets" / "translations" / "kiosk_en.ts"
QM = ROOT / "assets" / "translations" / "kiosk_en.qm"


def qt_tool(name: str) -> str:
    """pyside6-<name> from the interpreter's environment (the venv)."""
    beside = Path(sys.executable).parent / f"pyside6-{name}"
    found = str(beside) if beside.exists() else shutil.which(f"pyside6-{name}")
    if not found:
        pytest.fail(f"pyside6-{name} not found: install PySide6-Essentials in this environment")
    return found


def messages(ts: Path) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(context, source) -> (translation, type attribute)."""
    out = {}
    for context in ET.parse(ts).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            assert translation is not None
            out[(name, message.findtext("source") or "")] = (translation.text or "", translation.get("type"))
    return out


def test_translations_live_in_the_assets_package() -> None:
    assert translations_dir() == TS.parent


def test_qm_is_compiled_from_the_current_ts(tmp_path: Path) -> None:
    fresh = tmp_path / "kiosk_en.qm"
    subprocess.run([qt_tool("lrelease"), str(TS), "-qm", str(fresh)], check=True, capture_output=True)
    assert QM.read_bytes() == fresh.read_bytes(), "run pyside6-lrelease (see this module's docstring)"


def test_every_source_string_has_a_finished_translation(tmp_path: Path) -> None:
    extracted = tmp_path / "extracted.ts"
    sources = sorted(str(p) for p in (ROOT / "ui").rglob("*.py"))
    subprocess.run(
        [qt_tool("lupdate"), *sources, "-locations", "none", "-ts", str(extracted)],
        check=True,
        capture_output=True,
    )
    wanted = set(messages(extracted))
    assert len(wanted) > 50  # the extraction really found the screens' strings
    have = messages(TS)
    missing = sorted(wanted - set(have))
    assert not missing, f"not in kiosk_en.ts (run pyside6-lupdate): {missing}"
    unfinished = sorted(k for k in wanted if have[k][1] is not None or not have[k][0].strip())
    assert not unfinished, f"untranslated: {unfinished}"
    stale = sorted(set(have) - wanted)
    assert not stale, f"no longer used (run pyside6-lupdate -no-obsolete): {stale}"


def test_placeholders_survive_translation() -> None:
    for (context, source), (translation, _) in messages(TS).items():
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", translation)), (context, source)


def test_switching_installs_and_removes_the_translator(qapp) -> None:
    switch = LanguageSwitch.shared()
    assert LanguageSwitch.shared() is switch  # one translator per application
    assert switch.available() == (VIETNAMESE, ENGLISH)
    try:
        switch.set_language(ENGLISH)
        assert translate("IdleScreen", "Bắt đầu") == "Start"
        assert switch.pick("Khoa Mắt", "Ophthalmology") == "Ophthalmology"
        switch.set_language(VIETNAMESE)
        assert translate("IdleScreen", "Bắt đầu") == "Bắt đầu"
        assert switch.pick("Khoa Mắt", "Ophthalmology") == "Khoa Mắt"
        # A data field without English falls back to Vietnamese.
        switch.set_language(ENGLISH)
        assert switch.pick("Khoa Mắt", "") == "Khoa Mắt"
    finally:
        switch.set_language(VIETNAMESE)
    with pytest.raises(ValueError):
        switch.set_language("fr")


def test_missing_translation_leaves_vietnamese_only(qapp, tmp_path: Path) -> None:
    switch = LanguageSwitch(directory=tmp_path)
    try:
        assert switch.available() == (VIETNAMESE,)
        switch.set_language(ENGLISH)  # asked for, not available: stays usable
        assert switch.language == VIETNAMESE
    finally:
        switch.deleteLater()

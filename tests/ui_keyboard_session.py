"""The on-screen keyboard in a real kiosk window, tapped like a technician would.

Run by tests/test_ui_keyboard.py in a process of its own: Qt reads
QT_IM_MODULE once, when the QApplication is created, and the other UI tests
run without the keyboard. `keyboard.prepare` below runs at import, before
pytest-qt creates the application at the first `qtbot`.

Taps are mouse presses on the keyboard's QQuickWidget at the centre of a
key (what a touch screen delivers to Qt as a synthesised mouse press); a
Vietnamese vowel is a press held until the key's alternatives open, a slide
to the accented letter and a release, as on the screen.
"""

from __future__ import annotations

import gc
import os
import unicodedata
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from ui import keyboard

# Must run before the QApplication exists (the first qtbot creates it).
KEYBOARD_READY = keyboard.prepare(True)

from test_ui_samples import RecordingDesk  # noqa: E402
from test_ui_technician import built, console, enter  # noqa: E402,F401 - fixtures

from kiosk.flow import FlowState, Session, Step  # noqa: E402
from ui.i18n import ENGLISH, VIETNAMESE  # noqa: E402
from ui.keyboard import OnScreenKeyboard  # noqa: E402
from ui.window import KioskOptions, KioskWindow  # noqa: E402


@pytest.fixture()
def window(qtbot, console):  # noqa: F811 - the imported fixture
    assert KEYBOARD_READY, "Qt Virtual Keyboard plugin not found"
    gc.collect()
    w = KioskWindow(RecordingDesk(), KioskOptions(tick_ms=3_600_000, virtual_keyboard=True), technician=console)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    yield w
    w.technician.close_mode()
    w.set_language(VIETNAMESE)


# -- finding and pressing keys ----------------------------------------------------------


def _items(item, out: list) -> list:
    for child in item.childItems():
        out.append(child)
        _items(child, out)
    return out


def _kind(item) -> str:
    return item.metaObject().className().split("_QML")[0]


def key(kb: OnScreenKeyboard, *, text: str | None = None, kind: str = "Key"):
    """The visible key with this letter (or of this kind: ShiftKey, SpaceKey, ...)."""
    found = [
        i
        for i in _items(kb.view.rootObject(), [])
        if i.isVisible()
        and i.property("key") is not None
        and _kind(i) == kind
        and (text is None or i.property("text") == text)
    ]
    assert len(found) == 1, f"{kind} {text!r}: {len(found)} found"
    return found[0]


def _centre(item, x: float | None = None) -> QPoint:
    p = item.mapToScene(QPointF(item.width() / 2 if x is None else x, item.height() / 2))
    return QPoint(round(p.x()), round(p.y()))


def tap(qtbot, kb: OnScreenKeyboard, item) -> None:
    qtbot.mouseClick(kb.view, Qt.MouseButton.LeftButton, pos=_centre(item))
    QApplication.processEvents()


def _alternatives(kb: OnScreenKeyboard):
    found = [i for i in _items(kb.view.rootObject(), []) if _kind(i) == "AlternativeKeys"]
    assert len(found) == 1
    return found[0]


def press_and_slide(qtbot, kb: OnScreenKeyboard, letter: str, base: str) -> None:
    """Hold `base` until its accented letters open, slide to `letter`, let go."""
    item = key(kb, text=base)
    options = list(item.property("effectiveAlternativeKeys"))
    assert letter in options, f"{letter!r} not among {options}"
    start = _centre(item)
    qtbot.mousePress(kb.view, Qt.MouseButton.LeftButton, pos=start)
    alternatives = _alternatives(kb)
    # The keyboard's own press-and-hold timer opens the list (bounded wait).
    qtbot.waitUntil(lambda: alternatives.property("active"), timeout=5000)
    strip = next(i for i in alternatives.childItems() if i.metaObject().className() == "QQuickListView")
    width = strip.width() / strip.property("count")
    target = _centre(strip, (options.index(letter) + 0.5) * width)
    qtbot.mouseMove(kb.view, target)
    QApplication.processEvents()
    qtbot.mouseRelease(kb.view, Qt.MouseButton.LeftButton, pos=target)
    QApplication.processEvents()


def type_text(qtbot, kb: OnScreenKeyboard, text: str) -> None:
    """Lower-case letters, space, and Vietnamese vowels; capitals come from
    the keyboard's own start-of-sentence shift."""
    for ch in text:
        if ch == " ":
            tap(qtbot, kb, key(kb, kind="SpaceKey"))
            continue
        base = unicodedata.normalize("NFD", ch)[0] if ch != "đ" else "d"
        if base == ch:
            tap(qtbot, kb, key(kb, text=ch))
        else:
            press_and_slide(qtbot, kb, ch, base)


def open_page(qtbot, window: KioskWindow, name: str) -> None:
    enter(qtbot, window)
    window.technician.view.show_page(name)
    QApplication.processEvents()


def shown(window: KioskWindow) -> bool:
    """The keyboard is up and laid out: inside the window, below the pages."""
    kb = window.keyboard
    if kb is None or not (kb.isVisible() and kb.active and QGuiApplication.inputMethod().isVisible()):
        return False
    area = window.centralWidget().rect()
    if not area.contains(kb.geometry()) or window.stack.geometry().bottom() >= kb.geometry().top():
        return False
    # Every key laid out at its size (the space bar is the last to get one).
    keys = [i for i in _items(kb.view.rootObject(), []) if i.isVisible() and i.property("key") is not None]
    return bool(keys) and all(i.width() > 0 for i in keys if _kind(i) != "FillerKey")


def save_screen(window: KioskWindow, artifacts_dir: Path, name: str) -> None:
    folder = artifacts_dir / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(folder / name))


def in_view(field) -> bool:
    """The whole field is on screen (not clipped by its scrolling page)."""
    return field.visibleRegion().boundingRect().size() == field.size()


# -- the tests -----------------------------------------------------------------------------------


def test_prepare_chose_the_keyboard_before_qt_started(qapp) -> None:
    assert KEYBOARD_READY and keyboard.in_use()
    assert os.environ["QT_IM_MODULE"] == "qtvirtualkeyboard"
    assert os.environ["QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"] == "1"  # the panel lives in the kiosk window


def test_keyboard_hidden_until_a_text_field_is_touched(qtbot, window: KioskWindow) -> None:
    assert isinstance(window.keyboard, OnScreenKeyboard)
    assert not window.keyboard.isVisible()
    open_page(qtbot, window, "hub")
    assert not shown(window)  # the page's buttons, not a field, have the focus


def test_touching_a_hub_field_shows_the_vietnamese_keyboard(qtbot, window: KioskWindow, artifacts_dir: Path) -> None:
    open_page(qtbot, window, "hub")
    page = window.technician.view.pages["hub"]
    qtbot.mouseClick(page.url, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    kb = window.keyboard
    assert kb.locale() == "vi_VN"
    # Below the page, not over it, and the page scrolls the field being
    # typed into back into view.
    qtbot.waitUntil(lambda: in_view(page.url), timeout=5000)
    assert page.url.mapTo(window, QPoint(0, page.url.height())).y() <= kb.mapTo(window, QPoint(0, 0)).y()
    assert kb.height() >= 250 and kb.width() == window.centralWidget().width()
    assert window.focusWidget() is page.url
    save_screen(window, artifacts_dir, "technician-hub-keyboard-vi.png")


def test_typing_vietnamese_with_diacritics_into_a_setting_and_saving_it(qtbot, window: KioskWindow, console) -> None:
    open_page(qtbot, window, "config")
    page = window.technician.view.pages["config"]
    page.key.setCurrentText("kiosk.hospital_name")
    page.value.clear()
    qtbot.mouseClick(page.value, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    type_text(qtbot, window.keyboard, "bệnh viện")
    assert page.value.text() == "Bệnh viện"  # the keyboard capitalises a sentence's first letter
    assert window.focusWidget() is page.value  # taps on keys never took the focus
    qtbot.mouseClick(page.save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Đã lưu" in page.outcome.text(), timeout=10000)
    assert console.config_values()["kiosk.hospital_name"] == "Bệnh viện"


def test_backspace_and_d_with_stroke(qtbot, window: KioskWindow) -> None:
    open_page(qtbot, window, "hub")
    page = window.technician.view.pages["hub"]
    page.kiosk_id.clear()
    qtbot.mouseClick(page.kiosk_id, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    type_text(qtbot, window.keyboard, "đax")
    tap(qtbot, window.keyboard, key(window.keyboard, kind="BackspaceKey"))
    assert page.kiosk_id.text() == "đa"  # no automatic capital on an id (input hints)


def test_globe_key_switches_to_english_and_back(qtbot, window: KioskWindow) -> None:
    open_page(qtbot, window, "hub")
    page = window.technician.view.pages["hub"]
    qtbot.mouseClick(page.kiosk_id, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    kb = window.keyboard
    tap(qtbot, kb, key(kb, kind="ChangeLanguageKey"))
    qtbot.waitUntil(lambda: kb.locale() == "en_US", timeout=5000)
    page.kiosk_id.clear()
    type_text(qtbot, kb, "kiosk")
    assert page.kiosk_id.text() == "kiosk"
    # English has no Vietnamese vowels on "e".
    assert "ệ" not in list(key(kb, text="e").property("effectiveAlternativeKeys") or [])
    tap(qtbot, kb, key(kb, kind="ChangeLanguageKey"))
    qtbot.waitUntil(lambda: kb.locale() == "vi_VN", timeout=5000)


def test_the_screens_language_switch_moves_the_keyboard_to_english(
    qtbot, window: KioskWindow, artifacts_dir: Path
) -> None:
    open_page(qtbot, window, "hub")
    qtbot.mouseClick(window.top_bar.language, Qt.MouseButton.LeftButton)
    assert window.language.language == ENGLISH
    QApplication.processEvents()  # LanguageChange is a posted event
    page = window.technician.view.pages["hub"]
    qtbot.mouseClick(page.url, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    assert window.keyboard.locale() == "en_US"
    save_screen(window, artifacts_dir, "technician-hub-keyboard-en.png")
    qtbot.mouseClick(window.top_bar.language, Qt.MouseButton.LeftButton)
    assert window.keyboard.locale() == "vi_VN"


def test_keyboard_goes_when_technician_mode_closes(qtbot, window: KioskWindow) -> None:
    open_page(qtbot, window, "hub")
    qtbot.mouseClick(window.technician.view.pages["hub"].url, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window), timeout=5000)
    qtbot.mouseClick(window.technician.view.exit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.keyboard.isVisible(), timeout=5000)
    assert not QGuiApplication.inputMethod().isVisible()


def test_the_patients_id_keypad_does_not_summon_the_keyboard(qtbot, window: KioskWindow) -> None:
    window.render(FlowState(Step.IDENTIFY, Session()))
    entry = window.keypad
    qtbot.mouseClick(entry.button, Qt.MouseButton.LeftButton)
    assert entry.keypad.isVisible()
    for digit in "001088012345":
        qtbot.mouseClick(entry.keypad.keys[digit], Qt.MouseButton.LeftButton)
        assert not window.keyboard.isVisible()
    assert entry.keypad.digits == "001088012345"
    assert not QGuiApplication.inputMethod().isVisible()

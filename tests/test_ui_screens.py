"""Every screen, in both languages: renders, fits, is big enough, calls the
right operation, and forgets the patient on IDLE.

The window is driven with `FlowState` snapshots built in
`test_ui_samples`, and talks to a `RecordingDesk` (the UI's seam), so no
device, hub or worker thread is involved here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget
from test_ui_samples import (
    PATIENT_ID,
    PATIENT_NAME,
    STATE_NAMES,
    RecordingDesk,
    representative_states,
)

from kiosk.domain import VisitType
from kiosk.flow import FlowState, Session, Step
from ui.i18n import ENGLISH, VIETNAMESE
from ui.widgets import FitLabel, TileButton
from ui.window import KioskOptions, KioskWindow, is_escape_shortcut

HOSPITAL = "BỆNH VIỆN ĐA KHOA TỈNH"
SCROLLING_ALLOWED = {"department-many"}  # ten departments: more than one screen holds
# Printer failed AND a fee is due: the printer problem (with reprint) comes
# first, the VietQR panel under it, reached by scrolling; the cashier is
# the alternative the panel names.
SCROLLING_ALLOWED |= {"done-vietqr-print_error"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def window(qtbot, desk: RecordingDesk, clock: FakeClock) -> KioskWindow:
    w = KioskWindow(desk, KioskOptions(hospital_name=HOSPITAL, tick_ms=3_600_000), clock=clock)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    w.set_connection_status(True, 0)
    return w


def settle() -> None:
    # Language switches arrive as posted LanguageChange events.
    for _ in range(3):
        QApplication.processEvents()


def show(window: KioskWindow, name: str, language: str = VIETNAMESE) -> None:
    window.render(representative_states()[name])
    window.set_language(language)
    settle()


def visible_texts(window: QWidget) -> list[str]:
    out: list[str] = []
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window):
            continue
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        if isinstance(w, FitLabel | TileButton):
            out.append(w.text() if isinstance(w, FitLabel) else w.text_content())
    return out


def all_texts(window: QWidget) -> str:
    """Every text any widget holds, shown or not (for the privacy checks)."""
    out: list[str] = []
    for w in window.findChildren(QWidget):
        out.append(w.accessibleName())
        if isinstance(w, QLabel | QAbstractButton):
            out.append(w.text())
        if isinstance(w, FitLabel):
            out.append(w.text())
    return "\n".join(out)


# -- rendering and screenshots -------------------------------------------------------


@pytest.mark.parametrize("language", [VIETNAMESE, ENGLISH])
@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_screen_renders_fits_and_is_saved(
    window: KioskWindow, name: str, language: str, artifacts_dir: Path
) -> None:
    state = representative_states()[name]
    show(window, name, language)
    screen = window.current_screen()
    assert screen is window.screens[state.step]
    assert screen.title.text(), "every screen says what it is about"

    folder = artifacts_dir / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    canonical = name == state.step.value
    filename = f"{state.step.value}-{language}.png" if canonical else f"{name}-{language}.png"
    assert window.grab().save(str(folder / filename))

    # Nothing to scroll at 1280x800 in normal text: the patient sees it all.
    # Only a long department list may scroll, and then the screen says so.
    bar = screen.scroll.verticalScrollBar()
    if name in SCROLLING_ALLOWED:
        assert bar.maximum() > 0 and screen.more_below.isVisibleTo(window)
    else:
        assert bar.maximum() == 0, f"{name} ({language}) needs scrolling"
        assert not screen.more_below.isVisibleTo(window)


@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_english_replaces_every_fixed_vietnamese_text(window: KioskWindow, name: str) -> None:
    show(window, name, VIETNAMESE)
    vietnamese = set(visible_texts(window))
    show(window, name, ENGLISH)
    english = set(visible_texts(window))
    # Whatever stays the same in both languages must be data (names,
    # numbers, codes) or the language switch, which names each language in
    # itself; fixed Vietnamese sentences must not survive the switch.
    leftover = {t for t in vietnamese & english if t and any(c in t for c in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịọỏốồổỗộớờởỡợụủứừửữự")}
    allowed = {PATIENT_NAME, HOSPITAL, "NGUYỄN T. H.", "Tiếng Việt"}
    assert leftover <= allowed, f"untranslated in {name}: {leftover - allowed}"


def test_department_names_follow_the_language(window: KioskWindow) -> None:
    show(window, "department", ENGLISH)
    texts = "\n".join(visible_texts(window))
    assert "Ear, Nose and Throat" in texts and "Khoa Tai Mũi Họng" not in texts
    show(window, "department", VIETNAMESE)
    texts = "\n".join(visible_texts(window))
    assert "Khoa Tai Mũi Họng" in texts


def test_vietnamese_diacritics_reach_the_screen(window: KioskWindow) -> None:
    show(window, "identity_check")
    screen = window.current_screen()
    assert screen.name.text() == PATIENT_NAME
    # Noto Sans has every Vietnamese letter: no fallback boxes.
    assert screen.name.fontInfo().family() in ("Noto Sans", "DejaVu Sans")
    from PySide6.QtGui import QFontMetrics

    metrics = QFontMetrics(screen.name.font())
    # inFontUcs4: PySide's inFont(str) mis-converts characters above U+00FF.
    assert all(metrics.inFontUcs4(ord(ch)) for ch in "NGUYỄN THỊ HƯỜNG ẫặựỡđ")


def test_identity_screen_shows_the_patient(window: KioskWindow) -> None:
    show(window, "identity_check")
    screen = window.current_screen()
    assert screen.dob.text() == "09/03/1951"
    assert screen.sex.text() == "Nữ"
    assert screen.id_number.text().endswith("2345") and PATIENT_ID not in all_texts(window)
    assert screen.photo.pixmap() is not None and not screen.photo.pixmap().isNull()
    assert screen.badge.property("tone") == "success"

    show(window, "identity_check-qr_only", ENGLISH)
    assert screen.photo.text() == "No photo"
    assert screen.badge.property("tone") == "warning"
    assert "staff will check" in screen.badge_text.text()


def test_identify_progress_in_plain_words(window: KioskWindow) -> None:
    show(window, "identify-busy")
    screen = window.current_screen()
    assert screen.progress.text() == "Đang đọc thông tin cá nhân..."
    assert not screen.back.isVisibleTo(window)  # the flow refuses "back" while busy
    show(window, "identify-busy", ENGLISH)
    assert screen.progress.text() == "Reading your personal details..."


def test_without_chip_only_after_a_qr(window: KioskWindow) -> None:
    show(window, "identify")
    assert not window.current_screen().without_chip.isVisibleTo(window)
    show(window, "identify-after_qr")
    assert window.current_screen().without_chip.isVisibleTo(window)


def test_insurance_status_in_colour_and_words(window: KioskWindow) -> None:
    show(window, "insurance-busy")
    screen = window.current_screen()
    assert not screen.next.isVisibleTo(window) and screen.busy.isVisibleTo(window)
    show(window, "insurance-expired", ENGLISH)
    assert screen.panel.property("tone") == "danger"
    assert screen.headline.text() == "Your health insurance card has expired"
    assert "renew" in screen.message.text()
    assert screen.valid_to.text() == "31/12/2026"
    assert screen.code.text() == "HT2010123456789"


def test_sample_states_are_all_listed(qapp) -> None:
    assert set(STATE_NAMES) == set(representative_states())


@pytest.mark.parametrize(
    ("room", "floor", "expected"),
    [("105", "1", ("105", "1")), ("P.101", "Tầng 1", ("101", "1")), ("Phòng 12", "tầng 3", ("12", "3")),
     ("P101", "Floor 2", ("101", "2")), ("Phòng khám 3", "Trệt", ("khám 3", "Trệt")), ("P.", "Tầng", ("P.", "Tầng"))],
)
def test_room_and_floor_lose_their_words(room: str, floor: str, expected: tuple[str, str]) -> None:
    from kiosk.domain import Department
    from ui.screens.words import room_and_floor

    assert room_and_floor(Department("X", "X", "X", room, floor, "X")) == expected


def test_hub_style_rooms_read_naturally(window: KioskWindow) -> None:
    show(window, "department-many")
    texts = "\n".join(visible_texts(window))
    assert "Phòng 101, tầng 1" in texts and "P.101" not in texts and "tầng Tầng" not in texts
    show(window, "department-many", ENGLISH)
    texts = "\n".join(visible_texts(window))
    assert "Room 101, floor 1" in texts and "Tầng" not in texts


def test_services_show_prices(window: KioskWindow) -> None:
    show(window, "department-services")
    texts = "\n".join(visible_texts(window))
    assert "150.000 đ" in texts and "39.000 đ" in texts
    assert "Khoa Nội tổng hợp" in window.current_screen().title.text()


def test_done_screen_number_and_print_problem(window: KioskWindow) -> None:
    show(window, "done")
    screen = window.current_screen()
    assert screen.number.text() == "A-012"
    assert "105" in screen.where.text()
    assert not screen.print_problem.isVisibleTo(window)
    assert screen.preview.pixmap() is not None and not screen.preview.pixmap().isNull()

    show(window, "done-print_error", ENGLISH)
    assert screen.number.text() == "K01-A-003"
    assert screen.print_problem.isVisibleTo(window)
    assert "out of paper" in screen.problem_text.text()
    assert screen.reprint.isVisibleTo(window)
    # The whole number fits, however long (the label shrinks the font).
    assert screen.number.width() >= 2 * FitLabel.MARGIN


def test_error_screen_retry_only_when_allowed(window: KioskWindow) -> None:
    show(window, "error")
    screen = window.current_screen()
    assert screen.again.isVisibleTo(window)
    assert "giữ yên" in screen.guidance.text()
    no_retry = FlowState(Step.ERROR, Session(), error=representative_states()["error"].error.__class__("x", "Lỗi.", "Error.", None))
    window.render(no_retry)
    assert not screen.again.isVisibleTo(window) and screen.home.isVisibleTo(window)


# -- touch targets -------------------------------------------------------------------------


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-text"])
@pytest.mark.parametrize("name", list(STATE_NAMES))
def test_every_button_is_a_15_mm_target(window: KioskWindow, name: str, large: bool) -> None:
    window.set_large_text(large)
    show(window, name, ENGLISH if large else VIETNAMESE)
    side = window.metrics.chrome_touch_px
    assert side >= 90
    buttons = [b for b in window.findChildren(QAbstractButton) if b.isVisibleTo(window)]
    assert buttons
    for b in buttons:
        assert b.width() >= side and b.height() >= side, f"{b.objectName() or b.text()!r} is {b.width()}x{b.height()}"


def test_large_text_mode_makes_text_larger(window: KioskWindow, qtbot) -> None:
    show(window, "confirm")
    screen = window.current_screen()
    before = screen.title.fontInfo().pointSize()
    qtbot.mouseClick(window.top_bar.large_text, Qt.MouseButton.LeftButton)
    settle()
    assert window.large_text
    assert screen.title.fontInfo().pointSize() > before
    assert window.top_bar.large_text.text() == "Chữ nhỏ lại"


# -- operations -----------------------------------------------------------------------------

CLICKS = [
    ("idle", "start", ("begin",)),
    ("identify", "back", ("back",)),
    ("identify-after_qr", "without_chip", ("use_qr_without_chip",)),
    ("identity_check", "yes", ("confirm_identity",)),
    ("identity_check", "not_me", ("cancel",)),
    ("insurance", "next", ("continue_from_insurance",)),
    ("insurance", "back", ("back",)),
    ("visit_type", "back", ("back",)),
    ("department", "back", ("back",)),
    ("confirm", "go", ("confirm",)),
    ("confirm", "back", ("back",)),
    ("done", "done", ("finish",)),
    ("done-print_error", "reprint", ("reprint",)),
    ("error", "again", ("retry",)),
    ("error", "home", ("cancel",)),
]


@pytest.mark.parametrize(("name", "attribute", "call"), CLICKS, ids=[f"{n}.{a}" for n, a, _ in CLICKS])
def test_button_calls_its_operation(
    window: KioskWindow, desk: RecordingDesk, qtbot, name: str, attribute: str, call: tuple
) -> None:
    show(window, name)
    button = getattr(window.current_screen(), attribute)
    assert button.isVisibleTo(window)
    desk.calls.clear()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [c for c in desk.calls if c[0] not in ("touch", "tick")] == [call]
    assert ("touch",) in desk.calls  # every press counts as activity


@pytest.mark.parametrize("visit_type", list(VisitType))
def test_visit_type_buttons(window: KioskWindow, desk: RecordingDesk, qtbot, visit_type: VisitType) -> None:
    show(window, "visit_type")
    qtbot.mouseClick(window.current_screen().choices[visit_type], Qt.MouseButton.LeftButton)
    assert desk.names() == ["choose_visit_type"]
    assert desk.calls[-1] == ("choose_visit_type", visit_type, None)


def test_department_then_service(window: KioskWindow, desk: RecordingDesk, qtbot) -> None:
    show(window, "department")
    screen = window.current_screen()
    tile = screen.findChild(TileButton, "department-TMH")
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    assert desk.calls[-1] == ("choose_department", "TMH")

    show(window, "department-services")
    tile = screen.findChild(TileButton, "service-KB-NOI-TM")
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    assert desk.calls[-1] == ("choose_service", "KB-NOI-TM")

    # "Back" from the services shows the departments again, on this screen;
    # a second "back" asks the flow.
    desk.calls.clear()
    qtbot.mouseClick(screen.back, Qt.MouseButton.LeftButton)
    assert desk.names() == []
    assert screen.findChild(TileButton, "department-TMH") is not None
    qtbot.mouseClick(screen.back, Qt.MouseButton.LeftButton)
    assert desk.names() == ["back"]


def test_department_without_reference_data(window: KioskWindow) -> None:
    state = representative_states()["department"]
    window.render(FlowState(Step.DEPARTMENT, state.session, reference=None))
    screen = window.current_screen()
    assert "quầy tiếp đón" in screen.notice.text()
    assert not screen.tiles


def test_reprint_outcome_is_shown(window: KioskWindow, qtbot) -> None:
    show(window, "done-print_error")
    screen = window.current_screen()
    qtbot.mouseClick(screen.reprint, Qt.MouseButton.LeftButton)
    assert screen.reprint_status.text() == "Đang in lại..."
    window.operation_failed("reprint")
    assert "chưa in được" in screen.reprint_status.text()
    window.operation_completed("reprint")
    assert "Đã in lại" in screen.reprint_status.text()


def test_failed_operation_shows_a_notice(window: KioskWindow) -> None:
    show(window, "confirm")
    window.operation_failed("confirm")
    assert window.notice.isVisibleTo(window)
    window.render(representative_states()["idle"])
    assert not window.notice.isVisibleTo(window)


# -- privacy ----------------------------------------------------------------------------------


def test_idle_wipes_every_screen(window: KioskWindow) -> None:
    for name in ("identity_check", "insurance", "confirm", "printing-ticket", "done-print_error"):
        show(window, name)
    window.render(representative_states()["identity_check"])
    assert PATIENT_NAME in all_texts(window)

    window.render(representative_states()["idle"])
    text = all_texts(window)
    for secret in (PATIENT_NAME, "NGUYỄN T. H.", "2345", "HT2010123456789", "A-012", "K01-A-003"):
        assert secret not in text
    for lab in window.findChildren(QLabel):
        if lab.property("role") in ("photo", "preview"):
            assert lab.pixmap() is None or lab.pixmap().isNull()


def test_only_the_shown_screen_holds_data(window: KioskWindow) -> None:
    show(window, "identity_check")
    show(window, "confirm")
    identity = window.screens[Step.IDENTITY_CHECK]
    assert identity.name.text() == "" and (identity.photo.pixmap() is None or identity.photo.pixmap().isNull())
    assert identity.state is None


def test_tick_wipe_clears_the_screen_at_once(window: KioskWindow, desk: RecordingDesk) -> None:
    show(window, "identity_check")
    desk.wipe_on_tick = True
    window.tick()
    assert window.current_screen() is window.screens[Step.IDLE]
    assert PATIENT_NAME not in all_texts(window)


# -- time -----------------------------------------------------------------------------------


def test_countdown_in_the_last_seconds(window: KioskWindow, desk: RecordingDesk, qtbot) -> None:
    show(window, "visit_type")
    desk.left = 40.0
    window.tick()
    assert not window.countdown.isVisibleTo(window)
    desk.left = 12.2
    window.tick()
    assert window.countdown.isVisibleTo(window)
    assert "13 giây" in window.countdown.message.text()
    window.set_language(ENGLISH)
    settle()
    assert "13 seconds" in window.countdown.message.text()
    assert window.countdown.still_here.text() == "I'm still here"

    desk.calls.clear()
    desk.left = 60.0  # the desk restarts its countdown on touch
    qtbot.mouseClick(window.countdown.still_here, Qt.MouseButton.LeftButton)
    assert ("touch",) in desk.calls
    assert not window.countdown.isVisibleTo(window)


def test_no_countdown_while_busy_or_idle(window: KioskWindow, desk: RecordingDesk) -> None:
    desk.left = 5.0
    for name in ("idle", "identify-busy", "printing"):
        show(window, name)
        window.tick()
        assert not window.countdown.isVisibleTo(window), name


def test_done_closes_itself(window: KioskWindow, desk: RecordingDesk, clock: FakeClock) -> None:
    show(window, "done")
    screen = window.current_screen()
    window.tick()
    assert "20 giây" in screen.closing.text()
    clock.now += 15
    window.tick()
    assert "5 giây" in screen.closing.text()
    assert "finish" not in desk.names()
    clock.now += 6
    window.tick()
    window.tick()
    assert desk.names().count("finish") == 1


def test_done_touch_gives_more_time_but_never_past_the_idle_wipe(
    window: KioskWindow, desk: RecordingDesk, clock: FakeClock
) -> None:
    show(window, "done")
    clock.now += 15
    window.note_activity()  # reading the screen: keep it
    clock.now += 10
    window.tick()
    assert "finish" not in desk.names()
    desk.left = 0.0  # but the desk's idle timeout always wins
    window.tick()
    assert desk.names() == ["finish"]


def test_language_and_text_size_reset_for_the_next_patient(window: KioskWindow) -> None:
    show(window, "confirm", ENGLISH)
    window.set_large_text(True)
    window.render(representative_states()["idle"])
    settle()
    assert window.language.language == VIETNAMESE
    assert not window.large_text
    assert window.top_bar.language.text() == "English"


def test_language_button_switches(window: KioskWindow, qtbot) -> None:
    show(window, "idle")
    assert window.top_bar.language.text() == "English"
    qtbot.mouseClick(window.top_bar.language, Qt.MouseButton.LeftButton)
    settle()
    assert window.language.language == ENGLISH
    assert window.screens[Step.IDLE].start.text() == "Start"
    assert window.top_bar.language.text() == "Tiếng Việt"


def test_connection_indicator(window: KioskWindow) -> None:
    window.set_connection_status(False, 3)
    assert window.top_bar.status.text() == "Mất mạng · 3 phiếu chờ gửi"
    assert window.top_bar.status.property("role") == "offline"
    window.set_language(ENGLISH)
    settle()
    assert window.top_bar.status.text() == "Offline · 3 waiting to send"
    window.set_connection_status(True, 0)
    assert window.top_bar.status.property("role") == "online"


# -- lockdown -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "modifiers", "blocked"),
    [
        (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier, True),
        (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier, True),
        (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier, True),
        (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier, True),
        (Qt.Key.Key_Super_L, Qt.KeyboardModifier.NoModifier, True),
        (Qt.Key.Key_1, Qt.KeyboardModifier.NoModifier, False),  # the demo's keys
        (Qt.Key.Key_0, Qt.KeyboardModifier.NoModifier, False),
    ],
)
def test_escape_shortcuts(key: Qt.Key, modifiers: Qt.KeyboardModifier, blocked: bool) -> None:
    event = QKeyEvent(QEvent.Type.KeyPress, key, modifiers)
    assert is_escape_shortcut(event) is blocked


def test_lockdown_refuses_to_close_until_the_technician_asks(qtbot, desk: RecordingDesk) -> None:
    options = KioskOptions(hospital_name=HOSPITAL, block_shortcuts=True)
    w = KioskWindow(desk, options)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.close()
    assert w.isVisible()
    alt_f4 = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier)
    assert w._activity.eventFilter(w.screens[Step.IDLE], alt_f4) is True
    w.request_exit()
    assert not w.isVisible()


def test_cursor_hidden_when_configured(qtbot, desk: RecordingDesk) -> None:
    w = KioskWindow(desk, KioskOptions(hospital_name=HOSPITAL, hide_cursor=True))
    qtbot.addWidget(w)
    assert w.cursor().shape() == Qt.CursorShape.BlankCursor
    plain = KioskWindow(desk, KioskOptions(hospital_name=HOSPITAL))
    qtbot.addWidget(plain)
    assert plain.cursor().shape() != Qt.CursorShape.BlankCursor

"""The demo's card simulator panel: buttons and keys call the callables; the
panel stays a small handle in the top bar's free strip until it is opened."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QLineEdit, QSpinBox, QVBoxLayout, QWidget

from ui.simulator_panel import SimulatorPanel, top_bar_free_area
from ui.theme import metrics_for, stylesheet
from ui.window import TopBar


class Taps:
    def __init__(self) -> None:
        self.log: list[str] = []

    def tap(self, who: str):  # noqa: ANN201
        return lambda: self.log.append(who)


def panel_with(qtbot, taps: Taps, count: int = 5) -> SimulatorPanel:
    citizens = [(f"CITIZEN {i}", taps.tap(f"c{i}")) for i in range(1, count + 1)]
    codes = [(f"CITIZEN {i}", taps.tap(f"v{i}")) for i in range(1, count + 1)]
    panel = SimulatorPanel(citizens, taps.tap("lift"), codes=codes)
    qtbot.addWidget(panel)
    return panel


def shown_host(qtbot) -> tuple[QWidget, QLineEdit]:
    host = QWidget()
    field = QLineEdit()
    QVBoxLayout(host).addWidget(field)
    qtbot.addWidget(host)
    host.show()
    host.activateWindow()
    qtbot.waitUntil(lambda: host.isActiveWindow(), timeout=2000)
    return host, field


def test_buttons_place_show_codes_and_lift_then_collapse(qtbot) -> None:
    taps = Taps()
    panel = panel_with(qtbot, taps)
    panel.show()
    assert not panel.expanded and panel.body.isHidden()  # collapsed by default
    for button in (panel.place_buttons[1], panel.code_buttons[2], panel.place_buttons[4], panel.remove_button):
        qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
        assert panel.expanded and panel.body.isVisible()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not panel.expanded  # a choice closes the grid again
    assert taps.log == ["c2", "v3", "c5", "lift"]
    assert panel.place_buttons[0].text() == "1 · CITIZEN 1"
    assert panel.place_buttons[4].text() == "CITIZEN 5"  # no key beyond 4
    assert panel.code_buttons[0].toolTip() == "CITIZEN 1"


def test_keys_one_to_four_and_zero_from_any_window(qtbot) -> None:
    taps = Taps()
    panel = panel_with(qtbot, taps)  # never shown: keys work with the panel closed
    host, field = shown_host(qtbot)
    field.clearFocus()  # the kiosk's screens: buttons only, nothing to type into
    qtbot.waitUntil(lambda: not field.hasFocus(), timeout=2000)
    qtbot.keyClick(host, Qt.Key.Key_3)
    qtbot.keyClick(host, Qt.Key.Key_0)
    qtbot.keyClick(host, Qt.Key.Key_1, Qt.KeyboardModifier.KeypadModifier)  # numeric keypad
    qtbot.keyClick(host, Qt.Key.Key_5)  # citizen 5 has no key
    qtbot.keyClick(host, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # not a plain digit
    assert taps.log == ["c3", "lift", "c1"]
    assert panel.body.isHidden()


def test_digits_are_typed_while_a_text_field_has_focus(qtbot) -> None:
    taps = Taps()
    panel_with(qtbot, taps)
    host, field = shown_host(qtbot)
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    qtbot.keyClicks(field, "10.0.0.2")
    assert field.text() == "10.0.0.2"
    assert taps.log == []
    spin = QSpinBox(host)
    spin.setRange(0, 9999)
    spin.show()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin, "1234")
    assert spin.value() == 1234 and taps.log == []
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=2000)
    field.setReadOnly(True)  # a read-only field takes no typing: keys tap again
    qtbot.keyClick(field, Qt.Key.Key_2)
    assert taps.log == ["c2"]


def test_a_press_outside_the_open_panel_closes_it(qtbot) -> None:
    taps = Taps()
    panel = panel_with(qtbot, taps)
    panel.show()
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    assert panel.expanded
    host, field = shown_host(qtbot)
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    assert not panel.expanded and taps.log == []


def test_the_handle_docks_in_the_top_bars_free_middle(qtbot) -> None:
    bar = TopBar("BỆNH VIỆN ĐA KHOA TỈNH")
    qtbot.addWidget(bar)
    bar.resize(1280, 106)
    bar.show()
    bar.set_status(True, 0)
    qtbot.waitUntil(lambda: bar.status.isVisible() and bar.status.width() > 0, timeout=2000)
    area = top_bar_free_area(bar)
    name_end = bar.hospital.mapToGlobal(bar.hospital.contentsRect().topLeft()).x()
    status_left = bar.status.mapToGlobal(bar.status.rect().topLeft()).x()
    assert name_end < area.left() and area.right() < status_left
    assert area.width() > 150  # room for the handle on a 1280-wide kiosk

    taps = Taps()
    panel = panel_with(qtbot, taps)
    panel.dock(lambda: area)
    panel.show()
    handle = QRect(panel.handle.mapToGlobal(panel.handle.rect().topLeft()), panel.handle.size())
    assert area.contains(handle)  # covers nothing of the top bar's content
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    opened = QRect(panel.handle.mapToGlobal(panel.handle.rect().topLeft()), panel.handle.size())
    assert opened.center().y() == handle.center().y()  # the handle does not jump


def test_a_failing_callback_does_not_escape(qtbot) -> None:
    def broken() -> None:
        raise RuntimeError("reader unplugged")

    panel = SimulatorPanel([("X", broken)], broken, codes=[("X", broken)])
    qtbot.addWidget(panel)
    panel.show()
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.place_buttons[0], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.code_buttons[0], Qt.MouseButton.LeftButton)
    host, field = shown_host(qtbot)
    field.clearFocus()
    qtbot.keyClick(host, Qt.Key.Key_0)
    assert not panel.expanded


class FakeSimulator:
    """The launcher's CardSimulator at its surface: citizens and three calls."""

    def __init__(self) -> None:
        self.citizens = [{"slot": i, "full_name": f"CITIZEN {i}"} for i in (1, 2, 3, 4)]
        self.log: list[str] = []

    def tap(self, slot: int) -> None:
        self.log.append(f"card{slot}")

    def show_vneid(self, slot: int) -> None:
        self.log.append(f"vneid{slot}")

    def lift(self) -> None:
        self.log.append("lift")


def test_the_demo_docks_its_panel_in_the_kiosk_top_bar(qtbot) -> None:
    from types import SimpleNamespace

    from launcher.demo import demo_panel

    window = QWidget()
    window.setStyleSheet(stylesheet(metrics_for(96)))  # the kiosk's own look and sizes
    window.top_bar = TopBar("BỆNH VIỆN ĐA KHOA TỈNH")  # what demo_panel reads of KioskWindow
    layout = QVBoxLayout(window)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(window.top_bar)
    layout.addStretch(1)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    window.top_bar.set_status(True, 0)
    qtbot.waitUntil(lambda: window.top_bar.status.isVisible(), timeout=2000)
    simulator = FakeSimulator()
    panel = demo_panel(SimpleNamespace(simulator=simulator), window)
    qtbot.addWidget(panel)
    panel.show()
    panel.place()

    area = top_bar_free_area(window.top_bar)
    handle = QRect(panel.handle.mapToGlobal(panel.handle.rect().topLeft()), panel.handle.size())
    assert area.contains(handle)
    assert [b.text() for b in panel.place_buttons][:2] == ["1 · CITIZEN 1", "2 · CITIZEN 2"]
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.code_buttons[2], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.handle, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.place_buttons[1], Qt.MouseButton.LeftButton)
    assert simulator.log == ["vneid3", "card2"]
    assert not panel.expanded

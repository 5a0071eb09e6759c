"""The demo's card simulator panel: buttons and keys call the callables."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ui.simulator_panel import SimulatorPanel


class Taps:
    def __init__(self) -> None:
        self.log: list[str] = []

    def tap(self, who: str):  # noqa: ANN201
        return lambda: self.log.append(who)


def panel_with(qtbot, taps: Taps, count: int = 5, host: QWidget | None = None) -> SimulatorPanel:
    citizens = [(f"{i}. CITIZEN {i}", taps.tap(f"c{i}")) for i in range(1, count + 1)]
    panel = SimulatorPanel(citizens, taps.tap("lift"), shortcut_host=host)
    qtbot.addWidget(panel)
    return panel


def test_buttons_place_and_lift(qtbot) -> None:
    taps = Taps()
    panel = panel_with(qtbot, taps)
    qtbot.mouseClick(panel.place_buttons[1], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.place_buttons[4], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert taps.log == ["c2", "c5", "lift"]
    assert panel.citizen_labels[0].text() == "[1] 1. CITIZEN 1"
    assert panel.citizen_labels[4].text() == "5. CITIZEN 5"  # no key beyond 4


def test_keys_one_to_four_and_zero(qtbot) -> None:
    taps = Taps()
    host = QWidget()
    qtbot.addWidget(host)
    panel = panel_with(qtbot, taps, host=host)
    assert sorted(panel.shortcuts) == ["0", "1", "2", "3", "4"]
    assert panel.shortcuts["3"].key().toString() == "3"
    assert panel.shortcuts["3"].context() == Qt.ShortcutContext.ApplicationShortcut
    assert panel.shortcuts["3"].parent() is host  # keys work while the panel is closed

    host.show()
    host.activateWindow()
    qtbot.waitUntil(lambda: host.isActiveWindow(), timeout=2000)
    qtbot.keyClick(host, Qt.Key.Key_3)
    qtbot.keyClick(host, Qt.Key.Key_0)
    assert taps.log == ["c3", "lift"]


def test_a_failing_callback_does_not_escape(qtbot) -> None:
    def broken() -> None:
        raise RuntimeError("reader unplugged")

    panel = SimulatorPanel([("1. X", broken)], broken)
    qtbot.addWidget(panel)
    qtbot.mouseClick(panel.place_buttons[0], Qt.MouseButton.LeftButton)
    panel.shortcuts["0"].activated.emit()

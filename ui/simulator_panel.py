"""The demo's card simulator: tap a sample citizen's card on the reader.

A small floating window for whoever runs the demo, not for patients. It
knows nothing about drivers: it gets plain callables (the launcher passes
its `CardSimulator.buttons()` and `CardSimulator.lift`), and it calls them
on the GUI thread, so they must be quick (putting a simulated card on a
simulated reader is; the card watcher thread does the reading).

Keys 1–4 tap citizens 1–4 and 0 lifts the card, from any window of the
application, so the demo can be driven without the panel in view.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.i18n import translate
from ui.theme import PALETTE

log = logging.getLogger(__name__)

Action = Callable[[], None]
MAX_KEYED_CITIZENS = 4  # keys 1..4; more citizens get buttons only


class SimulatorPanel(QWidget):
    def __init__(
        self,
        citizens: Sequence[tuple[str, Action]],
        remove_card: Action,
        *,
        shortcut_host: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`shortcut_host`: the widget the keys belong to (the kiosk window,
        so that they work while the panel is closed); default the panel."""
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self._citizens = list(citizens)
        self._remove_card = remove_card
        self.setObjectName("simulator-panel")
        self.setStyleSheet(
            f"""
            QWidget#simulator-panel {{ background: {PALETTE.surface}; }}
            QWidget {{ font-family: "Noto Sans", "DejaVu Sans"; font-size: 14pt; color: {PALETTE.text}; }}
            QPushButton {{ padding: 6px 14px; min-height: 36px; border: 2px solid {PALETTE.border};
                           border-radius: 8px; background: {PALETTE.background}; color: {PALETTE.secondary_text}; }}
            QPushButton:pressed {{ background: {PALETTE.pressed_bg}; }}
            QLabel#simulator-title {{ font-weight: bold; }}
            """
        )

        layout = QVBoxLayout(self)
        self.title = QLabel()
        self.title.setObjectName("simulator-title")
        layout.addWidget(self.title)
        grid = QGridLayout()
        layout.addLayout(grid)
        self.place_buttons: list[QPushButton] = []
        self.citizen_labels: list[QLabel] = []
        for row, (name, action) in enumerate(self._citizens):
            key = f"[{row + 1}] " if row < MAX_KEYED_CITIZENS else ""
            who = QLabel(f"{key}{name}")
            place = QPushButton()
            place.clicked.connect(lambda _=False, act=action: self._run(act))
            grid.addWidget(who, row, 0)
            grid.addWidget(place, row, 1)
            self.citizen_labels.append(who)
            self.place_buttons.append(place)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(lambda: self._run(self._remove_card))
        layout.addWidget(self.remove_button)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        host = shortcut_host or self
        self.shortcuts: dict[str, QShortcut] = {}
        for index, (_name, action) in enumerate(self._citizens[:MAX_KEYED_CITIZENS]):
            self._shortcut(host, str(index + 1), Qt.Key(Qt.Key.Key_1.value + index), action)
        self._shortcut(host, "0", Qt.Key.Key_0, self._remove_card)
        self.retranslate()

    def _shortcut(self, host: QWidget, name: str, key: Qt.Key, action: Action) -> None:
        for sequence in (QKeySequence(key), QKeySequence(Qt.KeyboardModifier.KeypadModifier | key)):
            shortcut = QShortcut(sequence, host)
            # Application-wide: the kiosk window, not the panel, has focus.
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda act=action: self._run(act))
            self.shortcuts.setdefault(name, shortcut)

    @staticmethod
    def _run(action: Action) -> None:
        try:
            action()
        except Exception as exc:  # a demo hiccup must not take the kiosk down
            log.error("simulator action failed: %s", type(exc).__name__)

    def retranslate(self) -> None:
        self.setWindowTitle(translate("SimulatorPanel", "Mô phỏng thẻ CCCD (demo)"))
        self.title.setText(translate("SimulatorPanel", "Mô phỏng thẻ CCCD (demo)"))
        for b in self.place_buttons:
            b.setText(translate("SimulatorPanel", "Đặt thẻ"))
        self.remove_button.setText(translate("SimulatorPanel", "Nhấc thẻ"))
        self.hint.setText(translate("SimulatorPanel", "Phím 1–4: đặt thẻ mẫu 1–4. Phím 0: nhấc thẻ."))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

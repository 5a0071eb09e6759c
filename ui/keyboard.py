"""The on-screen keyboard for text fields: Qt Virtual Keyboard, Vietnamese first.

A kiosk has no physical keyboard. The technician's text fields (hub address,
kiosk id, secret, configuration values) are typed on Qt Virtual Keyboard's
vi_VN layout (diacritics by pressing and holding a vowel: e → è é ẻ ẽ ẹ ê ề
ế ể ễ ệ, d → đ), with English (en_US) one tap away on the globe key. Patients
never see it: their only typing is the 12-digit ID, on the kiosk's own large
keypad (ui/screens/keypad.py), which is buttons, not a text field.

Why the keyboard lives inside the kiosk window (Qt's "application"
integration: an `InputPanel` in a QQuickWidget at the bottom of the window)
and not in the plugin's own top-level window ("desktop" integration), as
measured on this project's stack (PySide6 6.11, cage 0.1.4, Debian 12):

- Under cage, the session the kiosk runs in (packaging/deb/kiosk/), the
  desktop keyboard window never appeared: with a QLineEdit focused and
  `QInputMethod.show()` called, the panel's window stayed unmapped and
  `QInputMethod.isVisible()` false (Qt's Wayland client logs "qtvirtualkeyboard
  currently is not supported at client-side"). A Wayland client cannot place
  a window at the bottom of the screen anyway, and cage maximises the
  windows it maps.
- On X11 without a window manager (Xvfb) the desktop panel did appear, as a
  second 1280x800 top-level window over the whole kiosk.
- The embedded panel worked in all three: tests/ui_keyboard_session.py
  passes offscreen (what `make test` runs), under Xvfb and inside cage on
  Wayland. It stays under the window's lockdown (no second window to escape
  to), and the page above it shrinks instead of being covered.

The platform input context is chosen when the QApplication is created, from
QT_IM_MODULE: `prepare()` must run before it. When the plugin is missing
(an install without PySide6-Addons) or the panel's QML does not load, the
kiosk starts without an on-screen keyboard and says so once in the log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, MutableMapping
from pathlib import Path

from PySide6.QtCore import SIGNAL, Q_ARG, QEvent, QLibraryInfo, QMetaObject, QObject, Qt, QTimer, QUrl
from PySide6.QtGui import QGuiApplication, QMoveEvent, QPaintEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QScrollArea, QWidget

from ui.i18n import ENGLISH, VIETNAMESE, LanguageSwitch

log = logging.getLogger(__name__)

IM_MODULE = "qtvirtualkeyboard"
# Application integration: no top-level keyboard window of the plugin's own;
# the kiosk window holds the InputPanel (see the module's docstring).
DESKTOP_DISABLE = "QT_VIRTUALKEYBOARD_DESKTOP_DISABLE"
PLUGIN_GLOB = "*qtvirtualkeyboardplugin*"
# vi_VN first: the kiosk's language (both layouts ship inside Qt's
# libqtvkblayoutsplugin; vi_VN/main.qml carries the Vietnamese vowels).
LOCALE_FOR_LANGUAGE = {VIETNAMESE: "vi_VN", ENGLISH: "en_US"}
LOCALES = (LOCALE_FOR_LANGUAGE[VIETNAMESE], LOCALE_FOR_LANGUAGE[ENGLISH])
# The keyboard's largest share of the window's height. At 1280x800 this
# leaves the top bar and the technician page their minimum (the stack's
# tallest screen); the keys are then about 96x72 px, 25x19 mm at 96 dpi,
# above the 15 mm touch target.
MAX_SHARE = 0.4

_QML = b"""
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Item {
    id: root
    readonly property bool active: panel.active
    readonly property string locale: InputContext.locale
    readonly property real panelHeight: panel.height
    // Set from Python: the keyboard's largest height. The panel takes its
    // height from its width (the style's design aspect ratio), so a panel
    // that would be taller is made narrower and centred.
    property real maxHeight: 0
    // Toggled by Python after the first frame each time the panel comes on
    // screen. Measured with Qt 6.11: a size set while the view was hidden
    // left the bottom row's fixed-width keys at their design sizes (the space
    // bar 0 px wide, a tap on it typed "."); a one-pixel change of height
    // seen while rendering lays the rows out again.
    property int nudge: 0
    readonly property var style: panel.keyboard.style
    Rectangle {
        // The bands beside a narrowed panel, in the keyboard's own colour.
        anchors.fill: parent
        color: "#14171a"
    }
    InputPanel {
        id: panel
        objectName: "inputPanel"
        width: root.maxHeight > 0 && root.style
               ? Math.min(root.width - root.nudge, (root.maxHeight - root.nudge) * root.style.keyboardDesignWidth / root.style.keyboardDesignHeight)
               : root.width - root.nudge
        x: (root.width - width) / 2
        y: 0
        // Two languages: the globe key toggles, one tap, no list to pick from.
        externalLanguageSwitchEnabled: true
        onExternalLanguageSwitch: function(localeList, currentIndex) {
            VirtualKeyboardSettings.locale = localeList[(currentIndex + 1) % localeList.length]
        }
    }
    function useLocales(names, current) {
        VirtualKeyboardSettings.activeLocales = names
        VirtualKeyboardSettings.locale = current
    }
    function setLocale(name) {
        VirtualKeyboardSettings.locale = name
    }
}
"""

_said_unavailable = False


class KeyboardUnavailable(RuntimeError):
    """The on-screen keyboard cannot run here (plugin or QML module missing)."""


def _say_unavailable(reason: str) -> None:
    """Once per process: the kiosk works on, a technician needs a USB keyboard."""
    global _said_unavailable
    if not _said_unavailable:
        _said_unavailable = True
        log.warning("on-screen keyboard unavailable (%s); text fields take a hardware keyboard only", reason)


def plugin_dirs(environ: MutableMapping[str, str] | None = None) -> list[Path]:
    """Where Qt looks for platform input context plugins: QT_PLUGIN_PATH, then
    Qt's own plugin folder (QCoreApplication's default library paths)."""
    env = os.environ if environ is None else environ
    dirs = [Path(p) for p in env.get("QT_PLUGIN_PATH", "").split(os.pathsep) if p]
    dirs.append(Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)))
    return dirs


def plugin_present(dirs: Iterable[Path]) -> bool:
    return any(any((d / "platforminputcontexts").glob(PLUGIN_GLOB)) for d in dirs)


def prepare(enabled: bool, *, search: Iterable[Path] | None = None, environ: MutableMapping[str, str] | None = None) -> bool:
    """Choose Qt Virtual Keyboard as the input method; call before the
    QApplication exists. True when the on-screen keyboard will be there."""
    env = os.environ if environ is None else environ
    if not enabled:
        return False
    if not plugin_present(plugin_dirs(env) if search is None else search):
        _say_unavailable("Qt Virtual Keyboard plugin not installed")
        return False
    if QGuiApplication.instance() is not None and env.get("QT_IM_MODULE") != IM_MODULE:
        # Qt read QT_IM_MODULE when the application was created.
        _say_unavailable("the Qt application already exists")
        return False
    env["QT_IM_MODULE"] = IM_MODULE
    env[DESKTOP_DISABLE] = "1"
    return True


def in_use() -> bool:
    """The application's input method is Qt Virtual Keyboard (set before it was created)."""
    return os.environ.get("QT_IM_MODULE") == IM_MODULE and QGuiApplication.instance() is not None


def takes_text(obj: QObject | None) -> bool:
    """A widget a person types letters into (the keyboard should show)."""
    if not isinstance(obj, QWidget) or not obj.isEnabled():
        return False
    if not obj.testAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled):
        return False
    return not (isinstance(obj, QLineEdit) and obj.isReadOnly())


class OnScreenKeyboard(QWidget):
    """The InputPanel in a QQuickWidget, shown while a text field has the focus.

    Placed by the window at the bottom of its layout; it is only as tall as
    the keyboard (Qt sizes the panel from its width) and hidden otherwise.
    """

    def __init__(self, language: LanguageSwitch | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            from PySide6.QtQml import QQmlComponent
            from PySide6.QtQuickWidgets import QQuickWidget
        except ImportError as exc:  # PySide6 without Qt Quick
            raise KeyboardUnavailable(type(exc).__name__) from exc
        from PySide6.QtWidgets import QVBoxLayout

        self.setObjectName("on-screen-keyboard")
        self._nudge_pending = False
        self._root_gone = True  # until the panel has loaded
        drawn = self._frame_drawn

        class PanelView(QQuickWidget):
            def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
                super().paintEvent(event)
                drawn()

        self.view = PanelView(self)
        self.view.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        # A tap on a key must leave the focus in the field being typed into.
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.view.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        component = QQmlComponent(self.view.engine())
        url = QUrl("ui/keyboard/OnScreenKeyboard.qml")
        component.setData(_QML, url)
        root = component.create() if component.isReady() else None
        if root is None:
            problems = "; ".join(e.toString() for e in component.errors()) or "the panel did not load"
            raise KeyboardUnavailable(problems)
        self.view.setContent(url, component, root)
        self._component = component  # the view does not own it
        self.root = root
        self._root_gone = False
        root.destroyed.connect(self._forget_root)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self._call("useLocales", list(LOCALES), LOCALES[0])
        # QML-declared properties: their notify signals by signature.
        QObject.connect(root, SIGNAL("activeChanged()"), self._active_changed)
        QObject.connect(root, SIGNAL("panelHeightChanged()"), self._fit)
        self._language = language
        if language is not None:
            language.language_changed.connect(self.follow_language)
            self.follow_language(language.language)
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.focusObjectChanged.connect(self._focus_changed)
        if parent is not None:
            parent.window().installEventFilter(self)  # refit on a new screen size
        self.hide()

    # -- state --------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """The panel is up (the input method is asked to show)."""
        return bool(self.root.property("active"))

    def locale(self) -> str:
        """The keyboard's current layout, e.g. "vi_VN"."""
        return str(self.root.property("locale"))

    def set_locale(self, name: str) -> None:
        if name not in LOCALES:
            raise ValueError(f"no keyboard layout {name!r}")
        self._call("setLocale", name)

    def _call(self, function: str, *args: object) -> None:
        QMetaObject.invokeMethod(self.root, function, *(Q_ARG("QVariant", a) for a in args))

    def follow_language(self, language: str) -> None:
        """The screens switched language: the keyboard's layout follows."""
        self.set_locale(LOCALE_FOR_LANGUAGE.get(language, LOCALES[0]))

    # -- showing --------------------------------------------------------------------------

    def _focus_changed(self, obj: QObject | None) -> None:
        # Qt Widgets only asks for the panel on a second tap of a focused
        # field (QStyle::SH_RequestSoftwareInputPanel); a technician expects
        # it on the first, and when a page puts the cursor in a field.
        if not self._alive():
            return
        method = QGuiApplication.inputMethod()
        if takes_text(obj) and obj.window() is self.window():  # type: ignore[union-attr]
            method.show()
        elif method.isVisible():
            method.hide()

    def _forget_root(self) -> None:
        self._root_gone = True

    def _alive(self) -> bool:
        # At shutdown the view deletes the QML items before this widget goes.
        if self._root_gone:
            return False
        try:
            self.root.objectName()
        except RuntimeError:  # the C++ item is gone, its Python wrapper not yet
            self._root_gone = True
        return not self._root_gone

    def _active_changed(self) -> None:
        if not self._alive():
            return
        self._fit()
        self.setVisible(self.active)
        if self.active:
            self._nudge_pending = True

    def _frame_drawn(self) -> None:
        # The first frame after the panel came on screen: now a size change
        # makes Qt Quick lay the rows out again (see `nudge` in the QML).
        if self._nudge_pending and self._alive() and self.isVisible():
            self._nudge_pending = False
            QTimer.singleShot(0, self._nudge)

    def _nudge(self) -> None:
        if self._alive():
            self.root.setProperty("nudge", 1 - int(self.root.property("nudge") or 0))

    def _fit(self) -> None:
        """As tall as the panel, and the panel at most MAX_SHARE of the
        window's height (Qt sizes it from its width: on a wide screen the
        full width would leave no room for the page above)."""
        if not self._alive():
            return
        window = self.window()
        if window is not None and window.height() > 0:
            limit = MAX_SHARE * window.height()
            if abs(float(self.root.property("maxHeight") or 0) - limit) >= 1:
                self.root.setProperty("maxHeight", limit)
        height = int(round(float(self.root.property("panelHeight") or 0)))
        if height > 0 and height != self.height():
            self.setFixedHeight(height)

    def moveEvent(self, event: QMoveEvent) -> None:  # noqa: N802 - Qt override
        # Laid out at the bottom: the page above has just shrunk.
        super().moveEvent(event)
        QTimer.singleShot(0, self.reveal_focus)

    def reveal_focus(self) -> None:
        """Scroll the field being typed into back into view (pages scroll)."""
        focus = QApplication.focusWidget()
        if focus is None or not self.isVisible() or focus.window() is not self.window():
            return
        parent = focus.parentWidget()
        while parent is not None:
            if isinstance(parent, QScrollArea):
                parent.ensureWidgetVisible(focus, 0, 16)
            parent = parent.parentWidget()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and obj is self.window():
            self._fit()
        return False


def attach_keyboard(window: QWidget, language: LanguageSwitch | None) -> OnScreenKeyboard | None:
    """The window's on-screen keyboard, or None (logged once) when it cannot run."""
    if not in_use():
        _say_unavailable("QT_IM_MODULE is not qtvirtualkeyboard")
        return None
    try:
        return OnScreenKeyboard(language, window)
    except KeyboardUnavailable as exc:
        _say_unavailable(str(exc))
        return None

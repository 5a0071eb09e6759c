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
  desktop keyboard window never appears: Qt's Wayland client refuses the
  plugin's top-level panel ("qtvirtualkeyboard currently is not supported at
  client-side"), `QInputMethod.isVisible()` stays false, nothing can be
  typed. Even where a second top-level shows, cage maximises every window
  it maps and a Wayland client cannot place a window at the bottom of the
  screen, so it would cover the field being typed into.
- The embedded panel worked in the same cage session (a focused QLineEdit
  received "Bệnh viện"), on the offscreen platform the tests use, and on X11.
  It also stays under the window's lockdown (no second window to escape to),
  and the page above it shrinks instead of being covered.

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

from PySide6.QtCore import QLibraryInfo, QObject, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit, QWidget

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

_QML = b"""
import QtQuick
import QtQuick.VirtualKeyboard
import QtQuick.VirtualKeyboard.Settings

Item {
    id: root
    readonly property bool active: panel.active
    readonly property string locale: InputContext.locale
    readonly property real panelHeight: panel.height
    InputPanel {
        id: panel
        objectName: "inputPanel"
        width: root.width
        y: 0
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
    if QGuiApplication.instance() is not None and env.get("QT_IM_MODULE") != IM_MODULE:
        # Qt read QT_IM_MODULE when the application was created.
        _say_unavailable("the Qt application already exists")
        return False
    if not plugin_present(plugin_dirs(env) if search is None else search):
        _say_unavailable("Qt Virtual Keyboard plugin not installed")
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
        self.view = QQuickWidget(self)
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        root.useLocales(list(LOCALES), LOCALES[0])
        root.activeChanged.connect(self._active_changed)
        root.panelHeightChanged.connect(self._fit)
        self._language = language
        if language is not None:
            language.language_changed.connect(self.follow_language)
            self.follow_language(language.language)
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.focusObjectChanged.connect(self._focus_changed)
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
        self.root.setLocale(name)

    def follow_language(self, language: str) -> None:
        """The screens switched language: the keyboard's layout follows."""
        self.set_locale(LOCALE_FOR_LANGUAGE.get(language, LOCALES[0]))

    def panel(self) -> QObject:
        found = self.root.findChild(QObject, "inputPanel")
        assert found is not None
        return found

    # -- showing --------------------------------------------------------------------------

    def _focus_changed(self, obj: QObject | None) -> None:
        # Qt Widgets only asks for the panel on a second tap of a focused
        # field (QStyle::SH_RequestSoftwareInputPanel); a technician expects
        # it on the first, and when a page puts the cursor in a field.
        method = QGuiApplication.inputMethod()
        if takes_text(obj) and obj.window() is self.window():  # type: ignore[union-attr]
            method.show()
        elif method.isVisible():
            method.hide()

    def _active_changed(self) -> None:
        self._fit()
        self.setVisible(self.active)

    def _fit(self) -> None:
        height = int(round(float(self.root.property("panelHeight") or 0)))
        if height > 0:
            self.setFixedHeight(height)


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

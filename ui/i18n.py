"""Languages: Vietnamese first, English on request, with Qt's own mechanism.

Source strings in the code are Vietnamese (`translate("Context", "Bắt đầu")`);
English lives in `assets/translations/kiosk_en.ts` and its compiled
`kiosk_en.qm` (pyside6-lupdate extracts, a person translates, pyside6-lrelease
compiles; a test checks the .qm is current and nothing is left untranslated).

Installing or removing the QTranslator makes Qt send `LanguageChange` to
every widget, and each screen redraws its text in `changeEvent`. Data that
carries both languages itself (department names, insurance messages, error
guidance) is chosen with `LanguageSwitch.pick`.

There is one translator per application, because Qt's translators are
application-wide: two windows cannot show two languages anyway.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTranslator, Signal

log = logging.getLogger(__name__)

VIETNAMESE = "vi"
ENGLISH = "en"
LANGUAGES = (VIETNAMESE, ENGLISH)

# Re-exported so that screens write `translate("Idle", "...")`: pyside6-lupdate
# recognises a call named `translate` with a literal context and text.
translate = QCoreApplication.translate


def translations_dir() -> Path:
    """Where kiosk_<lang>.qm live (inside the installed `assets` package)."""
    return Path(str(resources.files("assets").joinpath("translations")))


class LanguageSwitch(QObject):
    """The application's current language. Get it with `LanguageSwitch.shared()`."""

    language_changed = Signal(str)

    _shared: LanguageSwitch | None = None

    def __init__(self, directory: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._language = VIETNAMESE
        self._translator = QTranslator(self)
        self._installed = False
        qm = (directory or translations_dir()) / "kiosk_en.qm"
        self._english_available = self._translator.load(str(qm))
        if not self._english_available:
            # The kiosk still works in Vietnamese; the switch hides itself.
            log.error("English translation not loaded from %s; English is unavailable", qm)

    @classmethod
    def shared(cls) -> LanguageSwitch:
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before the language switch")
        # One per application (tests create one application per run).
        if cls._shared is None or cls._shared.parent() is not app:
            cls._shared = cls(parent=app)
        return cls._shared

    @property
    def language(self) -> str:
        return self._language

    def available(self) -> tuple[str, ...]:
        return LANGUAGES if self._english_available else (VIETNAMESE,)

    def set_language(self, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        if language == ENGLISH and not self._english_available:
            language = VIETNAMESE
        app = QCoreApplication.instance()
        want_installed = language == ENGLISH
        if app is not None and want_installed != self._installed:
            # Both calls post a LanguageChange event to every widget.
            if want_installed:
                app.installTranslator(self._translator)
            else:
                app.removeTranslator(self._translator)
            self._installed = want_installed
        if language != self._language:
            self._language = language
            self.language_changed.emit(language)

    def pick(self, vietnamese: str, english: str) -> str:
        """The text of a bilingual data field (name_vi/name_en, message_vi/en)."""
        if self._language == ENGLISH and english:
            return english
        return vietnamese

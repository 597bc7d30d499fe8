"""UI language: Qt translators for Seatmate's strings and Qt's own (qtbase).

Source strings are English; zh_CN is the default product language. The
language can be switched at run time: installing a translator makes Qt send
a LanguageChange event to every widget, and widgets re-apply their texts.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QObject, QTranslator

from app.resource_files import resource

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh_CN"
SUPPORTED = ("zh_CN", "en")


def resolve_language(setting: str | None, system: QLocale | None = None) -> str:
    """Settings win; "system"/empty follows the OS locale; anything unknown is zh_CN."""
    if setting and setting != "system":
        if setting in SUPPORTED:
            return setting
        if setting.lower().startswith("en"):
            return "en"
        if setting.lower().startswith("zh"):
            return "zh_CN"
        log.warning("unknown language setting %r, using %s", setting, DEFAULT_LANGUAGE)
        return DEFAULT_LANGUAGE
    locale = system or QLocale.system()
    if locale.language() == QLocale.Language.English:
        return "en"
    return DEFAULT_LANGUAGE


class Translations(QObject):
    """Owns the installed translators so the language can be swapped in place.

    One per application (``Translations.of(app)``): a second owner could not
    remove the first one's translators and the languages would mix.
    """

    @classmethod
    def of(cls, app: QCoreApplication) -> Translations:
        existing = app.findChild(cls, "seatmate-translations")
        return existing if existing is not None else cls(app)

    def __init__(self, app: QCoreApplication):
        super().__init__(app)
        self.setObjectName("seatmate-translations")
        self._app = app
        self._installed: list[QTranslator] = []
        self.language: str | None = None

    def apply(self, language: str) -> str:
        language = language if language in SUPPORTED else DEFAULT_LANGUAGE
        for translator in self._installed:
            self._app.removeTranslator(translator)
        self._installed.clear()

        # Qt's own strings first (standard dialogs, context menus), then ours.
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        qt = QTranslator(self)
        if qt.load(f"qtbase_{language}", qt_dir):
            self._install(qt)
        elif language != "en":
            log.warning("Qt's qtbase_%s translation not found in %s", language, qt_dir)

        ours = QTranslator(self)
        qm = resource("i18n", f"seatmate_{language}.qm")
        if ours.load(str(qm)):
            self._install(ours)
        elif language != "en":
            # English needs no file (source text); Chinese without it is a broken build.
            log.error("translation %s missing: run `python -m app.i18n_build`", qm)

        # Dates and numbers follow the UI language (2026年11月25日, 1,234.5).
        QLocale.setDefault(QLocale("zh_CN" if language == "zh_CN" else "en_US"))
        self.language = language
        log.info("UI language set to %s", language)
        return language

    def _install(self, translator: QTranslator) -> None:
        self._app.installTranslator(translator)
        self._installed.append(translator)

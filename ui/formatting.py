"""Display formatting that follows the UI locale (QLocale.setDefault by app.i18n):
zh_CN gives 2026/10/28, 2026年10月28日星期三, ¥3,120.00."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QDateTime, QLocale, QTime


def date_short(value: dt.date | None) -> str:
    if value is None:
        return ""
    return QLocale().toString(QDate(value.year, value.month, value.day), QLocale.FormatType.ShortFormat)


def date_long(value: dt.date | None) -> str:
    if value is None:
        return ""
    return QLocale().toString(QDate(value.year, value.month, value.day), QLocale.FormatType.LongFormat)


def datetime_short(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    qdt = QDateTime(QDate(value.year, value.month, value.day), QTime(value.hour, value.minute))
    return QLocale().toString(qdt, QLocale.FormatType.ShortFormat)


def money(value: int | float | None) -> str:
    if value is None:
        return ""
    return QLocale().toCurrencyString(float(value), "¥")


def integer(value: int) -> str:
    return QLocale().toString(int(value))



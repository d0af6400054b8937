"""The dashboard's languages: gettext catalogues (Babel) and locale-aware formatting.

Message ids are the English strings, so English needs no catalogue. The zh-CN
translations live in ``locale/zh_CN/LC_MESSAGES/*.po``, one file per part of
the dashboard; they are read and compiled in memory on first use, so the
dashboard runs from a source checkout with no build step.
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

LOCALES = ("zh-CN", "en")
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}
_PACKAGE = "shequn.web"


def _babel(locale: str) -> str:
    return locale.replace("-", "_")


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> gettext.NullTranslations:
    """All catalogues of ``locale`` merged into one; English is the identity."""
    folder = resources.files(_PACKAGE).joinpath("locale", _babel(locale), "LC_MESSAGES")
    if not folder.is_dir():
        return gettext.NullTranslations()
    merged: Translations | None = None
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as fh:
            catalog = read_po(fh, locale=_babel(locale))
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(fp=buffer)
        merged = part if merged is None else merged.merge(part)
    return merged or gettext.NullTranslations()


def normalise(value: str | None) -> str | None:
    """One of LOCALES for a tag like ``zh``, ``zh_CN``, ``zh-Hans-CN`` or ``en-GB``; else None."""
    if not value:
        return None
    try:
        parsed = Locale.parse(value.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return None
    if parsed.language == "zh":
        return "zh-CN"
    if parsed.language == "en":
        return "en"
    return None


def negotiate(preferred: str | None, accept_language: str | None, default: str) -> str:
    """The operator's own setting, else the browser's first language we speak, else the default."""
    if found := normalise(preferred):
        return found
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, index, tag))
    for quality, _, tag in sorted(weighted):
        if quality < 0 and (found := normalise(tag)):
            return found
    return normalise(default) or LOCALES[0]


class Formatter:
    """Numbers, dates and times for one locale, in the community's time zone."""

    def __init__(self, locale: str, timezone: str) -> None:
        # Parsed once: Babel re-parses a locale given as a string on every call, which
        # costs more than the formatting itself on a page of a few thousand figures.
        self.locale = Locale.parse(_babel(locale))
        self.zone = ZoneInfo(timezone)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.locale)

    def percent(self, value: float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        fmt = "0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=fmt, locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "–"
        return format_datetime(value, "yyyy-MM-dd HH:mm", tzinfo=self.zone, locale=self.locale)

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return "–"
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, "medium", locale=self.locale)

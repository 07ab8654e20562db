"""Translations: gettext catalogues for Vietnamese and English, compiled in memory from the .po files."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from functools import cache
from importlib import resources

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
TIMEZONE = "Asia/Ho_Chi_Minh"
_NUMBERS_KEPT = 4096  # whole numbers a translator keeps formatted (a bound: a process runs for months)


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; translate it later with `_()`."""
    return message


@cache
def _translations(language: str) -> Translations:
    # Compiling at first use means a plain `pip install .` needs no build step for .mo files.
    po = resources.files("locales").joinpath(language, "LC_MESSAGES", "messages.po")
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain="messages")


def normalise_language(code: str | None) -> str | None:
    """'vi-VN' → 'vi', 'en_US' → 'en'; None for anything we do not speak."""
    if not code:
        return None
    short = code.replace("_", "-").split("-")[0].lower()
    return short if short in LANGUAGES else None


class Translator:
    """Per-message translator handed to handlers: `t._("Hello")`, numbers and dates in the locale."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = normalise_language(language) or DEFAULT_LANGUAGE
        self._catalog = _translations(self.language)
        self.locale = Locale.parse(self.language)
        self._numbers: dict[int, str] = {}  # whole numbers as formatted in this language

    def _(self, message: str, /, **params: object) -> str:
        text = self._catalog.gettext(message)
        return text.format(**params) if params else text

    def n_(self, singular: str, plural: str, n: int, /, **params: object) -> str:
        text = self._catalog.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **params)

    def number(self, value: int | float | Decimal, *, digits: int | None = None) -> str:
        if digits is None and type(value) is int:
            # Whole numbers (counts, pages, stars) recur in every list a chat is shown: formatted once each
            # (Babel's pattern formatting costs ≈20 µs a call).
            text = self._numbers.get(value)
            if text is None:
                if len(self._numbers) >= _NUMBERS_KEPT:
                    self._numbers.clear()
                text = self._numbers[value] = format_decimal(value, locale=self.locale)
            return text
        if digits is not None:
            value = round(value, digits)
        return format_decimal(value, locale=self.locale)

    def date(self, value: dt.date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        return format_datetime(value, "short", tzinfo=TIMEZONE, locale=self.locale)

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"


@cache
def translator(language: str | None) -> Translator:
    return Translator(normalise_language(language) or DEFAULT_LANGUAGE)

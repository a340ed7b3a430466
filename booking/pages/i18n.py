"""Languages of the pages: Japanese first, English second.

Every text of the pages is an English msgid in the code or a template, translated by the
gettext catalog `locale/ja/LC_MESSAGES/messages.po` (English is the msgid itself). The
catalog is compiled in memory at start-up with Babel: no compiled file to keep in step.
Dates and yen are formatted by Babel per locale (CLDR).
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from babel.core import negotiate_locale
from babel.dates import format_skeleton, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

Lang = Literal["ja", "en"]
LANGS: tuple[Lang, ...] = ("ja", "en")
DEFAULT_LANG: Lang = "ja"
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"
# A list's separator: 平日、土曜日 in Japanese, "Weekdays, Saturdays" in English.
LIST_SEPARATORS: dict[Lang, str] = {"ja": "、", "en": ", "}
LABEL_COLONS: dict[Lang, str] = {"ja": "：", "en": ": "}
# Values of a message that are names, not quantities: shown as they are (予約 12345, not 12,345).
NOT_QUANTITIES = frozenset({"id", "number"})


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark a message for the catalog where it is defined; it is translated where shown."""
    return message


@cache
def translations(lang: Lang) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@lru_cache(maxsize=8192)
def _skeleton(skeleton: str, value: date, lang: Lang) -> str:
    """A date in CLDR's pattern for the skeleton: a month grid formats hundreds of days a page,
    the same ones on every request."""
    return format_skeleton(skeleton, value, locale=lang)


def parse_lang(value: str | None) -> Lang | None:
    return value if value in LANGS else None


def choose_lang(cookie: str | None, accept_language: str | None) -> Lang:
    """The language of a page: the visitor's choice (the cookie) wins; on a first visit, the
    browser's Accept-Language (RFC 9110: q-values, en-US counts as en); else Japanese."""
    chosen = parse_lang(cookie)
    if chosen is not None:
        return chosen
    found = negotiate_locale(_preferred(accept_language or ""), LANGS, sep="-")
    return parse_lang(found.lower() if found else None) or DEFAULT_LANG


def _preferred(header: str) -> list[str]:
    """The header's language ranges, most wanted first; q=0 means "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def join_list(items: Iterable[Any], lang: Lang) -> str:
    """A list in the language's way: 平日、土曜日、日曜・祝日 / Weekdays, Saturdays."""
    return LIST_SEPARATORS[lang].join(str(item) for item in items)


def number(value: int, lang: Lang) -> str:
    """A count with the language's separators: 1,227 (both languages use the comma)."""
    return format_decimal(value, locale=lang)


def _shown(values: Mapping[str, Any], lang: Lang) -> dict[str, Any]:
    """A message's values as shown: quantities with separators (1,227件), ids as they are."""
    return {
        key: number(value, lang)
        if isinstance(value, int) and not isinstance(value, bool) and key not in NOT_QUANTITIES
        else value
        for key, value in values.items()
    }


@dataclass(frozen=True, slots=True)
class Texts:
    """The request's language: translate, and format dates, times and money."""

    lang: Lang
    tz: ZoneInfo

    def gettext(self, message: str, **values: Any) -> str:
        text = translations(self.lang).gettext(message)
        return text % _shown(values, self.lang) if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(self.lang).ngettext(singular, plural, n)
        return text % _shown({"n": n, **values}, self.lang)

    @property
    def separator(self) -> str:
        """Between a list's items where a template writes them one by one (links, marks)."""
        return LIST_SEPARATORS[self.lang]

    @property
    def colon(self) -> str:
        """Between a label and its value written by a template: 理由：… / Reason: …"""
        return LABEL_COLONS[self.lang]

    def join(self, items: Iterable[Any]) -> str:
        return join_list(items, self.lang)

    def number(self, value: int) -> str:
        return number(value, self.lang)

    def name(self, record: Any) -> str:
        """A name from the data, which carries both languages (name_ja, name_en)."""
        ja: str = record.name_ja
        en: str = record.name_en
        return ja if self.lang == "ja" or not en else en

    def named(self, names: Mapping[str, tuple[str, str]], key: str) -> str:
        ja, en = names.get(key, (key, key))
        return ja if self.lang == "ja" else en

    def day(self, value: date) -> str:
        """2月10日(水) / Wed, Feb 10"""
        return _skeleton("MMMEd", value, self.lang)

    def long_day(self, value: date) -> str:
        """2027年2月10日(水) / Wed, Feb 10, 2027"""
        return _skeleton("yMMMEd", value, self.lang)

    def month(self, value: date) -> str:
        """2027年2月 / February 2027"""
        return _skeleton("yMMMM", value, self.lang)

    def time(self, value: time) -> str:
        return format_time(value, "HH:mm", locale=self.lang)

    def moment(self, value: datetime) -> str:
        """A point in time, in the city's zone."""
        value = value.astimezone(self.tz)
        return f"{self.long_day(value.date())} {self.time(value.time())}"

    def yen(self, amount: int) -> str:
        return format_currency(amount, "JPY", locale="ja_JP" if self.lang == "ja" else "en")

"""The Japanese catalog against the messages the pages use.

The messages are extracted as `pybabel extract` does, with babel.cfg's mapping (Python
files and Jinja2 templates of booking/pages, Python files of booking/statistics) and the
keywords the code uses: `_`, `N_`, `gettext`, `ngettext`, and `Form.error(field, message)`,
whose message is translated where it is shown. The template messages.pot is made the same way:

    pybabel extract -F babel.cfg -k error:2 --omit-header --no-location --sort-output \
        -o booking/pages/locale/messages.pot .
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

import booking
from booking.pages.forms import ERROR_MESSAGES

ROOT = Path(__file__).parents[2]
PAGES = "booking/pages"
# The packages whose messages the pages show: the pages' own and the statistics' figures.
SHOWN = (PAGES, "booking/statistics")
LOCALE = ROOT / PAGES / "locale"
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "error": (2,)}
EXTRACTORS = {"python": "python", "jinja2": "jinja2.ext:babel_extract"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
# Codes of the API's own operations (API tokens, a card number for an activation): no
# page calls them, so no page shows their words.
API_ONLY_CODES = {
    "card_numbers_exhausted",
    "invalid_token",
    "session_required",
    "token_not_found",
}

Msgid = str | tuple[str, str]


def _key(msgid: Msgid) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


@cache
def used() -> dict[str, Msgid]:
    """Every message of the pages' code and templates, with where it was found."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    methods = [(pattern, EXTRACTORS[method]) for pattern, method in method_map]

    def on_the_way(path: str) -> bool:  # walk those packages only, not the whole project
        relative = Path(os.path.relpath(path, ROOT)).as_posix()
        return any(shown.startswith(relative) or relative.startswith(shown) for shown in SHOWN)

    found: dict[str, Msgid] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map=methods,
        options_map=options_map,
        keywords=KEYWORDS,
        directory_filter=on_the_way,
    ):
        msgid = message if isinstance(message, str) else (message[0], message[1])
        assert _key(msgid), f"{filename}:{lineno}: an empty message"
        seen = found.setdefault(_key(msgid), msgid)
        assert seen == msgid, f"{filename}:{lineno}: {msgid!r} is also used as {seen!r}"
    return found


def _catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


def japanese() -> Catalog:
    return _catalog(LOCALE / "ja" / "LC_MESSAGES" / "messages.po", "ja")


def test_the_extraction_finds_the_pages_messages() -> None:
    """The extraction reads both kinds of file: a message of a template, of the code, of a
    Form.error call and a plural."""
    found = used()
    assert found["Skip to content"] == "Skip to content"  # base.html
    assert found["Enter a whole number."] == "Enter a whole number."  # forms.py, N_
    assert found["The last date is before the first."]  # search.py, form.error
    assert found["%(n)s applicant"] == ("%(n)s applicant", "%(n)s applicants")
    assert all(_key(m) in found for m in ERROR_MESSAGES.values())
    assert len(found) > 300


def test_every_message_has_a_japanese_translation() -> None:
    catalog = japanese()
    assert catalog.num_plurals == 1  # Japanese has one form
    missing, untranslated, fuzzy, shapes = [], [], [], []
    for key, msgid in sorted(used().items()):
        message = catalog.get(key)
        if message is None:
            missing.append(key)
            continue
        if message.fuzzy:
            fuzzy.append(key)
        if message.id != msgid:
            shapes.append(f"{msgid!r} is {message.id!r} in the catalog")
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(msgid, tuple) and len(strings) != catalog.num_plurals:
            shapes.append(f"{key!r} has {len(strings)} plural forms")
        if not all(s.strip() for s in strings):
            untranslated.append(key)
    assert not missing, f"no Japanese for: {missing}"
    assert not untranslated, f"an empty translation: {untranslated}"
    assert not fuzzy, f"a fuzzy translation: {fuzzy}"
    assert not shapes, shapes


def test_translations_keep_their_placeholders() -> None:
    """%(n)s and the like: the same names in the translation, or formatting it fails."""
    wrong = []
    for message in japanese():
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = {name for msgid in ids for name in PLACEHOLDER.findall(msgid)}
        for string in strings:
            if set(PLACEHOLDER.findall(string)) - names or (
                isinstance(message.id, str) and set(PLACEHOLDER.findall(string)) != names
            ):
                wrong.append((message.id, string))
            elif names or not isinstance(message.id, str):
                try:
                    string % dict.fromkeys(names, "1")  # it must format
                except (KeyError, ValueError, TypeError) as exc:
                    wrong.append((message.id, f"{string}: {exc}"))
    assert not wrong, wrong
    assert not [(message.id, errors) for message, errors in japanese().check() if errors], (
        "Babel's checks"
    )


def test_no_translation_is_left_over() -> None:
    """A message no code or template uses any more (its translation is dead weight)."""
    stale = sorted(_key(m.id) for m in japanese() if m.id and _key(m.id) not in used())
    assert not stale, f"translated but used nowhere: {stale}"


def test_the_template_is_up_to_date() -> None:
    """messages.pot holds exactly the messages used (regenerate it: see the docstring)."""
    template = {_key(m.id): m.id for m in _catalog(LOCALE / "messages.pot") if m.id}
    found = used()
    assert sorted(set(found) - set(template)) == [], "messages.pot lacks these"
    assert sorted(set(template) - set(found)) == [], "messages.pot has these no more used"
    assert {k: v for k, v in template.items() if v != found[k]} == {}


def test_every_error_code_the_pages_may_show_has_words() -> None:
    """A domain error shown beside a field is worded by its code (forms.ERROR_MESSAGES);
    a code with no words there is shown as a generic sentence with the English detail."""
    package = Path(booking.__file__).parent
    raised = set()
    for source in package.rglob("*.py"):
        if PAGES not in source.as_posix():
            raised |= set(re.findall(r'\bcode="([a-z_]+)"', source.read_text(encoding="utf-8")))
    assert raised, "no code found: the scan is broken"
    unworded = sorted(raised - set(ERROR_MESSAGES) - API_ONLY_CODES)
    assert not unworded, f"error codes with no words for the pages: {unworded}"
    assert not API_ONLY_CODES - raised, "an API-only code is raised no more"

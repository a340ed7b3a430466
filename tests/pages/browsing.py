"""What the page tests share: a browser's cookies, reading a page's form, counting rows."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import booking.models  # noqa: F401 - every table, for the footprint
from booking.accounts.auth import SESSION_COOKIE
from booking.db.base import Base
from booking.pages.web import ANON_CSRF_COOKIE
from tests.people import World

# The double-submit token an anonymous browser got with a form (any value: cookie = field).
ANONYMOUS_FORM_TOKEN = "anonymous-form-token-of-this-browser"


def cookies(world: World, role: str, *, lang: str | None = None) -> dict[str, str]:
    """The Cookie header of a browser: the role's session (or the anonymous form token)."""
    if role == "anonymous":
        jar = [f"{ANON_CSRF_COOKIE}={ANONYMOUS_FORM_TOKEN}"]
    else:
        jar = [f"{SESSION_COOKIE}={world.sessions[role].cookie_value}"]
    if lang is not None:
        jar.append(f"lang={lang}")
    return {"Cookie": "; ".join(jar)}


def token(world: World, role: str) -> str:
    """The csrf_token field of the role's forms."""
    if role == "anonymous":
        return ANONYMOUS_FORM_TOKEN
    return world.sessions[role].csrf_token


async def footprint(session: AsyncSession) -> dict[str, int]:
    """The number of rows of every table (the audit trail among them), in one query.

    The test's session reads in a SAVEPOINT of its own, ended at once: left open, the app's
    requests would nest theirs inside it, and the next rollback would undo them unseen."""
    await session.rollback()
    tables = Base.metadata.sorted_tables
    counts = (
        await session.execute(
            select(*[select(func.count()).select_from(t).scalar_subquery() for t in tables])
        )
    ).one()
    await session.rollback()
    return {t.name: int(n) for t, n in zip(tables, counts, strict=True)}


def changes(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def field_error(page: str, name: str) -> str | None:
    """The message shown beside a field (<p class="error" id="e-NAME">), if any."""
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}">(.*?)</p>', page, re.DOTALL)
    return html.unescape(found[1]) if found else None


def alerts(page: str) -> list[str]:
    """The messages of the form's summary of errors."""
    found = re.search(
        r'<div class="alert" role="alert" id="form-errors">(.*?)</div>', page, re.DOTALL
    )
    if not found:
        return []
    items = re.findall(r"<li>(.*?)</li>", found[1], re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


def _tag(page: str, tag: str, name: str, value: str | None = None) -> str | None:
    for found in re.finditer(rf"<{tag}\b[^>]*>", page):
        attributes = found[0]
        if f'name="{name}"' not in attributes:
            continue
        if value is not None and f'value="{html.escape(value)}"' not in attributes:
            continue
        return attributes
    return None


def input_value(page: str, name: str) -> str | None:
    """The value of the form's input NAME as the page shows it again (None: no such input)."""
    tag = _tag(page, "input", name)
    if tag is None:
        return None
    found = re.search(r'\bvalue="([^"]*)"', tag)
    return html.unescape(found[1]) if found else ""


def is_checked(page: str, name: str, value: str) -> bool:
    tag = _tag(page, "input", name, value)
    return tag is not None and re.search(r"\schecked\b", tag) is not None


def selected(page: str, name: str) -> str | None:
    """The selected option of the select NAME."""
    found = re.search(
        rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.DOTALL
    )
    if not found:
        return None
    option = re.search(r'<option value="([^"]*)" selected>', found[1])
    return html.unescape(option[1]) if option else None


def html_lang(page: str) -> str | None:
    found = re.search(r'<html lang="([a-z]+)">', page)
    return found[1] if found else None

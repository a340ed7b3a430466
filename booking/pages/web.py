"""What every page shares: the language, the form's CSRF token, rendering, security headers.

Pages call the same domain functions as the API, with the same principal: access rules live
in the services, never here. A logged-in form carries the session's CSRF token (checked by
accounts/auth.py like the API's header); an anonymous form (log in, register) carries a
double-submit token: a random cookie that a page of another site can neither read nor set.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from time import perf_counter
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from booking.accounts.access import Principal
from booking.accounts.auth import CSRF_FORM_FIELD, Authentication
from booking.accounts.sessions import csrf_matches
from booking.errors import PermissionDenied, Unauthenticated
from booking.pages.display import CONTRASTS, TEXT_SIZES, display_of
from booking.pages.i18n import LANG_COOKIE, LIST_SEPARATORS, Texts, choose_lang
from booking.web.fields import LIMITS

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ANON_CSRF_COOKIE = "booking_form"
# A long page renders this long at most before the event loop serves the others waiting.
RENDER_SLICE_SECONDS = 0.002

# No inline script or style anywhere: htmx reads its settings from a <meta> tag.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a misspelt variable is an error, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
    )
    environment.globals["static"] = static_url
    environment.globals["limits"] = LIMITS
    environment.globals["display_of"] = display_of  # the text size and contrast chosen
    environment.globals["text_sizes"], environment.globals["contrasts"] = TEXT_SIZES, CONTRASTS
    environment.filters["options"] = name_options
    environment.filters["period_options"] = period_options
    environment.filters["page_url"] = page_url
    environment.filters["translated"] = translated
    environment.filters["fromiso"] = date.fromisoformat
    environment.filters["join_list"] = join_list_filter
    environment.filters["number"] = number_filter
    environment.filters["bracketed"] = bracketed
    environment.filters["period_label"] = period_label
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


@cache
def static_url(name: str) -> str:
    """The file's URL with a content hash, so browsers may cache it for a year."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/static/{name}?v={digest}"


def name_options(names: Mapping[str, tuple[str, str]], lang: str) -> list[tuple[str, str]]:
    return [(key, ja if lang == "ja" else en) for key, (ja, en) in names.items()]


def translated(
    items: Iterable[tuple[str, str]], gettext: Callable[[str], str]
) -> list[tuple[str, str]]:
    return [(key, gettext(message)) for key, message in items]


def period_options(periods: Mapping[str, Any], texts: Texts) -> list[tuple[str, str]]:
    return [
        (code, f"{texts.name(p)} {texts.time(p.start)}–{texts.time(p.end)}")
        for code, p in periods.items()
    ]


@pass_context
def join_list_filter(context: Context, items: Iterable[Any]) -> Markup:
    """`names|join_list`: 平日、土曜日 on a Japanese page, "Weekdays, Saturdays" on an English
    one; each item escaped unless it is markup already (a link)."""
    texts: Texts = context["t"]
    return escape(LIST_SEPARATORS[texts.lang]).join(items)


@pass_context
def bracketed(context: Context, text: Any) -> Markup:
    """`words|bracketed`: （words） on a Japanese page (full-width, no space before), " (words)"
    on an English one."""
    texts: Texts = context["t"]
    if texts.lang == "ja":
        return escape("（") + escape(text) + escape("）")
    return escape(" (") + escape(text) + escape(")")


@pass_context
def number_filter(context: Context, value: int) -> str:
    """`count|number`: 1,227 (a count's thousands separated)."""
    texts: Texts = context["t"]
    return texts.number(value)


def period_label(period: Any, texts: Texts) -> str:
    """午前 9:00–12:00, as the `period_text` macro writes it (for lists joined by a filter)."""
    return f"{texts.name(period)} {texts.time(period.start)}–{texts.time(period.end)}"


def page_url(current: str, number: int) -> str:
    parts = urlsplit(current)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    return f"{parts.path}?{urlencode([*query, ('page', str(number))])}"


def request_lang(request: Request[Any, Any, Any]) -> Texts:
    lang = choose_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    return Texts(lang, request.app.state.settings.tz)


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target of our own site only: a path, never another host. Browsers read a
    backslash as a slash (`/\\evil.example` is `//evil.example`), and drop control characters."""
    if not target or "\\" in target or not target.isprintable():
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    """To the login, then back. A form whose session ended goes back to the page it was on
    (its Referer, when ours): the form's own address answers POST only."""
    back = here(request)
    if request.method != "GET":
        referer = urlsplit(request.headers.get("referer", ""))
        same_site = referer.netloc == request.url.netloc
        back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
        back = back if same_site else "/"
    return Redirect(f"/login?next={quote(back, safe='')}", status_code=303)


@dataclass
class Page:
    """One page being answered: who asks, in which language, with which form token."""

    request: Request[Any, Any, Any]
    principal: Principal | None
    texts: Texts
    _new_form_token: str | None = field(default=None)

    @classmethod
    def of(cls, request: Request[Any, Any, Any], auth: Authentication) -> Page:
        return cls(request, auth.optional(), request_lang(request))

    @classmethod
    def logged_in(cls, request: Request[Any, Any, Any], auth: Authentication) -> Page:
        """A page for people logged in; anyone else goes to the login and back (the pages'
        error handler turns Unauthenticated into that redirect)."""
        page = cls.of(request, auth)
        _ = page.user
        return page

    @property
    def user(self) -> Principal:
        """Who is logged in; Unauthenticated (to the login) when nobody is."""
        if self.principal is None:
            raise Unauthenticated("please log in", code="login_required")
        return self.principal

    @property
    def csrf_token(self) -> str:
        if self.principal is not None and self.principal.csrf_token:
            return self.principal.csrf_token
        token = self.request.cookies.get(ANON_CSRF_COOKIE) or self._new_form_token
        if token is None:
            token = self._new_form_token = secrets.token_urlsafe(32)
        return token

    def render(self, template: str, status_code: int = 200, **context: Any) -> Template:
        return Template(
            template,
            context=self._values(context),
            status_code=status_code,
            cookies=self._cookies(),
            media_type="text/html",
        )

    async def render_in_steps(
        self, template: str, status_code: int = 200, **context: Any
    ) -> Response[str]:
        """As render, for a page of thousands of marks (the month grid): rendered a slice
        at a time with the event loop served between slices, so the requests beside it
        (bookings) wait a slice, not the page (issue 20, bench/rush.py --scenario grids)."""
        engine = self.request.app.template_engine
        if not isinstance(engine, JinjaTemplateEngine):
            raise TypeError("the pages render with Jinja")
        values = {
            **self._values(context),
            # What Litestar's Template adds to every page's context.
            "request": self.request,
            "csrf_input": "",
        }
        parts: list[str] = []
        until = perf_counter() + RENDER_SLICE_SECONDS
        for part in engine.get_template(template).generate(values):
            parts.append(part)
            if perf_counter() >= until:
                await asyncio.sleep(0)
                until = perf_counter() + RENDER_SLICE_SECONDS
        return Response(
            "".join(parts),
            status_code=status_code,
            cookies=self._cookies(),
            media_type="text/html",
        )

    def _values(self, context: dict[str, Any]) -> dict[str, Any]:
        texts = self.texts
        return {
            "_": texts.gettext,
            "ngettext": texts.ngettext,
            "t": texts,
            "lang": texts.lang,
            "principal": self.principal,
            "csrf_token": self.csrf_token,
            "here": here(self.request),
            "nav": context.pop("nav", ""),
            **context,
        }

    def _cookies(self) -> list[Cookie]:
        if self._new_form_token is None:
            return []
        return [anonymous_form_cookie(self.request, self._new_form_token)]


REMEMBERED = 366 * 24 * 3600  # a year


def remembered_cookie(
    request: Request[Any, Any, Any], key: str, value: str, *, httponly: bool = False
) -> Cookie:
    """A choice this browser keeps a year: the language, the text size and colours, the last
    search. Lax, so a link from a mail or another site arrives with it."""
    return Cookie(
        key=key,
        value=value,
        path="/",
        max_age=REMEMBERED,
        httponly=httponly,
        secure=request.url.scheme == "https",
        samesite="lax",
    )


def anonymous_form_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    return Cookie(
        key=ANON_CSRF_COOKIE,
        value=token,
        path="/",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )


async def check_anonymous_form(request: Request[Any, Any, Any]) -> None:
    """An anonymous form must send back the token of its cookie (double submit)."""
    form = await request.form()
    sent = form.get(CSRF_FORM_FIELD)
    cookie = request.cookies.get(ANON_CSRF_COOKIE)
    if not cookie or not isinstance(sent, str) or not csrf_matches(sent, cookie):
        raise PermissionDenied(
            "the form has expired: reload the page and try again", code="csrf_failed"
        )


def add_security_headers(response: Response[Any]) -> Response[Any]:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response

"""The API's description (`/schema/openapi.json`) and its documentation page (`/schema/swagger`).

The page is Swagger UI served from the package (`booking/web/apidocs/`, swagger-ui-dist
vendored from npm): no CDN, so it works offline and nothing runs that we did not ship; no
inline script or style, so it lives under the site's Content-Security-Policy like every page.
Litestar's own Swagger plugin writes an inline start-up script holding the whole schema, and
its other renderers (ReDoc, Elements, RapiDoc, Scalar) load from CDNs: they are not served.
"""

from __future__ import annotations

import hashlib
import html
from datetime import time
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.config.compression import CompressionConfig
from litestar.datastructures import CacheControlHeader
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.openapi.spec import Components, OpenAPIFormat, OpenAPIType, Schema, SecurityScheme
from litestar.plugins import OpenAPISchemaPlugin
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

from booking.accounts.auth import CSRF_HEADER, SESSION_COOKIE
from booking.accounts.sessions import TOKEN_PREFIX
from booking.pages.web import add_security_headers

ASSETS = Path(__file__).parent / "apidocs"
SCHEMA_PATH = "/schema"
ASSETS_PATH = f"{SCHEMA_PATH}/assets"


@cache
def asset_url(name: str) -> str:
    """The file's URL with a content hash, so browsers may cache it for a year."""
    digest = hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()[:12]
    return f"{ASSETS_PATH}/{name}?v={digest}"


class SwaggerPage(OpenAPIRenderPlugin):
    """Swagger UI from our own files, started by an external script."""

    def __init__(self) -> None:
        super().__init__(path="/swagger", favicon="", style="")

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        spec = html.escape(self.get_openapi_json_route(request))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{asset_url("swagger-ui.css")}">
<link rel="stylesheet" href="{asset_url("api-docs.css")}">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="{asset_url("swagger-ui-bundle.js")}"></script>
<script src="{asset_url("api-docs.js")}"></script>
</body>
</html>
""".encode()


class TimeOfDaySchema(OpenAPISchemaPlugin):
    """A time of day (a hold's 17:00 deadline) is `format: time`; Litestar calls every
    `datetime.time` a duration."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is time

    def to_openapi_schema(
        self,
        field_definition: FieldDefinition,  # noqa: ARG002
        schema_creator: Any,  # noqa: ARG002
    ) -> Schema:
        return Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.TIME,
            description="a time of day, HH:MM:SS",
        )


# How a request says who sends it (booking/accounts/auth.py). A route decides for itself whether
# it needs anyone: the empty requirement says that anonymous requests are also described.
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format=f"{TOKEN_PREFIX}...",
        description="An API token from POST /api/v1/tokens; needs no CSRF token.",
    ),
    "session": SecurityScheme(
        type="apiKey",
        name=SESSION_COOKIE,
        security_scheme_in="cookie",
        description="The web session from POST /api/v1/auth/login.",
    ),
    "csrf": SecurityScheme(
        type="apiKey",
        name=CSRF_HEADER,
        security_scheme_in="header",
        description="The session's CSRF token (login's and /api/v1/me's csrf_token): every "
        "request but GET, HEAD and OPTIONS made with the session cookie sends it.",
    ),
}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="booking",
        version="1",
        description="Public-facility reservation for a city's civic facilities. Errors are "
        "RFC 9457 problem details (application/problem+json) with a stable `code`.",
        path=SCHEMA_PATH,
        render_plugins=[SwaggerPage()],
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        security=[{"bearer": []}, {"session": [], "csrf": []}, {}],
        # The page and the schema under the pages' security headers (CSP, nosniff, no-store).
        openapi_router=Router(
            SCHEMA_PATH,
            route_handlers=[],
            include_in_schema=False,
            after_request=add_security_headers,
        ),
    )


def api_docs_assets_router() -> Router:
    """Swagger UI's files, cached for a year (their URLs carry a content hash)."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[ASSETS],
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True),
        include_in_schema=False,
        name="api_docs_assets",
        # 1.7 MB of script become 0.5 MB (as the pages' static files, booking/pages/routes.py).
        middleware=[
            DefineMiddleware(
                CompressionMiddleware, config=CompressionConfig(backend="gzip", minimum_size=1024)
            )
        ],
    )

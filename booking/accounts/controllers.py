"""HTTP for login, the caller's own account, and API tokens. Parse, call the service, shape."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from booking.accounts import api_tokens, login
from booking.accounts.access import Principal
from booking.accounts.auth import (
    Auth,
    cleared_cookie,
    client_address,
    session_cookie,
)
from booking.accounts.models import ApiToken
from booking.accounts.schemas import (
    LoginIn,
    MembershipRead,
    MeRead,
    PasswordChangeIn,
    ResetConfirmIn,
    ResetRequestIn,
    TokenIn,
    TokenIssued,
    TokenRead,
)
from booking.accounts.sessions import end_session, principal_for_user
from booking.audit.service import record
from booking.deps import AppSettings, CurrentClock, DbSession
from booking.web.errors import error_responses, no_content

RESET_ANSWER = {
    "detail": "If the card number or e-mail address is registered with an e-mail address, "
    "a link to set a new password is on its way. / 登録があれば、パスワード再設定用のリンクを"
    "メールでお送りしました。"
}


def me_read(principal: Principal) -> MeRead:
    return MeRead(
        id=principal.user_id,
        name=principal.name,
        email=principal.email,
        staff_role=principal.staff_role,
        memberships=[
            MembershipRead(group_id=gid, role=role)
            for gid, role in sorted(principal.memberships.items())
        ],
        facility_ids=sorted(principal.facility_ids),
        authenticated_by=principal.via,
        csrf_token=principal.csrf_token,
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012 - Litestar's own class attribute

    @post(
        "/login",
        status_code=HTTP_200_OK,
        summary="Log in with a card number or an e-mail address, and a password",
        description="Sets the HttpOnly session cookie and returns the CSRF token to send back "
        "in X-CSRF-Token on unsafe requests. Failures are counted per account and address.",
        responses=error_responses(400, 401, 403, 415, 429),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginIn],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[MeRead]:
        user, opened = await login.login(
            db_session, clock, settings, data.login, data.password, client_address(request)
        )
        principal = await principal_for_user(db_session, user, opened, client_address(request))
        return Response(me_read(principal), cookies=[session_cookie(request, opened)])

    @post(
        "/logout",
        status_code=HTTP_204_NO_CONTENT,
        summary="End this session, on every app process at once",
        responses={**error_responses(401, 403), **no_content("Logged out; the cookie is cleared")},
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> Response[None]:
        principal = auth.required()
        if principal.session_id is not None:
            await end_session(db_session, principal.session_id)
            await record(db_session, clock, principal.actor, "logout", ("user", principal.user_id))
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[cleared_cookie(request)])

    @post(
        "/password",
        status_code=HTTP_204_NO_CONTENT,
        summary="Change the password (every other session and every API token ends)",
        responses=error_responses(400, 401, 403, 409, 415, 429),
    )
    async def change_password(
        self,
        data: JSONBody[PasswordChangeIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> None:
        principal = auth.required()
        await login.change_password(
            db_session,
            clock,
            settings,
            principal.actor,
            principal.user_id,
            current=data.current_password,
            new=data.new_password,
            keep_session_id=principal.session_id,
        )

    @post(
        "/password-reset",
        status_code=HTTP_202_ACCEPTED,
        summary="Ask for a single-use link to set a new password",
        description="Always the same answer, registered or not: nobody learns who has an account.",
        responses=error_responses(400, 415),
    )
    async def request_reset(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResetRequestIn],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> Response[dict[str, str]]:
        address = client_address(request)
        await login.limit_reset_requests(db_session, clock, address)
        # The per-account work runs after the answer: known or unknown, it comes as fast.
        link = BackgroundTask(
            login.send_reset_link_later,
            request.app.state.sessionmaker,
            clock,
            settings,
            data.login,
            address,
        )
        return Response(RESET_ANSWER, status_code=HTTP_202_ACCEPTED, background=link)

    @post(
        "/password-reset/confirm",
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password with a reset or invitation link (once); every session "
        "and API token ends",
        responses=error_responses(400, 415),
    )
    async def confirm_reset(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ResetConfirmIn],
        db_session: DbSession,
        clock: CurrentClock,
        settings: AppSettings,
    ) -> None:
        await login.confirm_reset(
            db_session, clock, settings, data.token, data.new_password, client_address(request)
        )


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["auth"]  # noqa: RUF012

    @get(
        "/",
        summary="Who is logged in: roles, groups, facilities, and the CSRF token",
        responses=error_responses(401),
    )
    async def me(self, auth: Auth) -> MeRead:
        principal = auth.required()
        return me_read(principal)


def token_read(token: ApiToken) -> TokenRead:
    return TokenRead(
        id=token.id,
        name=token.name,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]  # noqa: RUF012

    @post(
        "/",
        summary="Create a named API token (shown once)",
        description="Only from a logged-in session; the token acts with your rights until it "
        "expires or is revoked.",
        responses=error_responses(400, 401, 403, 415),
    )
    async def create(
        self,
        data: JSONBody[TokenIn],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> TokenIssued:
        principal = auth.required()
        issued = await api_tokens.create_token(
            db_session, clock, principal, data.name, data.expires_in_days
        )
        read = token_read(issued.token)
        return TokenIssued(
            **{f: getattr(read, f) for f in read.__struct_fields__}, token=issued.secret
        )

    @get("/", summary="Your API tokens", responses=error_responses(401))
    async def list(self, auth: Auth, db_session: DbSession) -> list[TokenRead]:
        principal = auth.required()
        return [token_read(t) for t in await api_tokens.list_tokens(db_session, principal)]

    @delete(
        "/{token_id:int}",
        summary="Revoke a token (yours; an administrator: anyone's)",
        responses=error_responses(400, 401, 403, 404),
    )
    async def revoke(
        self,
        token_id: FromPath[int],
        auth: Auth,
        db_session: DbSession,
        clock: CurrentClock,
    ) -> None:
        principal = auth.required()
        await api_tokens.revoke_token(db_session, clock, principal, token_id)

"""What every page shares: who is signed in, in which language, and how failures look.

A page asked for without a session sends the browser to /sign-in and, after signing in,
back to the page. Errors a user can cause are shown as a page with the same status code
the API would answer.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from api.auth import Principal, Role
from api.errors import ApiError, api_error_handler, http_error_handler
from web.i18n import N_, pick
from web.render import page
from web.session import SessionExpired, Sessions, WebSession

LANGUAGE_COOKIE = "ca_lang"
PAGE_PREFIXES = ("/sign-in", "/sign-out", "/cabinet", "/dashboard", "/language", "/web")
STATIC = Path(__file__).resolve().parent / "static"


class SignInFirst(Exception):
    def __init__(self, back_to: str, expired: bool) -> None:
        self.back_to = back_to
        self.expired = expired


def sessions(request: Request) -> Sessions:
    result: Sessions = request.app.state.web_sessions
    return result


def current_session(request: Request) -> WebSession | None:
    try:
        return sessions(request).read(request)
    except SessionExpired:
        return None


async def signed_in(request: Request) -> WebSession:
    """The session, or a trip to /sign-in that returns here afterwards."""
    back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    try:
        session = sessions(request).read(request)
    except SessionExpired as error:
        raise SignInFirst(back_to, expired=True) from error
    if session is None:
        raise SignInFirst(back_to, expired=False)
    return session


SignedIn = Annotated[WebSession, Depends(signed_in)]


def require(session: WebSession, roles: Iterable[Role]) -> Principal:
    allowed = tuple(roles)
    if session.who.role not in allowed:
        raise ApiError(403, "forbidden", N_("your role may not open this page"))
    return session.who


def language(request: Request, *preferred: str | None) -> str:
    """The reader's choice (cookie), else the case's or party's language, else the
    browser's, else Russian."""
    browser = request.headers.get("accept-language", "").split(",")[0]
    return pick(request.cookies.get(LANGUAGE_COOKIE), *preferred, browser)


def local_path(target: str | None, fallback: str = "/") -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return fallback


def home_of(who: Principal) -> str:
    if who.role == "party":
        return "/cabinet"
    if who.role in ("inspector", "supervisor", "operator"):
        return "/dashboard"
    return "/web/nothing"


def show(
    request: Request,
    template: str,
    context: dict[str, Any],
    session: WebSession | None,
    *preferred: str | None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        template,
        context,
        language=language(request, *preferred),
        session=session,
        status_code=status_code,
    )


def install(app: FastAPI, sessions_: Sessions) -> None:
    from web import cabinet, dashboard, documents, screening, sign_in, start_form  # a router each

    app.state.web_sessions = sessions_
    app.mount("/web/static", StaticFiles(directory=STATIC), name="web-static")
    # start_form before dashboard: /dashboard/audits/new is not a case id.
    for module in (sign_in, cabinet, start_form, dashboard, screening, documents):
        app.include_router(module.router, include_in_schema=False)
    app.add_api_route("/", _root, methods=["GET"], include_in_schema=False)
    app.add_api_route("/language", _choose_language, methods=["GET"], include_in_schema=False)
    app.add_api_route("/web/nothing", _nothing, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(SignInFirst, _to_sign_in)
    app.add_exception_handler(ApiError, _error)
    app.add_exception_handler(HTTPException, _http_error)


async def _root(request: Request) -> Response:
    session = current_session(request)
    target = home_of(session.who) if session else "/sign-in"
    return RedirectResponse(target, status_code=303)


async def _choose_language(request: Request, lang: str = "", next: str = "/") -> Response:
    response = RedirectResponse(local_path(next), status_code=303)
    chosen = pick(lang)
    if chosen == lang:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 24 * 3600, path="/", samesite="lax"
        )
    return response


async def _nothing(request: Request, session: SignedIn) -> Response:
    return show(request, "nothing.html", {}, session)


async def _to_sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInFirst)
    query = f"?next={quote(error.back_to, safe='')}"
    if error.expired:
        query += "&expired=1"
    response = RedirectResponse(f"/sign-in{query}", status_code=303)
    sessions(request).end(response)
    return response


def _is_page(request: Request) -> bool:
    return request.url.path == "/" or request.url.path.startswith(PAGE_PREFIXES)


async def _error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    if not _is_page(request):
        return await api_error_handler(request, error)
    return show(
        request,
        "error.html",
        {"status": error.status, "message": error.wording or error.message},
        current_session(request),
        status_code=error.status,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if not _is_page(request):
        return await http_error_handler(request, error)
    return show(
        request,
        "error.html",
        {"status": error.status_code, "message": str(error.detail)},
        current_session(request),
        status_code=error.status_code,
    )

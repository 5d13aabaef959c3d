"""Signing in and out.

With the embedded default (the local dev key signs tokens) the sign-in page lists demo
identities and signs in as one with a click. Otherwise it is the OpenID Connect
authorization-code flow with PKCE and a nonce against the identity provider the API trusts
(web/oidc.py): the ID token must be for this client and this sign-in, the access token is
checked exactly as the API checks a bearer token, and the session takes its role, office and
BIN from it.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.auth import TokenVerifier, principal_from
from api.errors import ApiError
from config import Settings
from web.demo import DEMO_IDENTITIES
from web.i18n import N_
from web.oidc import NOT_THIS_SIGN_IN, authorization, identity_tokens
from web.pages import SignedIn, current_session, home_of, local_path, sessions, show
from web.session import csrf_ok, dev_key_in_use

router = APIRouter()


def _settings(request: Request) -> Settings:
    result: Settings = request.app.state.settings
    return result


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/", expired: str = "") -> Response:
    demo = dev_key_in_use(_settings(request))
    token, cookie = sessions(request).sign_in_token()
    response = show(
        request,
        "sign_in.html",
        {
            "demo": DEMO_IDENTITIES if demo else None,
            "back_to": local_path(next),
            "expired": bool(expired),
            "token": token,
        },
        current_session(request),
    )
    sessions(request).keep_sign_in(response, cookie)
    return response


@router.post("/sign-in")
async def sign_in_as(
    request: Request,
    identity: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Demo sign-in: there is no such form unless the dev key is in use."""
    if not dev_key_in_use(_settings(request)):
        raise ApiError(404, "not_found", N_("demo sign-in exists only with the embedded dev key"))
    if sessions(request).sign_in_state(request, token) is None:
        raise ApiError(403, "csrf", N_("the sign-in form has expired; open the sign-in page again"))
    chosen = _demo_claims(identity)
    response = RedirectResponse(local_path(next, home_of_claims(chosen)), status_code=303)
    sessions(request).start(response, chosen)
    return response


def _demo_claims(key: str) -> dict[str, Any]:
    for demo in DEMO_IDENTITIES:
        if demo.key == key:
            return demo.claims
    raise ApiError(422, "invalid", N_("there is no such demo identity"), "identity")


def home_of_claims(claims: dict[str, Any]) -> str:
    return home_of(principal_from(claims))


@router.get("/sign-in/provider")
async def to_provider(request: Request, next: str = "/") -> Response:
    """Start the authorization-code flow: PKCE verifier, state and nonce kept in a signed
    cookie for the callback."""
    settings = _settings(request)
    if dev_key_in_use(settings) or not settings.web_client_id:
        raise ApiError(404, "not_found", N_("no identity provider is configured (WEB_CLIENT_ID)"))
    started = await authorization(request)
    _, cookie = sessions(request).sign_in_token(
        {
            "verifier": started.verifier,
            "state": started.state,
            "nonce": started.nonce,
            "next": local_path(next),
        }
    )
    response = RedirectResponse(started.url, status_code=303)
    sessions(request).keep_sign_in(response, cookie)
    return response


@router.get("/sign-in/callback")
async def from_provider(
    request: Request, code: str = "", state: str = "", error: str = ""
) -> Response:
    stored = sessions(request).sign_in_state(request, None)
    # A sign-in started without a nonce would have its ID token taken unchecked: refused.
    if stored is None or not state or stored.get("state") != state or not stored.get("nonce"):
        raise ApiError(400, "invalid", N_("the sign-in was not started here or took too long"))
    if error or not code:
        raise ApiError(401, "unauthenticated", f"the identity provider refused: {error}")
    access_token, identity = await identity_tokens(
        request, code, stored["verifier"], stored["nonce"]
    )
    verifier: TokenVerifier = request.app.state.verifier
    # Verifying may fetch the provider's keys: not on the event loop.
    who = await run_in_threadpool(verifier.verify, access_token)
    if identity.get("sub") != who.sub:
        raise ApiError(401, "unauthenticated", NOT_THIS_SIGN_IN)
    claims = {"sub": who.sub, "role": who.role, "office": who.office, "bin": who.bin}
    response = RedirectResponse(local_path(stored.get("next"), home_of(who)), status_code=303)
    sessions(request).start(response, {k: v for k, v in claims.items() if v is not None})
    return response


@router.get("/sign-out")
async def sign_out_page(request: Request) -> Response:
    return show(request, "sign_out.html", {}, current_session(request))


@router.post("/sign-out")
async def sign_out(
    request: Request, session: SignedIn, csrf: Annotated[str, Form()] = ""
) -> Response:
    if not csrf_ok(session, csrf):
        raise ApiError(403, "csrf", N_("the form has expired; reload the page and try again"))
    response = RedirectResponse("/sign-in", status_code=303)
    sessions(request).end(response)
    return response

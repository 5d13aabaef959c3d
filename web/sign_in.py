"""Signing in and out.

With the embedded default (the local dev key signs tokens) the sign-in page lists demo
identities and signs in as one with a click. Otherwise it is the OpenID Connect
authorization-code flow with PKCE against the identity provider the API trusts: the access
token it returns is checked exactly as the API checks a bearer token, and the session takes
its role, office and BIN from it.
"""

from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.auth import TokenVerifier, principal_from
from api.errors import ApiError
from config import Settings
from web.demo import DEMO_IDENTITIES
from web.i18n import N_
from web.pages import SignedIn, current_session, home_of, local_path, sessions, show
from web.session import csrf_ok, dev_key_in_use

router = APIRouter()
HTTP_TIMEOUT = 10.0


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
        raise ApiError(404, "not_found", "demo sign-in exists only with the embedded dev key")
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
    raise ApiError(422, "invalid", f"no demo identity {key!r}", "identity")


def home_of_claims(claims: dict[str, Any]) -> str:
    return home_of(principal_from(claims))


@router.get("/sign-in/provider")
async def to_provider(request: Request, next: str = "/") -> Response:
    """Start the authorization-code flow: PKCE verifier and state kept in a signed cookie."""
    settings = _settings(request)
    if dev_key_in_use(settings) or not settings.web_client_id:
        raise ApiError(404, "not_found", "no identity provider is configured (WEB_CLIENT_ID)")
    provider = await _discover(request)
    verifier, state = generate_token(64), generate_token(32)
    _, cookie = sessions(request).sign_in_token(
        {"verifier": verifier, "state": state, "next": local_path(next)}
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.web_client_id,
            "redirect_uri": _callback_url(settings),
            "scope": "openid",
            "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{provider['authorization_endpoint']}?{query}", status_code=303)
    sessions(request).keep_sign_in(response, cookie)
    return response


@router.get("/sign-in/callback")
async def from_provider(
    request: Request, code: str = "", state: str = "", error: str = ""
) -> Response:
    settings = _settings(request)
    stored = sessions(request).sign_in_state(request, None)
    if stored is None or not state or stored.get("state") != state:
        raise ApiError(400, "invalid", "the sign-in was not started here or took too long")
    if error or not code:
        raise ApiError(401, "unauthenticated", f"the identity provider refused: {error}")
    provider = await _discover(request)
    secret = settings.web_client_secret
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        reply = await client.post(
            provider["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": _callback_url(settings),
                "code_verifier": stored["verifier"],
                "client_id": settings.web_client_id or "",
                **({"client_secret": secret.get_secret_value()} if secret else {}),
            },
        )
    if reply.status_code != 200 or "access_token" not in reply.json():
        raise ApiError(401, "unauthenticated", "the identity provider gave no access token")
    verifier: TokenVerifier = request.app.state.verifier
    # Verifying may fetch the provider's keys: not on the event loop.
    who = await run_in_threadpool(verifier.verify, reply.json()["access_token"])
    claims = {"sub": who.sub, "role": who.role, "office": who.office, "bin": who.bin}
    response = RedirectResponse(local_path(stored.get("next"), home_of(who)), status_code=303)
    sessions(request).start(response, {k: v for k, v in claims.items() if v is not None})
    return response


async def _discover(request: Request) -> dict[str, Any]:
    """The provider's endpoints from its discovery document, fetched once."""
    cached: dict[str, Any] | None = getattr(request.app.state, "oidc_provider", None)
    if cached is None:
        issuer = _settings(request).auth_issuer.rstrip("/")
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
            reply = await client.get(f"{issuer}/.well-known/openid-configuration")
        if reply.status_code != 200:
            raise ApiError(503, "provider_unavailable", f"{issuer} has no discovery document")
        cached = dict(reply.json())
        request.app.state.oidc_provider = cached
    return cached


def _callback_url(settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}/sign-in/callback"


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

"""The OpenID Connect side of signing in, done by authlib's client rather than by hand.

Authorization code with PKCE, and a nonce: the provider puts the nonce into the ID token it
issues, and a callback is taken only with an ID token whose signature, issuer, audience (this
client), expiry and nonce authlib has checked. A code or token stolen from another sign-in,
or minted for another client, ends in a page that says so, never in a session.
"""

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request
from joserfc.errors import JoseError

from api.errors import ApiError
from config import Settings
from web.i18n import N_

HTTP_TIMEOUT = 10.0
NOT_THIS_SIGN_IN = N_(
    "the identity provider's answer is not for this sign-in (its ID token was refused); "
    "sign in again"
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Authorization:
    """Where to send the browser, and what the callback must find again (kept signed in
    the sign-in cookie)."""

    url: str
    state: str
    verifier: str
    nonce: str


def callback_url(settings: Settings) -> str:
    return f"{settings.public_base_url.rstrip('/')}/sign-in/callback"


def _client(request: Request) -> StarletteOAuth2App:
    """One client per app: it keeps the provider's discovery document and keys."""
    cached: StarletteOAuth2App | None = getattr(request.app.state, "oidc_client", None)
    if cached is None:
        settings: Settings = request.app.state.settings
        secret = settings.web_client_secret
        cached = OAuth().register(
            name="provider",
            client_id=settings.web_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=(
                f"{settings.auth_issuer.rstrip('/')}/.well-known/openid-configuration"
            ),
            client_kwargs={
                "scope": "openid",
                "code_challenge_method": "S256",
                # A confidential client sends its secret in the form; a public one, none.
                "token_endpoint_auth_method": "client_secret_post" if secret else "none",
                "timeout": HTTP_TIMEOUT,
            },
        )
        request.app.state.oidc_client = cached
    return cached


async def authorization(request: Request) -> Authorization:
    settings: Settings = request.app.state.settings
    try:
        started = await _client(request).create_authorization_url(callback_url(settings))
    except httpx.HTTPError as error:
        raise ApiError(
            503, "provider_unavailable", f"{settings.auth_issuer} has no discovery document"
        ) from error
    return Authorization(
        url=started["url"],
        state=started["state"],
        verifier=started["code_verifier"],
        nonce=started["nonce"],
    )


async def identity_tokens(
    request: Request, code: str, verifier: str, nonce: str
) -> tuple[str, dict[str, Any]]:
    """The access token and the checked claims of the ID token for this sign-in's code."""
    client = _client(request)
    settings: Settings = request.app.state.settings
    try:
        token = await client.fetch_access_token(
            redirect_uri=callback_url(settings), code=code, code_verifier=verifier
        )
    except (AuthlibBaseError, httpx.HTTPError) as error:
        raise ApiError(
            401, "unauthenticated", N_("the identity provider gave no access token")
        ) from error
    if "access_token" not in token:
        raise ApiError(401, "unauthenticated", N_("the identity provider gave no access token"))
    try:
        claims = await client.parse_id_token(token, nonce=nonce)
    except (JoseError, AuthlibBaseError) as error:
        log.warning("ID token refused at sign-in: %r", error)
        raise ApiError(401, "unauthenticated", NOT_THIS_SIGN_IN) from error
    if claims is None:  # the provider sent no ID token at all
        raise ApiError(401, "unauthenticated", NOT_THIS_SIGN_IN)
    return str(token["access_token"]), dict(claims)

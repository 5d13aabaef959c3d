"""The browser session: a signed, HttpOnly, SameSite=Lax cookie carrying who signed in.

It holds the same facts a bearer token gives the API (role, office, BIN), already checked by
`api.auth.principal_from`, plus the token every form must echo back (CSRF). The signature
carries its own time, so an old cookie is refused even if a browser keeps it.
"""

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.auth import Principal, principal_from
from config import Settings

COOKIE = "ca_session"
SIGN_IN_COOKIE = "ca_sign_in"
SIGN_IN_SECONDS = 15 * 60


def dev_key_in_use(settings: Settings) -> bool:
    """True when tokens are signed by the embedded default's local key (see api/auth.py)."""
    return not settings.auth_jwks_url and not settings.auth_public_key_file


@dataclass(frozen=True)
class WebSession:
    who: Principal
    csrf: str


class SessionExpired(Exception):
    """The cookie was genuine but too old: sign in again and come back."""


class Sessions:
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(_secret(settings), salt="customs-audit-web")
        self.max_age = settings.web_session_minutes * 60
        self.secure = not dev_key_in_use(settings)

    def start(self, response: Response, claims: dict[str, Any]) -> None:
        who = principal_from(claims)
        payload = {
            "sub": who.sub,
            "role": who.role,
            "office": who.office,
            "bin": who.bin,
            "csrf": secrets.token_urlsafe(32),
        }
        self._set(response, COOKIE, self._serializer.dumps(payload), self.max_age)

    def read(self, request: Request) -> WebSession | None:
        """The session, None without one; SessionExpired when it has run out."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            payload = self._serializer.loads(raw, max_age=self.max_age)
        except SignatureExpired as error:
            raise SessionExpired from error
        except BadSignature:
            return None
        claims = {k: v for k, v in payload.items() if k != "csrf" and v is not None}
        return WebSession(who=principal_from(claims), csrf=str(payload["csrf"]))

    def end(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")

    def sign_in_token(self, extra: dict[str, Any] | None = None) -> tuple[str, str]:
        """A form token for the page that signs in (no session exists yet to hold one) and
        the cookie to go with it: the cookie holds a nonce, the form the signed nonce, and
        both must agree. `extra` rides in the cookie (the OpenID Connect state)."""
        nonce = secrets.token_urlsafe(24)
        cookie = self._serializer.dumps({"nonce": nonce, **(extra or {})}, salt="sign-in")
        return self._serializer.dumps(nonce, salt="sign-in-form"), cookie

    def keep_sign_in(self, response: Response, cookie: str) -> None:
        self._set(response, SIGN_IN_COOKIE, cookie, SIGN_IN_SECONDS)

    def sign_in_state(self, request: Request, form_token: str | None) -> dict[str, Any] | None:
        """What `sign_in_token` stored, if the form (or None for a redirect back from the
        identity provider) matches the browser's cookie and neither is stale."""
        try:
            stored = self._serializer.loads(
                request.cookies.get(SIGN_IN_COOKIE, ""), salt="sign-in", max_age=SIGN_IN_SECONDS
            )
            if form_token is not None:
                nonce = self._serializer.loads(
                    form_token, salt="sign-in-form", max_age=SIGN_IN_SECONDS
                )
                if not hmac.compare_digest(str(nonce), str(stored["nonce"])):
                    return None
        except BadSignature:
            return None
        result: dict[str, Any] = stored
        return result

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )


def csrf_ok(session: WebSession, sent: object) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent, session.csrf)


def _secret(settings: Settings) -> str:
    if settings.web_session_secret is not None:
        return settings.web_session_secret.get_secret_value()
    path: Path = settings.data_dir / "web-session-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()

"""A small OpenID Connect provider on loopback for the sign-in tests: discovery, an
authorization endpoint that approves at once, a token endpoint that checks the client secret
and the PKCE verifier, and its JWKS. Its access tokens carry the claims the API reads; its ID
tokens are for the client and carry the nonce the authorization request sent, unless a test
sets `app.state.id_token_changes` to claims that make them wrong (None leaves a claim out)."""

import base64
import hashlib
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form
from fastapi.responses import JSONResponse, RedirectResponse

CLIENT_ID = "customs-audit-web"
CLIENT_SECRET = "s3cret-for-tests"


def create_provider(issuer: str, audience: str, claims: dict[str, Any]) -> FastAPI:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    codes: dict[str, dict[str, str]] = {}
    app = FastAPI()
    app.state.issuer = issuer
    app.state.id_token_changes = {}

    @app.get("/.well-known/openid-configuration")
    async def discovery() -> dict[str, str]:
        base = app.state.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
        }

    @app.get("/jwks")
    async def jwks() -> dict[str, Any]:
        return {"keys": [{**jwk, "kid": "test", "use": "sig", "alg": "RS256"}]}

    @app.get("/authorize")
    async def authorize(
        client_id: str,
        redirect_uri: str,
        state: str,
        code_challenge: str,
        code_challenge_method: str,
        response_type: str,
        scope: str,
        nonce: str = "",
    ) -> RedirectResponse:
        assert client_id == CLIENT_ID and response_type == "code" and "openid" in scope.split()
        assert code_challenge_method == "S256"
        code = secrets.token_urlsafe(16)
        codes[code] = {"challenge": code_challenge, "redirect_uri": redirect_uri, "nonce": nonce}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    @app.post("/token")
    async def token(
        code: Annotated[str, Form()],
        code_verifier: Annotated[str, Form()],
        redirect_uri: Annotated[str, Form()],
        client_id: Annotated[str, Form()],
        client_secret: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        issued = codes.pop(code, None)
        digest = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest())
        if (
            issued is None
            or client_id != CLIENT_ID
            or client_secret != CLIENT_SECRET
            or issued["redirect_uri"] != redirect_uri
            or digest.decode().rstrip("=") != issued["challenge"]
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        issued_claims = {"iss": app.state.issuer, "iat": now, "exp": now + 600}
        access = sign({**issued_claims, "aud": audience, **claims})
        identity = {
            **issued_claims,
            "aud": CLIENT_ID,
            "sub": claims["sub"],
            "nonce": issued["nonce"] or None,
            **app.state.id_token_changes,
        }
        return JSONResponse(
            {
                "access_token": access,
                "id_token": sign({k: v for k, v in identity.items() if v is not None}),
                "token_type": "Bearer",
                "expires_in": 600,
            }
        )

    def sign(payload: dict[str, Any]) -> str:
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "test"})

    return app

"""Signing in through an OpenID Connect provider (authorization code with PKCE and a nonce)
when the dev key is not in use: the session takes role and BIN from the verified access
token, and only after the ID token proved to be for this client and this sign-in."""

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from tests.conftest import free_port, serving
from tests.factories import PARTY_BIN
from tests.identity_provider import CLIENT_ID, CLIENT_SECRET, create_provider


@pytest_asyncio.fixture(loop_scope="session")
async def with_provider(
    dev_env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> AsyncIterator[tuple[str, str, FastAPI]]:
    provider = create_provider(
        "", settings.auth_audience, {"sub": PARTY_BIN, "role": "party", "bin": PARTY_BIN}
    )
    async with serving(provider) as idp:
        provider.state.issuer = idp
        port = free_port()
        configured = settings.model_copy(
            update={
                "auth_issuer": idp,
                "auth_jwks_url": f"{idp}/jwks",
                "web_client_id": CLIENT_ID,
                "web_client_secret": SecretStr(CLIENT_SECRET),
                "public_base_url": f"http://127.0.0.1:{port}",
            }
        )
        async with serving(create_app(configured, client=dev_env.client), port=port) as site:
            yield site, idp, provider


def cookie(reply: httpx.Response, name: str) -> str:
    for header in reply.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            attributes = header.lower()
            assert "httponly" in attributes and "samesite=lax" in attributes
            assert "secure" in attributes  # outside the embedded default
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie set")


async def test_authorization_code_with_pkce_signs_in_and_returns(
    with_provider: tuple[str, str, FastAPI],
) -> None:
    site, idp, _ = with_provider
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(f"{site}/sign-in?next=/cabinet")
        assert "/sign-in/provider?next=" in page.text and 'name="identity"' not in page.text
        assert (
            await browser.post(f"{site}/sign-in", data={"identity": "party"})
        ).status_code == 404
        start = await browser.get(f"{site}/sign-in/provider", params={"next": "/cabinet"})
        assert start.status_code == 303 and start.headers["location"].startswith(idp)
        query = parse_qs(urlsplit(start.headers["location"]).query)
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
        assert query["nonce"] and query["scope"] == ["openid"]
        pending = cookie(start, "ca_sign_in")
        approved = await browser.get(start.headers["location"])
        back = approved.headers["location"]
        assert back.startswith(f"{site}/sign-in/callback?")
        forged = await browser.get(
            back.replace("state=", "state=x"), headers={"Cookie": f"ca_sign_in={pending}"}
        )
        assert forged.status_code == 400
        done = await browser.get(back, headers={"Cookie": f"ca_sign_in={pending}"})
        assert done.status_code == 303 and done.headers["location"] == "/cabinet"
        session = cookie(done, "ca_session")
        cabinet = await browser.get(f"{site}/cabinet", headers={"Cookie": f"ca_session={session}"})
        assert cabinet.status_code == 200 and PARTY_BIN in cabinet.text
        replayed = await browser.get(back, headers={"Cookie": f"ca_sign_in={pending}"})
        assert replayed.status_code == 401  # a code is good once


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"nonce": "from-another-sign-in"}, "a nonce this sign-in did not send"),
        ({"nonce": None}, "no nonce at all"),
        ({"aud": "another-client"}, "a token for another client"),
        ({"iss": "https://elsewhere.test"}, "another issuer"),
        ({"exp": int(time.time()) - 3600}, "expired an hour ago"),
    ],
)
async def test_an_id_token_not_for_this_sign_in_is_refused_with_a_page(
    with_provider: tuple[str, str, FastAPI], changes: dict[str, Any], why: str
) -> None:
    site, _, provider = with_provider
    provider.state.id_token_changes = changes
    async with httpx.AsyncClient(timeout=30) as browser:
        start = await browser.get(f"{site}/sign-in/provider", params={"next": "/cabinet"})
        pending = cookie(start, "ca_sign_in")
        approved = await browser.get(start.headers["location"])
        refused = await browser.get(
            approved.headers["location"],
            headers={"Cookie": f"ca_sign_in={pending}", "Accept-Language": "ru"},
        )
    assert refused.status_code == 401, why
    assert "text/html" in refused.headers["content-type"]
    assert "ID-токен" in refused.text and "войдите снова" in refused.text, why
    assert not any(h.startswith("ca_session=") for h in refused.headers.get_list("set-cookie"))

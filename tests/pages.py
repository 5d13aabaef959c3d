"""Driving the browser pages over HTTP as a browser would, without one: cookies, forms and
their CSRF tokens."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.responses import Response
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from tests.conftest import own_number_block, serving
from tests.tokens import Tokens
from web.demo import DEMO_IDENTITIES
from worker import build_worker

_HIDDEN = re.compile(r'name="(token|csrf|idempotency_key)" value="([^"]*)"')


@pytest_asyncio.fixture(loop_scope="session")
async def site(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> AsyncIterator[str]:
    """The whole app (API and pages) with a real worker on the Temporal dev server."""
    own_number_block(engine)
    app = create_app(settings, client=dev_env.client)
    async with build_worker(dev_env.client, task_queue, engine, settings), serving(app) as url:
        yield url


def hidden(html: str, name: str) -> str:
    for found, value in _HIDDEN.findall(html):
        if found == name:
            return str(value)
    raise AssertionError(f"no hidden {name} field in the page")


async def signed_in(base_url: str, identity: str) -> httpx.AsyncClient:
    """A cookie-keeping client signed in as one of the demo identities."""
    client = httpx.AsyncClient(base_url=base_url, timeout=30, headers={"Accept-Language": "en"})
    page = await client.get("/sign-in")
    reply = await client.post(
        "/sign-in", data={"identity": identity, "token": hidden(page.text, "token"), "next": "/"}
    )
    assert reply.status_code == 303, reply.text
    return client


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, data: dict[str, Any], **kwargs: Any
) -> httpx.Response:
    """Open the page, then post one of its forms with the page's CSRF token."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={"csrf": hidden(page.text, "csrf"), **data}, **kwargs)


def hidden_value(html: str, name: str) -> str:
    """The value of a form field the page filled in (e.g. a date from the notification)."""
    found = re.search(rf'name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert found is not None, name
    return found[1]


def api_client(url: str, settings: Settings, role: str, **claims: str) -> httpx.AsyncClient:
    """A client of the JSON API with a bearer token, to set up cases the pages then show."""
    return httpx.AsyncClient(
        base_url=url, timeout=30, headers=Tokens(settings).header(role, **claims)
    )


def session_cookie(app: FastAPI, identity: str, **claims: str) -> str:
    """A page session for a demo identity with some claims changed (another office, say),
    which the demo sign-in page does not offer."""
    demo = next(d for d in DEMO_IDENTITIES if d.key == identity)
    signed = Response()
    app.state.web_sessions.start(signed, {**demo.claims, **claims})
    return signed.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]

"""Driving the browser pages over HTTP as a browser would, without one: cookies, forms and
their CSRF tokens."""

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from tests.conftest import own_number_block, serving
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

"""Driving the browser pages over HTTP as a browser would, without one: cookies, forms and
their CSRF tokens."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import Engine
from starlette.responses import Response
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config import Settings
from domain.case import CaseSnapshot
from domain.lifecycle import AuditStatus
from tests.cases import decided, start_case, until_after_decision, wait_for
from tests.conftest import own_number_block, serving
from tests.factories import audit_start, explanation_for, review_order
from tests.tokens import Tokens
from web.demo import DEMO_IDENTITIES
from worker import build_worker
from workflows.cameral_audit import CameralAudit

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


@dataclass
class TimeSite:
    """The app on the time-skipping server, for pages after a decision (served on the next
    working day, appealable for five more)."""

    url: str
    env: WorkflowEnvironment
    queue: str

    async def case(self, **start: Any) -> tuple[WorkflowHandle[Any, Any], CaseSnapshot]:
        """A case under review: started, served in the cabinet, explained."""
        handle = await start_case(self.env.client, self.queue, audit_start(**start))
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        return handle, case

    async def decided(self) -> tuple[WorkflowHandle[Any, Any], CaseSnapshot]:
        """A case whose explanation was rejected, its decision served in the cabinet and
        its appeal period counted."""
        handle, _ = await self.case()
        await handle.execute_update(
            CameralAudit.review, review_order(decision="reject", reasons="Prices not proven.")
        )
        await decided(self.env, handle)
        return handle, await until_after_decision(handle, "appeal_deadline")


@pytest_asyncio.fixture(loop_scope="session")
async def time_site(
    time_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> AsyncIterator[TimeSite]:
    # The case refuses a request whose caller stopped waiting (by the wall clock) before the
    # case's now; on this server the case's clock runs days ahead once time is skipped.
    settings = settings.model_copy(update={"update_wait_seconds": 90 * 24 * 3600})
    app = create_app(settings, client=time_env.client)
    async with build_worker(time_env.client, task_queue, engine, settings), serving(app) as url:
        yield TimeSite(url, time_env, task_queue)


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

"""What the delivery tests share: polling a case for its delivery attempts, running an
activity as the worker would, and a party's alert request."""

import asyncio
import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import httpx
from temporalio.testing import ActivityEnvironment

from domain.case import Party
from domain.notices import DocumentKind
from domain.tasks import AlertRequest, RenderedDocument
from tests.factories import start_body

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-42"


async def eventually(read: Any, timeout: float = 30) -> Any:
    """The first truthy value `read()` gives within `timeout` seconds."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while True:
        value = await read()
        if value or loop.time() > give_up:
            return value
        await asyncio.sleep(0.1)


def attempts(case: dict[str, Any], channel: str) -> list[str]:
    return [
        e["details"]["status"]
        for e in case["events"]
        if e["kind"] == "delivery_attempt" and e["details"]["channel"] == channel
    ]


async def until_event(api: httpx.AsyncClient, audit_id: str, kind: str) -> dict[str, Any]:
    async def read() -> dict[str, Any] | None:
        case: dict[str, Any] = (await api.get(f"/audits/{audit_id}")).json()
        return case if any(e["kind"] == kind for e in case["events"]) else None

    found: dict[str, Any] | None = await eventually(read)
    assert found is not None, f"{audit_id} never recorded {kind}"
    return found


async def alerts_done(api: httpx.AsyncClient, audit_id: str) -> dict[str, Any]:
    """The case once its three alert channels have each reported an outcome."""

    async def read() -> dict[str, Any] | None:
        case: dict[str, Any] = (await api.get(f"/audits/{audit_id}")).json()
        final = {"sent", "skipped", "permanent-failure"}
        done = all(
            any(s in final for s in attempts(case, ch)) for ch in ("email", "sms", "webhook")
        )
        return case if done else None

    found: dict[str, Any] | None = await eventually(read, timeout=60)
    assert found is not None, f"{audit_id}: alerts did not finish"
    return found


def first_try() -> ActivityEnvironment:
    """An activity's first attempt, scheduled now."""
    environment = ActivityEnvironment()
    environment.info = dataclasses.replace(
        environment.info, attempt=1, scheduled_time=datetime.now(UTC)
    )
    return environment


async def run_activity(function: Any, request: Any) -> Any:
    """Run a sync activity as the worker would, outside any workflow, in a thread."""
    return await asyncio.to_thread(first_try().run, function, request)


def sms_request(audit_id: str) -> AlertRequest:
    return AlertRequest(
        audit_id=audit_id,
        party=Party.model_validate(party()),
        document=RenderedDocument(
            document_id=f"doc-{audit_id}",
            number=f"{audit_id}/N1",
            kind=DocumentKind.NOTIFICATION,
            title="Notification",
            sha256="0" * 64,
        ),
        deadline=date(2026, 12, 22),
    )


def party(**changes: Any) -> dict[str, Any]:
    return {**start_body()["party"], **changes}

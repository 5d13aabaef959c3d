"""Helpers to drive a case through Temporal the way the API does."""

import asyncio
import json
from datetime import date, timedelta
from typing import Any

import httpx
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api.cases import CaseGateway
from domain.calendar import WorkingCalendar
from domain.case import AuditStart, CaseEvent, CaseSnapshot, DocumentRequest, DocumentsProvided
from domain.lifecycle import AuditStatus, EventKind
from tests.factories import audit_start, start_body
from workflows.cameral_audit import CameralAudit


async def start_case(
    client: Client, task_queue: str, start: AuditStart
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        CameralAudit.run, args=[start, None], id=start.audit_id, task_queue=task_queue
    )


async def decided(
    env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any], timeout: float = 60
) -> CaseSnapshot:
    """The case once its unfulfilled decision is issued and served (or sent, on paper).

    Such a case runs on after the decision (the appeal, the bank-account measures, until the
    debt is paid), so tests do not await its end: time is skipped a few hours at a time
    while the case is open, then the decision's activities run in real time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        after = case.after_decision
        if after is not None and (after.delivered_on or after.awaiting_receipt):
            return case
        if case.status in (AuditStatus.AWAITING_RESPONSE, AuditStatus.UNDER_REVIEW):
            await env.sleep(timedelta(hours=12))
        else:  # deciding: the decision may wait for the next working day's morning
            await asyncio.sleep(0.2)
            if case.status == AuditStatus.UNFULFILLED:
                await env.sleep(timedelta(hours=3))
    raise AssertionError(f"{handle.id}: no decision was served within {timeout} s")


async def until_after_decision(
    handle: WorkflowHandle[Any, Any], field: str, timeout: float = 30
) -> CaseSnapshot:
    """Poll the snapshot until the decision's follow-up shows `field` (an order, a date)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if case.after_decision and getattr(case.after_decision, field) is not None:
            return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id}: the decision's {field} never came")


def local_step(event: HistoryEvent) -> dict[str, Any] | None:
    """What a local activity's marker says of it (type, attempt); None for other markers."""
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != "core_local_activity":
        return None
    data: dict[str, Any] = json.loads(marker.details["data"].payloads[0].data)
    return data


async def finished(handle: WorkflowHandle[Any, Any]) -> CaseSnapshot:
    """Wait for the case to end and read its snapshot: the run's result is its summary,
    without the trail, payments and requests."""
    await handle.result()
    snapshot: CaseSnapshot = await handle.query(CameralAudit.snapshot)
    return snapshot


async def wait_for(
    handle: WorkflowHandle[Any, Any], predicate: AuditStatus, timeout: float = 30
) -> CaseSnapshot:
    """Poll the snapshot query (queries do not skip time) until the case reaches a status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        snapshot: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if snapshot.status == predicate:
            return snapshot
        if loop.time() > deadline:
            raise AssertionError(f"case stayed {snapshot.status}, expected {predicate}")
        await asyncio.sleep(0.1)


_PAPERWORK = {
    EventKind.DOCUMENT_ISSUED,
    EventKind.DELIVERY_ATTEMPT,
    EventKind.STAFF_NOTIFIED,
    EventKind.TERMS_FIXED,
    EventKind.DEADLINE_SET,
    EventKind.MAIL_DISPATCHED,
    EventKind.REMINDER_DUE,
}


def milestones(case: CaseSnapshot | dict[str, Any]) -> list[str]:
    """The case's events without document and delivery bookkeeping, oldest first."""
    events = case.events if isinstance(case, CaseSnapshot) else case["events"]
    kinds = [e.kind if isinstance(e, CaseEvent) else e["kind"] for e in events]
    return [str(k) for k in kinds if k not in _PAPERWORK]


async def started(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    reply = await api.post("/audits", json=start_body(**overrides))
    assert reply.status_code == 201, reply.text
    return await until(api, reply.json()["id"], "AWAITING_RESPONSE")


async def until(
    api: httpx.AsyncClient, audit_id: str, value: str, field: str = "status"
) -> dict[str, Any]:
    """Poll the case over HTTP until `field` has `value` (10 s at most)."""
    for _ in range(100):
        case: dict[str, Any] = (await api.get(f"/audits/{audit_id}")).json()
        if case[field] == value:
            return case
        await asyncio.sleep(0.1)
    raise AssertionError(f"{audit_id}: {field} stayed {case[field]}, expected {value}")


def first_day_off_after(day: date) -> date:
    """The first weekend day or holiday after `day` (by holidays.KZ, no decrees)."""
    calendar = WorkingCalendar()
    day += timedelta(1)
    while calendar.is_working_day(day):
        day += timedelta(1)
    return day


async def posted_case(client: Client, task_queue: str) -> tuple[WorkflowHandle[Any, Any], Any]:
    """A case served by registered mail, once its letter is dispatched (awaiting a receipt)."""
    party = {**start_body()["party"], "address": "Almaty, Abay ave. 1"}
    start = audit_start(delivery_method="registered_mail", party=party)
    handle = await start_case(client, task_queue, start)
    for _ in range(100):
        case: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if case.awaiting == "postal_receipt":
            return handle, case
        await asyncio.sleep(0.1)
    raise AssertionError("the letter was never dispatched")


async def request_cycles(cases: CaseGateway, audit_id: str, count: int) -> None:
    """`count` document requests during a review, each answered at once, back to back,
    through the API's gateway (which sends an update again while the case hands over)."""
    for n in range(count):
        request = DocumentRequest(items=[f"document {n}"])
        await cases.update(audit_id, CameralAudit.request_documents, request)
        answer = DocumentsProvided(request_id=f"R{n + 1}", documents=[f"upload-{n}"])
        await cases.update(audit_id, CameralAudit.provide_documents, answer)

"""A case that lives for months continues as new when Temporal suggests it, carrying its
state and the events not stored yet over, and ends exactly as a short case would."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest_asyncio
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api.cases import CaseGateway
from api.readmodel import with_earlier_events
from config import Settings
from devserver import find_binary
from domain.case import CaseSnapshot, Payment
from domain.lifecycle import AuditStatus, EventKind
from tests.cases import finished, request_cycles, start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for
from tests.test_replay import HISTORIES, RECORD
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit
from workflows.messages import CarriedCase
from workflows.payloads import data_converter
from workflows.search_attributes import SEARCH_ATTRIBUTES

SUGGEST_AFTER_EVENTS = 150
SLOW_SMS = 15  # seconds the SMS gateway takes to answer, longer than the API's update wait
CYCLES = 20  # document requests answered at once, back to back
EVENTS_PER_CYCLE = 45  # history events of one request and its answer, about
# The first run of such a case, recorded for tests/test_replay.py (RECORD_HISTORIES=1).
HANDED_OVER = HISTORIES / "handed_over_awaiting_response.json"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def short_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after a short history."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter,
        dev_server_existing_path=find_binary("temporal"),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}",
        ],
    )
    yield env
    await env.shutdown()


async def test_a_long_case_continues_as_new_and_loses_nothing(
    short_history_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    client = short_history_env.client
    queue = f"long-{uuid.uuid4()}"
    settings = settings.model_copy(update={"temporal_task_queue": queue})
    async with build_worker(client, queue, engine, settings):
        handle = await start_case(client, queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        small = Decimal("100.00")
        for n in range(60):
            await handle.execute_update(
                CameralAudit.record_payment,
                Payment(reference=f"P-{n}", amount=small, paid_at=case.issued_on),
            )
        rest = AMOUNT_DUE - 60 * small
        await handle.execute_update(
            CameralAudit.record_payment,
            Payment(reference="P-last", amount=rest, paid_at=case.issued_on),
        )
        result: CaseSnapshot = await finished(handle)
        histories = await _runs(client, case.id)
    carried = [_carried(history) for history in histories]
    assert len(histories) > 1  # it did continue as new
    assert result.status == AuditStatus.FULFILLED
    assert result.amount_paid == AMOUNT_DUE and result.amount_outstanding == 0
    assert len(result.payments) == 61
    # Each run hands over the state and the events not stored yet (none: it drains first),
    # never the whole trail, which would outgrow Temporal's 2 MB limit on a long case.
    handed = [c for c in carried if c is not None]
    assert len(handed) == len(histories) - 1
    assert all(c.events == [] and c.first_index == c.published > 0 for c in handed)
    # ... as soon as Temporal suggests it, not once the reminder's day has come or the case is
    # paid: a case waiting for its reminder used to grow its history until then.
    assert handed[0].state.status == AuditStatus.AWAITING_RESPONSE
    assert result.events_from == max(c.first_index for c in handed)
    whole = with_earlier_events(engine, result)
    kinds = [e.kind for e in whole.events]
    assert kinds.count(EventKind.PAYMENT_RECEIVED) == 61 and kinds[0] == EventKind.STARTED
    assert len(whole.events) == result.version

    await _replay(histories)
    first = next(h for h, c in zip(histories, carried, strict=True) if c is None)
    if RECORD and not HANDED_OVER.exists():  # recordings are added, never rewritten
        HANDED_OVER.write_text(first.to_json())


async def test_a_case_busy_with_requests_still_hands_over(
    short_history_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    """Requests back to back during a review, each answered at once: the run hands over
    while they keep coming (it refuses updates meanwhile, and the API sends them again to
    the next run) instead of waiting for a quiet moment that never comes."""
    client = short_history_env.client
    queue = f"busy-{uuid.uuid4()}"
    settings = settings.model_copy(update={"temporal_task_queue": queue})
    gateway = CaseGateway(client, queue)
    async with build_worker(client, queue, engine, settings):
        handle = await start_case(client, queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await gateway.update(case.id, CameralAudit.submit_explanation, explanation_for(case))
        await request_cycles(gateway, case.id, CYCLES)
        histories = await _runs(client, case.id)
        live = await gateway.snapshot(case.id, engine)
    assert len(histories) > 1
    # A run goes past the suggestion by what was under way then, not by every later cycle.
    lengths = [len(history.events) for history in histories]
    assert max(lengths) < SUGGEST_AFTER_EVENTS + 4 * EVENTS_PER_CYCLE, lengths
    await _replay(histories)
    assert live.status == AuditStatus.UNDER_REVIEW
    assert len(live.document_requests) == CYCLES
    assert all(r.answered_at is not None for r in live.document_requests)


async def test_a_handover_waiting_for_a_slow_step_takes_updates_again(
    short_history_env: WorkflowEnvironment, engine: Engine, settings: Settings, sms_gateway: str
) -> None:
    """The SMS gateway answers each alert only after 15 s (in time for its client): a run
    handing over refuses updates for HANDOVER_PATIENCE at most, then takes them again while
    it waits for the slow step, so no request is answered 503."""
    client = short_history_env.client
    queue = f"slow-{uuid.uuid4()}"
    settings = settings.model_copy(
        update={"temporal_task_queue": queue, "sms_timeout_seconds": SLOW_SMS + 5}
    )
    gateway = CaseGateway(client, queue)
    async with build_worker(client, queue, engine, settings), httpx.AsyncClient() as http:
        handle = await start_case(client, queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await gateway.update(case.id, CameralAudit.submit_explanation, explanation_for(case))
        slow = {"mode": "timeout", "times": 100, "delay_seconds": SLOW_SMS}
        (await http.post(f"{sms_gateway}/faults", json=slow)).raise_for_status()
        try:
            await request_cycles(gateway, case.id, 8)
        finally:
            await http.delete(f"{sms_gateway}/faults")
        live = await gateway.snapshot(case.id, engine)
        # Once the slow alerts under way have gone out, the handover ends.
        histories = await _runs(client, case.id)
        for _ in range(2 * (SLOW_SMS + 15)):
            if len(histories) > 1:
                break
            await asyncio.sleep(0.5)
            histories = await _runs(client, case.id)
    assert [r.answered_at is not None for r in live.document_requests] == [True] * 8
    assert len(histories) > 1
    await _replay(histories)  # the refusal's end is a timer


async def test_no_handover_while_an_alert_is_being_retried(
    short_history_env: WorkflowEnvironment, engine: Engine, settings: Settings, sms_gateway: str
) -> None:
    """The SMS gateway is down, so the notice's SMS is being retried (it may be for a day):
    past Temporal's suggestion the run keeps taking every update at once instead of starting
    a handover that would wait for the retry, and hands over once the SMS has gone out."""
    client = short_history_env.client
    queue = f"retrying-{uuid.uuid4()}"
    settings = settings.model_copy(update={"temporal_task_queue": queue})
    async with build_worker(client, queue, engine, settings), httpx.AsyncClient() as http:
        down = {"mode": "fail", "times": 10_000}
        (await http.post(f"{sms_gateway}/faults", json=down)).raise_for_status()
        try:
            handle = await start_case(client, queue, audit_start())
            case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
            while not (await handle.query(CameralAudit.snapshot)).alerts_retrying:
                await asyncio.sleep(0.1)
            paid = 0
            while len((await handle.fetch_history()).events) < SUGGEST_AFTER_EVENTS + 30:
                # Sent straight to the run: a run handing over would refuse it (HandingOver).
                await handle.execute_update(
                    CameralAudit.record_payment,
                    Payment(reference=f"P-{paid}", amount=Decimal(1), paid_at=case.issued_on),
                )
                paid += 1
            assert len(await _runs(client, case.id)) == 1
            retrying = await handle.query(CameralAudit.snapshot)
            assert [a.channel for a in retrying.alerts_retrying] == ["sms"]
        finally:
            await http.delete(f"{sms_gateway}/faults")
        histories = await _runs(client, case.id)
        for _ in range(120):  # the retry's backoff has grown to some seconds by now
            if len(histories) > 1:
                break
            await asyncio.sleep(0.5)
            histories = await _runs(client, case.id)
    handed = [c for c in map(_carried, histories) if c is not None]
    assert len(handed) == 1 and handed[0].state.alerts_retrying == ()
    assert len(handed[0].state.payments) == paid
    await _replay(histories)


async def _runs(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """The histories of every run of the case so far."""
    return [
        await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')
    ]


async def _replay(histories: list[WorkflowHistory]) -> None:
    replayer = Replayer(
        workflows=[CameralAudit], data_converter=data_converter, workflow_runner=workflow_runner()
    )
    for history in histories:
        await replayer.replay_workflow(history)


def _carried(history: WorkflowHistory) -> CarriedCase | None:
    """What the run was started with by the run before it (None for the first run)."""
    started = history.events[0].workflow_execution_started_event_attributes
    _, carried = data_converter.payload_converter.from_payloads(started.input.payloads)
    return None if carried is None else CarriedCase.model_validate(carried)

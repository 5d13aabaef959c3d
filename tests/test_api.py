"""The HTTP contract against the Temporal dev server, a real worker and a real socket."""

import asyncio
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from api import following
from api.app import create_app
from api.server import Server
from config import Settings
from db import case_rows
from domain.calendar import response_deadline, review_deadline
from tests.cases import milestones, started, until
from tests.conftest import free_port, own_number_block, running
from tests.factories import explanation_body, next_audit_id, start_body
from tests.tokens import ByEndpoint, Tokens
from worker import build_worker
from workflows.cameral_audit import CameralAudit


async def test_start_explain_accept(api: httpx.AsyncClient) -> None:
    reply = await api.post("/audits", json=start_body())
    assert reply.status_code == 201
    assert reply.headers["location"] == f"/audits/{reply.json()['id']}"
    case = await until(api, reply.json()["id"], "AWAITING_RESPONSE")
    delivered = case["delivered_on"]
    assert case["response_deadline"] == response_deadline(_date(delivered)).isoformat()
    assert case["amount_due"] == "1293689.60"
    assert case["review_deadline"] is None

    explained = await api.post(f"/audits/{case['id']}/explanation", json=explanation_body(case))
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body["status"] == "UNDER_REVIEW"
    received = _date(body["explanation_received_on"])
    assert body["review_deadline"] == review_deadline(received).isoformat()

    accepted = await api.post(f"/audits/{case['id']}/review", json={"decision": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "EXPLANATION_ACCEPTED"

    final = await until(api, case["id"], "EXPLANATION_ACCEPTED")
    assert milestones(final) == [
        "started",
        "delivered",
        "explanation_received",
        "explanation_accepted",
    ]
    for _ in range(100):  # the listing reads the read model, a moment behind the case
        listed = (await api.get("/audits", params={"status": "EXPLANATION_ACCEPTED"})).json()
        if case["id"] in [item["id"] for item in listed["items"]]:
            break
        await asyncio.sleep(0.1)
    assert case["id"] in [item["id"] for item in listed["items"]]


async def test_generated_ids_and_duplicate_start(api: httpx.AsyncClient) -> None:
    body = start_body()
    del body["audit_id"]
    first = (await api.post("/audits", json=body)).json()
    second = (await api.post("/audits", json=body)).json()
    assert first["id"].startswith("CA-") and len(first["id"]) == len("CA-2026-000001")
    assert first["id"] != second["id"]

    again = await api.post("/audits", json=start_body(audit_id=first["id"]))
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    unchanged = (await api.get(f"/audits/{first['id']}")).json()
    assert milestones(unchanged).count("started") == 1
    assert unchanged["party_bin"] == body["party"]["bin"]


async def test_malformed_starts_are_422_naming_the_field(api: httpx.AsyncClient) -> None:
    good = start_body()
    spoilt = {
        "party.bin": {**good, "party": {**good["party"], "bin": "950400000450"}},
        "customs_office": {**good, "customs_office": "552"},
        "charges.vat": {**good, "charges": {**good["charges"], "vat": "-1"}},
        "party.language": {**good, "party": {**good["party"], "language": "de"}},
        "declarations": {**good, "declarations": []},
        "surprise": {**good, "surprise": 1},
    }
    for field, body in spoilt.items():
        reply = await api.post("/audits", json=body)
        assert reply.status_code == 422, (field, reply.text)
        locations = [problem["field"] for problem in reply.json()["errors"]]
        assert any(loc.startswith(field) for loc in locations), (field, locations)
    assert (await api.get(f"/audits/{good['audit_id']}")).status_code == 404


async def test_explanation_rules(api: httpx.AsyncClient) -> None:
    case = await started(api)
    url = f"/audits/{case['id']}/explanation"
    missing = explanation_body(case)
    del missing["party_address"]
    reply = await api.post(url, json=missing)
    assert reply.status_code == 422
    assert reply.json()["field"] == "party_address"

    wrong_date = await api.post(url, json=explanation_body(case, notification_date="2020-01-01"))
    assert wrong_date.status_code == 422
    assert wrong_date.json()["field"] == "notification_date"

    early_review = await api.post(f"/audits/{case['id']}/review", json={"decision": "accept"})
    assert early_review.status_code == 409
    assert "UNDER_REVIEW" in early_review.json()["detail"]

    assert (await api.post(url, json=explanation_body(case))).status_code == 200
    twice = await api.post(url, json=explanation_body(case))
    assert twice.status_code == 409
    no_reasons = await api.post(f"/audits/{case['id']}/review", json={"decision": "reject"})
    assert no_reasons.status_code == 422
    rejected = await api.post(
        f"/audits/{case['id']}/review", json={"decision": "reject", "reasons": "price unproven"}
    )
    assert rejected.json()["status"] == "UNFULFILLED"
    await until(api, case["id"], "UNFULFILLED")
    closed = await api.post(url, json=explanation_body(case))
    assert closed.status_code == 409
    assert "UNFULFILLED" in closed.json()["detail"]


async def test_payments_fulfil_and_duplicates_count_once(api: httpx.AsyncClient) -> None:
    case = await started(api)
    url = f"/audits/{case['id']}/payments"
    first = {"reference": "TRX-1", "amount": "1000000.00", "paid_at": case["delivered_on"]}
    accepted = await api.post(url, json=first)
    assert accepted.status_code == 202 and accepted.json()["result"] == "accepted"
    partial = await until(api, case["id"], "1000000.00", field="amount_paid")
    assert partial["status"] == "AWAITING_RESPONSE"
    assert partial["amount_outstanding"] == "293689.60"
    again = await api.post(url, json=first)
    assert again.status_code == 202 and again.json()["result"] == "duplicate"
    bad = await api.post(url, json={**first, "reference": "TRX-0", "amount": "0"})
    assert bad.status_code == 422
    future = await api.post(url, json={**first, "reference": "TRX-F", "paid_at": "2099-01-01"})
    assert future.status_code == 422 and future.json()["field"] == "paid_at"
    rest = {"reference": "TRX-2", "amount": "293689.60", "paid_at": case["delivered_on"]}
    assert (await api.post(url, json=rest)).status_code == 202
    done = await until(api, case["id"], "FULFILLED")
    assert done["amount_paid"] == "1293689.60"
    assert done["owed_today"]["outstanding"] == "0.00"
    kinds = [e["kind"] for e in done["events"]]
    assert kinds.count("payment_received") == 2  # neither the zero nor the future one


async def test_an_ended_case_is_read_from_the_read_model_without_replaying_it(
    api: httpx.AsyncClient, dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once its workflow has ended, a case is answered from its stored row, which holds all
    of it; a query to an ended workflow replays its whole history on a worker."""
    case = await started(api)
    paid = {"reference": "TRX-E", "amount": "1293689.60", "paid_at": case["delivered_on"]}
    assert (await api.post(f"/audits/{case['id']}/payments", json=paid)).status_code == 202
    handle = dev_env.client.get_workflow_handle(case["id"])
    await handle.result()
    final = (await handle.query(CameralAudit.snapshot)).model_dump(mode="json")

    asked = counted_queries(monkeypatch)
    read = (await api.get(f"/audits/{case['id']}")).json()
    assert asked == []
    assert read["status"] == "FULFILLED" and read["live"] is True
    for field, value in final.items():
        assert read[field] == value, field


async def test_cancel_and_unknown_ids(api: httpx.AsyncClient) -> None:
    case = await started(api)
    no_reason = await api.post(f"/audits/{case['id']}/cancel", json={})
    assert no_reason.status_code == 422
    cancelled = await api.post(f"/audits/{case['id']}/cancel", json={"reason": "withdrawn"})
    assert cancelled.json()["status"] == "CANCELLED"
    await until(api, case["id"], "CANCELLED")
    again = await api.post(f"/audits/{case['id']}/cancel", json={"reason": "again"})
    assert again.status_code == 409
    late = {"reference": "LATE-1", "amount": "1.00", "paid_at": case["delivered_on"]}
    for _ in range(50):  # the workflow closes a moment after its last state is shown
        reply = await api.post(f"/audits/{case['id']}/payments", json=late)
        if reply.status_code == 409:
            break
        await asyncio.sleep(0.1)
    assert reply.status_code == 409
    assert "closed (CANCELLED)" in reply.json()["detail"]

    unknown = next_audit_id()
    assert (await api.get(f"/audits/{unknown}")).status_code == 404
    assert (await api.get("/audits/not-an-id")).status_code == 404
    pay = {"reference": "X", "amount": "1.00", "paid_at": "2026-01-01"}
    stray = await api.post(f"/audits/{unknown}/payments", json=pay)
    assert stray.status_code == 202 and stray.json()["result"] == "unknown_audit"
    assert (
        await api.post(f"/audits/{unknown}/review", json={"decision": "accept"})
    ).status_code == 404


async def test_listing_filters_and_health(api: httpx.AsyncClient) -> None:
    case = await started(api, inspector_id="I-LIST")
    page = (await api.get("/audits", params={"inspector_id": "I-LIST"})).json()
    assert [item["id"] for item in page["items"]] == [case["id"]]
    assert (await api.get("/audits", params={"overdue": "true", "inspector_id": "I-LIST"})).json()[
        "items"
    ] == []
    assert (await api.get("/audits", params={"party_bin": "12"})).status_code == 422
    health = await api.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"temporal": "ok", "database": "ok", "worker": "ok (1 polling)"}


def _date(value: str) -> Any:
    from datetime import date

    return date.fromisoformat(value)


async def test_a_decree_override_moves_open_deadlines(api: httpx.AsyncClient) -> None:
    case = await started(api)
    deadline = _date(case["response_deadline"])
    # Make the last day of the period a day off: the deadline moves to a later working day.
    put = await api.put(
        f"/calendar/overrides/{deadline.isoformat()}",
        json={"working": False, "note": "Government decree No. 1 (test)"},
    )
    assert put.status_code == 200, put.text
    assert put.json()["cases_recounted"] >= 1
    for _ in range(50):
        moved = (await api.get(f"/audits/{case['id']}")).json()
        if moved["response_deadline"] != case["response_deadline"]:
            break
        await asyncio.sleep(0.1)
    assert _date(moved["response_deadline"]) > deadline
    listed = (await api.get("/calendar/overrides")).json()
    assert {"day": deadline.isoformat(), "working": False}.items() <= listed[0].items()

    bad = await api.put("/calendar/overrides/2026-02-30", json={"working": True, "note": "x"})
    assert bad.status_code == 422
    removed = await api.delete(f"/calendar/overrides/{deadline.isoformat()}")
    assert removed.status_code == 200
    for _ in range(50):
        back = (await api.get(f"/audits/{case['id']}")).json()
        if back["response_deadline"] == case["response_deadline"]:
            break
        await asyncio.sleep(0.1)
    assert back["response_deadline"] == case["response_deadline"]
    assert (await api.delete(f"/calendar/overrides/{deadline.isoformat()}")).status_code == 404


async def test_a_start_retried_with_its_idempotency_key_gets_the_same_case(
    api: httpx.AsyncClient,
) -> None:
    body = start_body()
    del body["audit_id"]
    key = {"Idempotency-Key": "start-7f3c9a"}
    first = await api.post("/audits", json=body, headers=key)
    again = await api.post("/audits", json=body, headers=key)  # e.g. after a 503 or timeout
    other = await api.post("/audits", json={**body, "findings": "another case"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    case = await until(api, first.json()["id"], "AWAITING_RESPONSE")
    assert milestones(case).count("started") == 1
    listed = (await api.get("/audits", params={"inspector_id": body["inspector_id"]})).json()
    assert [i["id"] for i in listed["items"]].count(case["id"]) == 1
    bad_key = await api.post("/audits", json=body, headers={"Idempotency-Key": "bad key"})
    assert bad_key.status_code == 422


async def test_a_reader_waits_for_the_case_to_move_past_its_version(
    api: httpx.AsyncClient,
) -> None:
    """`GET /audits/{id}?after_version=N&wait=S` answers once the case has moved past N (a
    payment posted while the reader waits), or after S seconds with the case as it is."""
    case = await started(api)
    url = f"/audits/{case['id']}"
    seen = await resting_version(api, url, case["version"])  # the delivery's alerts are in
    quiet = (await api.get(url, params={"after_version": seen, "wait": 1})).json()
    assert quiet["version"] == seen and quiet["amount_paid"] == "0"

    waiting = asyncio.create_task(api.get(url, params={"after_version": seen, "wait": 30}))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    payment = {"reference": "TRX-W", "amount": "1000.00", "paid_at": case["delivered_on"]}
    assert (await api.post(f"{url}/payments", json=payment)).status_code == 202
    paid_at = asyncio.get_running_loop().time()
    moved = (await waiting).json()
    assert moved["version"] > seen and moved["amount_paid"] == "1000.00"
    # Answered because the case moved, not because the 30 s were over.
    assert asyncio.get_running_loop().time() - paid_at < 20

    for bad in ({"wait": 1}, {"after_version": seen, "wait": 31}, {"after_version": -1}):
        refused = await api.get(url, params=bad)
        assert refused.status_code == 422, (bad, refused.text)
        body = refused.json()
        assert body["field"] in ("after_version", "wait"), refused.text
        # Every 422, the API's own checks' as well as the schema's, lists its problems.
        assert body["field"] in [problem["field"] for problem in body["errors"]], refused.text


async def test_a_follower_is_answered_with_the_row_that_moved_without_a_query(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader whose case moved past its version gets the stored case that moved: each of
    those answers used to be a query to the workflow as well. Once the case rests, the
    stored answer and the live one are the same field by field."""
    case = await started(api)
    url = f"/audits/{case['id']}"
    seen = await resting_version(api, url, case["version"])
    asked = counted_queries(monkeypatch)
    waiting = asyncio.create_task(api.get(url, params={"after_version": seen, "wait": 30}))
    await asyncio.sleep(0.5)
    payment = {"reference": "TRX-F", "amount": "1000.00", "paid_at": case["delivered_on"]}
    assert (await api.post(f"{url}/payments", json=payment)).status_code == 202
    moved = (await waiting).json()
    assert asked == []
    assert moved["version"] > seen and moved["amount_paid"] == "1000.00"

    rested = await resting_version(api, url, moved["version"])
    stored = (await api.get(url, params={"after_version": rested - 1, "wait": 5})).json()
    live = (await api.get(url)).json()
    assert stored["version"] == live["version"] == rested
    for field, value in live.items():
        assert stored[field] == value, field


def counted_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the workflows this test queries from now on."""
    asked: list[str] = []
    query = WorkflowHandle.query

    async def counted(self: WorkflowHandle[Any, Any], *args: Any, **kwargs: Any) -> Any:
        asked.append(self.id)
        return await query(self, *args, **kwargs)

    monkeypatch.setattr(WorkflowHandle, "query", counted)
    return asked


async def resting_version(api: httpx.AsyncClient, url: str, seen: int) -> int:
    """The case's version once it rests (no change for a second), following it from `seen`."""
    for _ in range(20):
        again = (await api.get(url, params={"after_version": seen, "wait": 1})).json()
        if again["version"] == seen:
            return seen
        seen = again["version"]
    raise AssertionError(f"{url} never rested")


async def test_the_waits_of_many_readers_share_one_read_of_the_rows(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten readers waiting on a case cost the database one query a tick, not ten: each
    wait used to read the row on its own."""
    reads: list[list[str]] = []
    read = case_rows.stored_versions

    def counted(db: Engine, audit_ids: list[str]) -> dict[str, int]:
        reads.append(list(audit_ids))
        return read(db, audit_ids)

    monkeypatch.setattr(case_rows, "stored_versions", counted)
    case = await started(api)
    ahead = {"after_version": case["version"] + 1000, "wait": 2}
    loop = asyncio.get_running_loop()
    began = loop.time()
    answers = await asyncio.gather(
        *(api.get(f"/audits/{case['id']}", params=ahead) for _ in range(10))
    )
    took = loop.time() - began
    assert all(answer.status_code == 200 for answer in answers)
    assert reads and all(ids == [case["id"]] for ids in reads), (reads, case["id"])
    assert len(reads) <= took / following.CHECK_SECONDS + 1, (len(reads), took)


async def test_stopping_the_api_answers_the_readers_still_waiting(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> None:
    """A reader following a case gets the case as it is when the API stops; before, the
    stop waited out every open wait (30 s) or, bounded, cut the reader off with a 500."""
    own_number_block(engine)
    app = create_app(settings, client=dev_env.client)
    port = free_port()
    server = Server(uvicorn.Config(app, host="127.0.0.1", port=port), signals=False)
    async with (
        build_worker(dev_env.client, task_queue, engine, settings),
        running(server),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60, auth=ByEndpoint(Tokens(settings))
        ) as api,
    ):
        case = await started(api)
        ahead = {"after_version": case["version"] + 1000, "wait": 30}
        waiting = asyncio.create_task(api.get(f"/audits/{case['id']}", params=ahead))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        server.should_exit = True
        stopped_at = asyncio.get_running_loop().time()
        answer = await waiting
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == case["id"]
    assert asyncio.get_running_loop().time() - stopped_at < 20  # not the 30 s of the wait


async def test_a_caller_waits_on_so_many_cases_at_once(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Waiting costs the API a little for each wait: one caller gets a clear 429 past its
    share, and its share back once an answer has come."""
    monkeypatch.setattr(following, "WAITS_PER_CALLER", 1)
    case = await started(api)
    url = f"/audits/{case['id']}"
    waiting = {"after_version": case["version"] + 1000, "wait": 3}
    first = asyncio.create_task(api.get(url, params=waiting))
    await asyncio.sleep(0.5)
    refused = await api.get(url, params=waiting)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.json()["field"] == "wait"
    assert (await api.get(url)).status_code == 200  # reading without waiting is not limited
    assert (await first).status_code == 200
    assert (await api.get(url, params={**waiting, "wait": 0.2})).status_code == 200

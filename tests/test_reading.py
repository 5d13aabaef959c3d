"""Reading a case over HTTP: from the workflow, or from the read model where that holds all
of it (an ended case, a follower whose case moved), and following it with waits that
share one reader of the rows and end when the API stops."""

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
from tests.cases import started
from tests.conftest import free_port, own_number_block, running
from tests.tokens import ByEndpoint, Tokens
from worker import build_worker
from workflows.cameral_audit import CameralAudit


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

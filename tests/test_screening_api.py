"""Risk screening end to end on the Temporal dev server with a real worker: feeds over HTTP,
a run and its progress, candidates an inspector accepts (one audit, charged as proposed)
or dismisses, all in the trail; who may do what."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import Session, col
from temporalio.client import Client, ScheduleActionStartWorkflow

from api import screening_decisions as decisions
from api.auth import Principal
from api.cases import CaseGateway
from api.screening_routes import AcceptRequest, audit_order
from api.starting import start_case
from config import Settings
from db import screening_store as store
from db import trail
from db.reference import load_rate_tables
from db.screening_models import CandidateRow
from db.screening_store import candidate_trail_id
from tests.cases import until
from tests.screening_data import DAY, DECLARANTS, as_csv, as_json_lines, item, line, market
from tests.tokens import FOREIGN_OFFICE, Tokens
from workflows.screening_schedule import SCHEDULE_ID, ensure_schedule
from workflows.search_attributes import SCREENING_CANDIDATES, SCREENING_STATUS

TARGET = "55201/020326/0777001"


def target_declaration() -> list[dict[str, Any]]:
    """A declaration of two lines: the first at 80 % of the market median minus a bit, the
    second of other goods, honest."""
    return [
        line("800", number=TARGET, line_no=1, quantity="250"),
        line("1010", number=TARGET, line_no=2, quantity="40", hs_code="8413702000"),
    ]


async def run_screening(api: httpx.AsyncClient) -> dict[str, Any]:
    started = await api.post("/screening/runs")
    assert started.status_code == 202, started.text
    assert started.headers["Location"] == f"/screening/runs/{started.json()['id']}"
    for _ in range(300):
        run: dict[str, Any] = (await api.get(started.headers["Location"])).json()
        if run["status"] in ("completed", "failed"):
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"screening run stayed {run['status']}")


async def test_imports_count_stored_duplicate_and_refused_rows(api: httpx.AsyncClient) -> None:
    good = line("1000")
    rows = [
        good,
        {**good, "line_no": 2},
        good,
        {**good, "line_no": 3, "unit": ""},
        {**good, "line_no": 4, "customs_value_kzt": "1e30"},
    ]
    reply = await api.post(
        "/declarations/import", content=as_csv(rows), headers={"Content-Type": "text/csv"}
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["stored"], answer["duplicates"], answer["refused"]) == (2, 1, 2)
    assert [r["line"] for r in answer["refusals"]] == [5, 6]
    assert "unit" in answer["refusals"][0]["reason"]
    again = (await api.post("/declarations/import", content=as_json_lines(rows[:2]))).json()
    assert (again["stored"], again["duplicates"], again["refused"]) == (0, 2, 0)

    items = [item("P1", DAY), item("P1", DAY), {**item("P2", DAY), "recipient_iin": "123"}]
    postal = (await api.post("/postal-items/import", content=as_json_lines(items))).json()
    assert (postal["stored"], postal["duplicates"], postal["refused"]) == (1, 1, 1)
    assert postal["refusals"][0]["line"] == 3

    for bad in (b"", b"declaration_number\n1\n", b"\xff"):
        refused = await api.post("/declarations/import", content=bad)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid", refused.text


async def test_a_run_proposes_and_an_accepted_candidate_becomes_one_audit_charged_as_proposed(
    api: httpx.AsyncClient, tokens: Tokens, dev_env: Any, engine: Any
) -> None:
    history = market()
    imported = await api.post(
        "/declarations/import", content=as_csv(history + target_declaration())
    )
    assert imported.json()["stored"] == 26
    parcels = [item(f"M{n}", date(2026, 2, 3 + n)) for n in range(4)]
    await api.post("/postal-items/import", content=as_json_lines(parcels))

    run = await run_screening(api)
    assert run["status"] == "completed", run
    assert (run["lines_screened"], run["price_candidates"], run["postal_candidates"]) == (26, 1, 1)
    assert run["batches_done"] == run["batches_total"] == 1
    handle = dev_env.client.get_workflow_handle(run["workflow_id"])
    progress = await handle.query("progress")
    assert progress["status"] == "completed" and progress["price_candidates"] == 1
    described = await handle.describe()
    assert described.typed_search_attributes.get(SCREENING_STATUS) == "completed"
    assert described.typed_search_attributes.get(SCREENING_CANDIDATES) == 2

    listing = (await api.get("/screening/candidates", params={"rule": "price"})).json()
    [candidate] = listing["items"]
    assert (candidate["declaration_number"], candidate["line_no"]) == (TARGET, 1)
    evidence = candidate["evidence"]
    assert evidence["reference"]["lines"] == 24 and evidence["reference"]["level"] == "hs10"
    assert evidence["reference"]["median"] == "1011.500000"
    assert evidence["proposed_customs_value"] == "252875.00"  # 1011.5 x 250
    assert evidence["shortfall"] == "52875.00"
    assert candidate["score"] == "0.2091"
    filtered = await api.get("/screening/candidates", params={"hs_code": "8413"})
    assert filtered.json()["items"] == []

    rerun = await run_screening(api)
    assert (rerun["lines_screened"], rerun["price_candidates"], rerun["postal_candidates"]) == (
        0,
        0,
        0,
    )

    accept = {"party_name": "Steppe Fittings LLP", "party_email": "customs@steppe.kz"}
    url = f"/screening/candidates/{candidate['id']}/accept"
    replies = await asyncio.gather(
        api.post(url, json=accept, headers=tokens.header("inspector")),
        api.post(url, json=accept, headers=tokens.header("supervisor")),
    )
    assert sorted(r.status_code for r in replies) == [201, 409], [r.text for r in replies]
    won = next(r for r in replies if r.status_code == 201).json()
    lost = next(r for r in replies if r.status_code == 409).json()
    audit_id = won["audit"]["id"]
    assert lost["code"] in ("being_accepted", "already_decided")  # as far as the winner got
    case = await until(api, audit_id, "AWAITING_RESPONSE")
    assert case["declarations"] == [TARGET] and "Line 1: declared 800.00 KZT" in case["findings"]
    assert [a["adjusted"]["customs_value"] for a in case["assessment"]["lines"]] == [
        "252875.00",
        "40400.00",
    ]
    assert case["charges"]["customs_duty"] == evidence["extra_duty"] == "5287.50"
    assert case["charges"]["vat"] == evidence["extra_vat"] == "9306.00"
    decided = (await api.get(f"/screening/candidates/{candidate['id']}")).json()
    assert (decided["status"], decided["audit_id"]) == ("accepted", audit_id)
    again = await api.post(url, json=accept)
    assert again.status_code == 409 and audit_id in again.json()["detail"]

    entries = (await api.get(f"/screening/candidates/{candidate['id']}/trail")).json()
    assert [e["action"] for e in entries] == ["screening_candidate_accepted"]
    assert trail.verify(engine, candidate_trail_id(candidate["id"])).valid
    case_trail = (await api.get(f"/audits/{audit_id}/trail")).json()
    assert "started_from_screening" in [e["action"] for e in case_trail]

    [postal] = (await api.get("/screening/candidates", params={"rule": "postal"})).json()["items"]
    assert (postal["recipient_iin"], postal["parcel_id"]) == (parcels[0]["recipient_iin"], "M3")
    dismiss = f"/screening/candidates/{postal['id']}/dismiss"
    assert (await api.post(dismiss, json={"reason": " "})).status_code == 422
    done = await api.post(dismiss, json={"reason": "gifts from relatives, documented"})
    assert done.status_code == 200 and done.json()["status"] == "dismissed"
    assert (await api.post(dismiss, json={"reason": "again"})).status_code == 409
    entries = (await api.get(f"/screening/candidates/{postal['id']}/trail")).json()
    assert entries[0]["details"]["reason"] == "gifts from relatives, documented"


async def test_who_may_screen(api: httpx.AsyncClient, tokens: Tokens) -> None:
    await api.post("/declarations/import", content=as_csv(market() + target_declaration()))
    assert (await run_screening(api))["price_candidates"] == 1
    [candidate] = (await api.get("/screening/candidates")).json()["items"]
    own = f"/screening/candidates/{candidate['id']}"
    for role in ("party", "treasury", "operator"):
        header = tokens.header(role)
        assert (await api.get("/screening/candidates", headers=header)).status_code == 403
        assert (
            await api.post("/declarations/import", content=b"x", headers=header)
        ).status_code == 403
        assert (
            await api.post(f"{own}/dismiss", json={"reason": "x"}, headers=header)
        ).status_code == 403
    assert (await api.post("/screening/runs", headers=tokens.header("operator"))).status_code == 403
    assert (
        await api.get("/screening/runs/1", headers=tokens.header("operator"))
    ).status_code == 200
    assert (
        await api.get("/screening/runs/999", headers=tokens.header("operator"))
    ).status_code == 404
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        assert (await anonymous.get("/screening/candidates")).status_code == 401
    foreign = tokens.header("inspector", office=FOREIGN_OFFICE)
    assert (await api.get("/screening/candidates", headers=foreign)).json()["items"] == []
    assert (await api.get(own, headers=foreign)).status_code == 404
    accept = {"party_name": "Steppe Fittings LLP"}
    assert (await api.post(f"{own}/accept", json=accept, headers=foreign)).status_code == 404
    office = {"customs_office": "55201"}
    assert (
        await api.get("/screening/candidates", params=office, headers=foreign)
    ).status_code == 403
    # An inspector starts audits as themselves only, as with POST /audits.
    other = {**accept, "inspector_id": "I-777"}
    refused = await api.post(f"{own}/accept", json=other, headers=tokens.header("inspector"))
    assert refused.status_code == 403
    # Every problem of the audit it would start, under the acceptance's own field names.
    bad = {**accept, "party_email": "not-an-address", "party_phone": "12"}
    invalid = await api.post(f"{own}/accept", json=bad, headers=tokens.header("inspector"))
    assert invalid.status_code == 422, invalid.text
    problems = {p["field"]: p["message"] for p in invalid.json()["errors"]}
    assert set(problems) == {"party_email", "party_phone"}, problems
    assert invalid.json()["field"] == "party_email"
    assert (await api.get(own)).json()["status"] == "open"  # a refused acceptance takes nothing


async def test_the_schedule_is_created_and_updated_from_the_settings(dev_env: Any) -> None:
    client: Client = dev_env.client
    await ensure_schedule(client, "screening-queue", "0 2 * * *", True)
    await ensure_schedule(client, "screening-queue", "30 1 * * *", False)
    described = await client.get_schedule_handle(SCHEDULE_ID).describe()
    [calendar] = described.schedule.spec.calendars  # the server keeps cron as a calendar
    assert (calendar.hour[0].start, calendar.minute[0].start) == (1, 30)
    assert described.schedule.spec.time_zone_name == "Asia/Almaty"
    assert described.schedule.state.paused
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "RiskScreening"
    await client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_an_acceptance_that_stopped_midway_is_finished_by_a_retry_with_one_audit(
    api: httpx.AsyncClient,
    tokens: Tokens,
    dev_env: Any,
    engine: Any,
    task_queue: str,
    settings: Settings,
) -> None:
    """Two acceptances die midway, as the API process stopping would leave them: one right
    after taking its candidate, one after starting the audit too. Accepting again (after the
    lease, before it a 409 says so) finishes each with exactly one audit."""
    other = "55201/020326/0777002"
    await api.post(
        "/declarations/import",
        content=as_csv(market() + target_declaration() + [line("790", number=other)]),
    )
    assert (await run_screening(api))["price_candidates"] == 2
    listing = (await api.get("/screening/candidates", params={"rule": "price"})).json()
    by_number = {c["declaration_number"]: c["id"] for c in listing["items"]}
    inspector = Principal(sub="I-001", role="inspector", office="55201")
    accept = AcceptRequest(party_name="Steppe Fittings LLP")

    def first_half(candidate_id: int) -> list[CandidateRow]:
        row = store.get_candidate(engine, candidate_id)
        assert row is not None
        claimed = store.claim(engine, row, inspector.sub, decisions.ACCEPT_LEASE)
        assert claimed is not None
        return claimed

    only_taken = first_half(by_number[TARGET])
    started_too = first_half(by_number[other])
    gateway = CaseGateway(dev_env.client, task_queue)
    order = audit_order(engine, started_too, accept, inspector)
    state = await start_case(
        inspector,
        order,
        gateway,
        engine,
        load_rate_tables(None),
        settings.penalty_terms,
        decisions.start_key(started_too),
    )

    body = {"party_name": "Steppe Fittings LLP"}
    header = tokens.header("inspector")
    for claimed in (only_taken, started_too):
        url = f"/screening/candidates/{claimed[0].id}/accept"
        early = await api.post(url, json=body, headers=header)
        assert early.status_code == 409 and early.json()["code"] == "being_accepted", early.text
        with Session(engine) as session:  # the request that took it is long gone
            session.execute(
                update(CandidateRow)
                .where(col(CandidateRow.id).in_([row.id for row in claimed]))
                .values(decided_at=datetime.now(UTC) - decisions.ACCEPT_LEASE - timedelta(1))
            )
            session.commit()
    finished = await api.post(
        f"/screening/candidates/{only_taken[0].id}/accept", json=body, headers=header
    )
    assert finished.status_code == 201, finished.text
    resumed = await api.post(
        f"/screening/candidates/{started_too[0].id}/accept", json=body, headers=header
    )
    assert resumed.status_code == 201, resumed.text
    assert resumed.json()["audit"]["id"] == state.audit_id  # the audit the dead request started

    for number, reply in ((TARGET, finished), (other, resumed)):
        audit_id = reply.json()["audit"]["id"]
        await until(api, audit_id, "AWAITING_RESPONSE")
        candidate = (await api.get(f"/screening/candidates/{by_number[number]}")).json()
        assert (candidate["status"], candidate["audit_id"]) == ("accepted", audit_id)
        trail_of = (await api.get(f"/screening/candidates/{by_number[number]}/trail")).json()
        assert [e["action"] for e in trail_of] == ["screening_candidate_accepted"]
    audits = (await api.get("/audits", params={"party_bin": DECLARANTS[0]})).json()["items"]
    assert sorted(a["id"] for a in audits) == sorted(
        r.json()["audit"]["id"] for r in (finished, resumed)
    )
    again = await api.post(
        f"/screening/candidates/{started_too[0].id}/accept", json=body, headers=header
    )
    assert again.status_code == 409 and again.json()["code"] == "already_decided"

"""The HTTP contract against the Temporal dev server, a real worker and a real socket."""

import asyncio
from typing import Any

import httpx

from domain.calendar import response_deadline, review_deadline
from tests.cases import milestones, started, until
from tests.factories import explanation_body, next_audit_id, start_body


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

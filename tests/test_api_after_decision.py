"""After an unfulfilled decision, over HTTP against the dev server: the party appeals with
its documents, customs records the outcome, the treasury's payments still count, and a
supervisor revokes a decision that a payment dated in time calls into question. Every bad
input is a 4xx that changes nothing."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.models import CalendarOverrideRow
from domain.clock import local_date
from tests.cases import started
from tests.factories import explanation_body
from tests.test_evidence import PDF, upload
from tests.tokens import Tokens


def today_is_a_working_day(engine: Engine) -> None:
    """A decision is dated on a working day: one taken on a weekend waits for Monday, so
    the test's own database makes today a working day (as a decree override would)."""
    with Session(engine) as session:
        today = local_date(datetime.now(UTC))
        session.merge(CalendarOverrideRow(day=today, working=True, note="test"))
        session.commit()


async def served_decision(api: httpx.AsyncClient, engine: Engine) -> dict[str, Any]:
    """A case rejected on review, once its decision is placed and its appeal period counted."""
    today_is_a_working_day(engine)
    case = await started(api)
    explained = await api.post(f"/audits/{case['id']}/explanation", json=explanation_body(case))
    assert explained.status_code == 200, explained.text
    rejected = await api.post(
        f"/audits/{case['id']}/review", json={"decision": "reject", "reasons": "price unproven"}
    )
    assert rejected.status_code == 200, rejected.text
    for _ in range(150):
        shown: dict[str, Any] = (await api.get(f"/audits/{case['id']}")).json()
        if shown["after_decision"] and shown["after_decision"]["appeal_deadline"]:
            return shown
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case['id']}: the decision was not served")


async def test_the_party_appeals_and_customs_records_a_reduced_outcome(
    api: httpx.AsyncClient, engine: Engine, tokens: Tokens
) -> None:
    case = await served_decision(api, engine)
    audit = case["id"]
    after = case["after_decision"]
    assert after["decision_number"] == f"{audit}/D1"
    assert after["delivered_on"] == after["decided_on"]  # placed in the cabinet that day
    uploaded = await upload(
        api,
        audit,
        ("file", "appeal.pdf", "application/pdf", PDF),
        ("title", "Complaint to the higher body", "", b""),
        ("kind", "other", "", b""),
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()[0]["id"]
    appeal = {"authority": "higher_authority", "grounds": "The price is proven"}
    refused = [
        await api.post(f"/audits/{audit}/appeal", json={**appeal, "documents": []}),
        await api.post(f"/audits/{audit}/appeal", json={**appeal, "documents": ["nope"]}),
        await api.post(
            f"/audits/{audit}/appeal",
            json={**appeal, "authority": "minister", "documents": [document]},
        ),
        await api.post(f"/audits/{audit}/appeal/outcome", json={"outcome": "upheld"}),
    ]
    assert [r.status_code for r in refused] == [422, 422, 422, 409], [r.text for r in refused]
    assert (await api.get(f"/audits/{audit}")).json()["status"] == "UNFULFILLED"

    filed = await api.post(f"/audits/{audit}/appeal", json={**appeal, "documents": [document]})
    assert filed.status_code == 200, filed.text
    assert filed.json()["status"] == "APPEALED"
    again = await api.post(f"/audits/{audit}/appeal", json={**appeal, "documents": [document]})
    assert again.status_code == 409 and "already filed" in again.json()["detail"]

    outcome = f"/audits/{audit}/appeal/outcome"
    raising = await api.post(
        outcome,
        json={"outcome": "reduced", "reasons": "R-1", "charges": {"customs_duty": "900000"}},
    )
    assert raising.status_code == 422 and "cannot raise" in raising.json()["detail"]
    without = await api.post(outcome, json={"outcome": "reduced", "reasons": "R-1"})
    assert without.status_code == 422
    as_party = await api.post(outcome, json={"outcome": "upheld"}, headers=tokens.header("party"))
    assert as_party.status_code == 403
    reduced = await api.post(
        outcome,
        json={
            "outcome": "reduced",
            "reasons": "part proven",
            "charges": {"customs_duty": "1000.00"},
        },
    )
    assert reduced.status_code == 200, reduced.text
    body = reduced.json()
    assert body["status"] == "UNFULFILLED" and body["amount_due"] == "1000.00"
    assert body["after_decision"]["appeal_outcome"] == "reduced"

    paid = await api.post(
        f"/audits/{audit}/payments",
        json={
            "reference": "AFTER-1",
            "amount": "5000.00",
            "paid_at": str(local_date(datetime.now(UTC))),
        },
    )
    assert paid.status_code == 202, paid.text
    assert paid.json()["result"] == "accepted"


async def test_a_supervisor_revokes_a_decision_a_payment_dated_in_time_calls_into_question(
    api: httpx.AsyncClient, engine: Engine, tokens: Tokens
) -> None:
    case = await served_decision(api, engine)
    audit = case["id"]
    nothing = await api.post(f"/audits/{audit}/revocation", json={"decision": "revoke"})
    assert nothing.status_code == 409 and "nothing to revoke" in nothing.json()["detail"]
    posted = await api.post(
        f"/audits/{audit}/payments",
        json={"reference": "IN-TIME", "amount": "1293689.60", "paid_at": case["issued_on"]},
    )
    assert posted.status_code == 202 and posted.json()["result"] == "accepted", posted.text
    flagged = (await api.get(f"/audits/{audit}")).json()
    assert flagged["after_decision"]["revocation_proposed"] is True
    by_inspector = await api.post(
        f"/audits/{audit}/revocation",
        json={"decision": "revoke"},
        headers=tokens.header("inspector", office="55201"),
    )
    assert by_inspector.status_code == 403 and "supervisor" in by_inspector.json()["detail"]
    keep_without_reasons = await api.post(f"/audits/{audit}/revocation", json={"decision": "keep"})
    assert keep_without_reasons.status_code == 422
    revoked = await api.post(f"/audits/{audit}/revocation", json={"decision": "revoke"})
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "FULFILLED"
    assert revoked.json()["after_decision"]["revocation_notice"] == f"{audit}/V1"

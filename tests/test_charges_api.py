"""Charges over HTTP: the preview an inspector or broker checks, audits started from lines,
and the treasury statement as JSON and as CSV."""

from decimal import Decimal
from typing import Any

import httpx

from tests.cases import started, until
from tests.factories import start_body

SEED_LINE = {
    "declaration": "55201/010525/0000001",
    "registered_on": "2025-05-01",
    "currency": "USD",
    "exchange_rate": "420",
    "price_paid": "10000",
    "transport_to_border": "500",
    "transport_after_border": "300",
    "insurance_to_border": "10",
    "duty_rate_percent": "15",
    "customs_fee_kzt": "20000",
}


async def test_preview_reproduces_the_seed_with_every_figure(api: httpx.AsyncClient) -> None:
    reply = await api.post(
        "/charges/preview",
        json={"lines": [SEED_LINE], "convert_to": {"currency": "USD", "rate": "420"}},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    line = body["lines"][0]
    assert line["customs_value"] == "4414200.00"
    assert line["customs_duty"] == "662130.00"
    assert line["customs_fee"] == "20000.00"
    assert line["vat"] == "611559.60"
    assert line["excise"] == "0.00"
    assert line["total"] == "1293689.60"
    assert line["vat_base"] == "5096330.00" and line["vat_rate_percent"] == "12"
    assert body["total"]["total"] == "1293689.60"
    assert body["converted"]["total"] == "3080.21" and body["converted"]["customs_fee"] == "47.62"


async def test_preview_rejects_bad_lines_with_the_field(api: httpx.AsyncClient) -> None:
    cases = {
        "price_paid": {**SEED_LINE, "price_paid": "-1"},
        "customs_fee_mci": {**SEED_LINE, "customs_fee_mci": "1"},  # both fee forms
        "currency": {**SEED_LINE, "currency": "dollars"},
        "royalty": {**SEED_LINE, "royalty": "1"},  # a typo of royalties
    }
    for field, line in cases.items():
        reply = await api.post("/charges/preview", json={"lines": [line]})
        assert reply.status_code == 422, (field, reply.text)
        assert field in reply.text, (field, reply.text)
    early = await api.post(
        "/charges/preview", json={"lines": [{**SEED_LINE, "registered_on": "1999-01-01"}]}
    )
    assert early.status_code == 422 and "not known" in early.json()["detail"]
    assert (await api.post("/charges/preview", json={"lines": []})).status_code == 422


def audit_with_lines(**changes: Any) -> dict[str, Any]:
    body = start_body(
        lines=[
            {
                "declared": {**SEED_LINE, "price_paid": "7500"},
                "adjusted": SEED_LINE,
            }
        ]
    )
    del body["charges"]
    body.update(changes)
    return body


async def test_an_audit_started_from_lines_charges_the_difference(api: httpx.AsyncClient) -> None:
    reply = await api.post("/audits", json=audit_with_lines())
    assert reply.status_code == 201, reply.text
    case = await until(api, reply.json()["id"], "AWAITING_RESPONSE")
    assessed = case["assessment"]["lines"][0]
    assert assessed["additional"]["customs_duty"] == "157500.00"
    assert assessed["additional"]["vat"] == "144900.00"
    charges = case["charges"]
    assert charges["customs_duty"] == "157500.00" and charges["customs_fee"] == "0.00"
    assert charges["penalty"] != "0.00"  # unpaid since 1 May 2025
    kinds = ("customs_duty", "vat", "customs_fee", "excise", "penalty")
    assert Decimal(case["amount_due"]) == sum(Decimal(charges[k]) for k in kinds)
    documents = (await api.get(f"/audits/{case['id']}/documents")).json()
    notice = next(d for d in documents if d["kind"] == "notification")
    text = (await api.get(notice["url"], headers={"Accept": "text/plain"})).text
    assert "55201/010525/0000001" in text and "4\u00a0414\u00a0200,00\u00a0₸" in text

    nothing = audit_with_lines(lines=[{"declared": SEED_LINE, "adjusted": SEED_LINE}])
    refused = await api.post("/audits", json=nothing)
    assert refused.status_code == 422 and refused.json()["field"] == "lines"
    both = {**audit_with_lines(), "charges": start_body()["charges"]}
    assert (await api.post("/audits", json=both)).status_code == 422


async def test_a_statement_reports_each_line(api: httpx.AsyncClient) -> None:
    case = await started(api)
    statement = {
        "payments": [
            {
                "audit_id": case["id"],
                "reference": "ST-1",
                "amount": "1000.00",
                "paid_at": case["issued_on"],
                "kind": "customs_duty",
            },
            {
                "audit_id": "CA-2026-999997",
                "reference": "ST-2",
                "amount": "1.00",
                "paid_at": case["issued_on"],
            },
        ]
    }
    reply = await api.post("/payments/batch", json=statement)
    assert reply.status_code == 200, reply.text
    result = reply.json()
    assert [r["result"] for r in result["results"]] == ["accepted", "unknown_audit"]
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (1, 0, 1)

    for _ in range(100):
        paid = (await api.get(f"/audits/{case['id']}")).json()
        if paid["amount_paid"] == "1000.00":
            break
    csv = (
        "audit_id,reference,amount,paid_at,kind\n"
        f"{case['id']},ST-1,1000.00,{case['issued_on']},customs_duty\n"
        f"{case['id']},ST-3,abc,{case['issued_on']},\n"
        f"{case['id']},ST-4,1292689.60,{case['issued_on']},\n"
    )
    imported = await api.post(
        "/payments/import", content=csv.encode(), headers={"Content-Type": "text/csv"}
    )
    assert imported.status_code == 200, imported.text
    lines = imported.json()["results"]
    assert [r["result"] for r in lines] == ["duplicate", "invalid", "accepted"]
    assert "amount" in lines[1]["detail"]
    headerless = await api.post("/payments/import", content=b"a,b\n1,2\n")
    assert headerless.status_code == 422 and "audit_id" in headerless.json()["detail"]

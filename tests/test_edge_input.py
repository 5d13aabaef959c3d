"""Input the database cannot hold, or that no honest client sends, is refused at the edge with
a 422 naming the field, and nothing is started or stored. Each case here reached a workflow
(or answered 500) before the edge checks existed."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import principal_from
from api.errors import ApiError
from config import Settings
from domain.identifiers import AUDIT_ID_PATTERN, bin_problem
from tests.cases import started
from tests.conftest import serving
from tests.factories import start_body
from tests.test_charges_api import SEED_LINE
from tests.test_evidence import PDF, files
from tests.tokens import Tokens


async def _refused(reply: httpx.Response, field: str) -> None:
    assert reply.status_code == 422, reply.text
    body = reply.json()
    assert body["code"] == "invalid" and field in body["field"], body


async def _post_raw(api: httpx.AsyncClient, url: str, raw: str) -> httpx.Response:
    """JSON written by hand, so escapes such as a lone surrogate reach the server as sent."""
    return await api.post(url, content=raw.encode(), headers={"Content-Type": "application/json"})


async def test_text_the_database_cannot_hold_is_refused_and_nothing_starts(
    api: httpx.AsyncClient,
) -> None:
    inspector = "I-EDGE-TEXT"
    nul_name = start_body(inspector_id=inspector)
    nul_name["party"]["name"] = "Steppe\x00Fittings"
    await _refused(await api.post("/audits", json=nul_name), "party.name")
    bell = start_body(inspector_id=inspector, findings="price \x07 below")
    await _refused(await api.post("/audits", json=bell), "findings")
    surrogate = json.dumps(start_body(inspector_id=inspector)).replace(
        "Declared price", "Declared \\ud800 price"
    )
    await _refused(await _post_raw(api, "/audits", surrogate), "findings")
    arabic_digits = start_body(inspector_id=inspector, customs_office="٥٥٢٠١")
    await _refused(await api.post("/audits", json=arabic_digits), "customs_office")
    wide_amount = start_body(inspector_id=inspector)
    wide_amount["charges"]["vat"] = "６１１５５９.６０"  # full-width digits
    await _refused(await api.post("/audits", json=wide_amount), "charges.vat")
    too_much = start_body(inspector_id=inspector)
    too_much["charges"] = {k: "9999999999999999.99" for k in ("customs_duty", "vat", "excise")}
    await _refused(await api.post("/audits", json=too_much), "charges")
    # newlines and tabs are ordinary in findings
    fine = start_body(inspector_id=inspector, findings="Line one.\n\tLine two.")
    assert (await api.post("/audits", json=fine)).status_code == 201
    listed = (await api.get("/audits", params={"inspector_id": inspector})).json()["items"]
    assert len(listed) == 1


async def test_payments_with_odd_dates_references_or_sums_are_refused(
    api: httpx.AsyncClient,
) -> None:
    largest = {"customs_duty": "9999999999999999.99"}  # what a Numeric(18, 2) column holds
    case = await started(api, charges=largest)
    url = f"/audits/{case['id']}/payments"
    pay: dict[str, Any] = {"reference": "TRX-E1", "amount": "1.00", "paid_at": case["issued_on"]}
    await _refused(await api.post(url, json={**pay, "paid_at": "0001-01-01"}), "paid_at")
    await _refused(await api.post(url, json={**pay, "reference": "TRX\x00E1"}), "reference")
    huge = {**pay, "reference": "TRX-E2", "amount": "9999999999999999.00"}
    assert (await api.post(url, json=huge)).json()["result"] == "accepted"
    again = await api.post(url, json={**huge, "reference": "TRX-E3", "amount": "5.00"})
    assert again.status_code == 422 and again.json()["field"] == "amount", again.text
    after = (await api.get(f"/audits/{case['id']}")).json()
    assert [p["reference"] for p in after["payments"]] == ["TRX-E2"]


async def test_preview_of_impossible_lines_is_a_422_not_a_500(api: httpx.AsyncClient) -> None:
    enormous = {**SEED_LINE, "duty_specific_per_unit": "99999999999999.999999"}
    enormous["quantity"] = "99999999999999.999999"
    enormous["euro_rate"] = "500"
    reply = await api.post("/charges/preview", json={"lines": [enormous]})
    assert reply.status_code == 422 and "largest amount" in reply.json()["detail"], reply.text
    far = {**SEED_LINE, "registered_on": "9999-12-31"}
    await _refused(await api.post("/charges/preview", json={"lines": [far]}), "registered_on")


async def test_a_file_named_in_kazakh_downloads_with_an_rfc_5987_name(
    api: httpx.AsyncClient,
) -> None:
    case = await started(api)
    reply = await api.post(
        f"/audits/{case['id']}/documents",
        files=files(
            ("file", "шот-фактура №1.pdf", "application/pdf", PDF),
            ("title", "Шот-фактура", "", b""),
            ("kind", "invoice", "", b""),
        ),
    )
    assert reply.status_code == 201, reply.text
    fetched = await api.get(reply.json()[0]["url"])
    assert fetched.status_code == 200
    disposition = fetched.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "filename*=UTF-8''%D1%88%D0%BE%D1%82" in disposition
    assert fetched.headers["x-content-type-options"] == "nosniff"


async def test_every_error_body_is_json(api: httpx.AsyncClient) -> None:
    missing = await api.get("/no-such-page")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = await api.delete("/audits")
    assert wrong_method.status_code == 405 and "code" in wrong_method.json()
    broken = await _post_raw(api, "/audits", "{not json")
    assert broken.status_code == 422 and broken.json()["code"] == "invalid"


def test_identifiers_are_ascii_digits_matched_whole() -> None:
    assert bin_problem("٩٥٠٤٠٠٠٠٠٤٥٩") is not None  # 950400000459 in Arabic-Indic digits
    assert bin_problem("950400000459") is None
    for office in ("55201\n", "５５２０１"):
        with pytest.raises(ApiError):
            principal_from({"sub": "I-001", "role": "inspector", "office": office})
    assert AUDIT_ID_PATTERN.fullmatch("CA-2026-000001\n") is None


async def test_the_gate_answers_before_any_body_is_read(
    dev_env: WorkflowEnvironment, settings: Settings, tokens: Tokens
) -> None:
    app = create_app(settings.model_copy(update={"request_max_bytes": 4096}), dev_env.client)
    staff = tokens.header("inspector")
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        big = start_body(findings="x" * 5000)
        declared = await client.post("/audits", json=big, headers=staff)
        assert declared.status_code == 413 and declared.json()["code"] == "too_large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1024

        streamed = await client.post(
            "/audits", content=chunks(), headers={**staff, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413 and streamed.json()["code"] == "too_large"
        # a malformed body is not even looked at without valid credentials
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            anonymous = await client.post(
                "/audits",
                content=b"{not json",
                headers={**headers, "Content-Type": "application/json"},
            )
            assert anonymous.status_code == 401, anonymous.text
        odd_query = await client.get("/audits", params={"inspector_id": "I\x00"}, headers=staff)
        assert odd_query.status_code == 422 and odd_query.json()["field"] == "inspector_id"


async def test_bodies_that_are_not_text_and_ids_beyond_64_bits_are_4xx(
    api: httpx.AsyncClient,
) -> None:
    garbled = await _post_raw_bytes(api, "/charges/preview", b"H\xff\xfe")
    assert garbled.status_code == 400 and garbled.json()["code"] == "bad_request"
    page = await api.get("/payments/unmatched", params={"after": str(2**31)})
    assert page.status_code == 422 and page.json()["field"] == "after"


async def _post_raw_bytes(api: httpx.AsyncClient, url: str, raw: bytes) -> httpx.Response:
    return await api.post(url, content=raw, headers={"Content-Type": "application/json"})

"""Evidence over HTTP: uploads with signatures and limits, explanations that cite them,
document requests, and the trail that records it all."""

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.cases import started, until
from tests.factories import PARTY_BIN, explanation_body
from tests.pki import Identity, make_signer
from tests.tokens import Tokens

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n% SWIFT MT103 copy\n"


def files(*parts: tuple[str, str, str, bytes]) -> list[tuple[str, Any]]:
    """Multipart parts: (field, file name or value, content type, bytes)."""
    out: list[tuple[str, Any]] = []
    for field, name, media, data in parts:
        if field in ("file", "signature"):
            out.append((field, (name, data, media)))
        else:
            out.append((field, (None, name)))
    return out


async def upload(api: httpx.AsyncClient, audit_id: str, *parts: Any) -> httpx.Response:
    return await api.post(f"/audits/{audit_id}/documents", files=files(*parts))


async def test_upload_with_signature_then_read_by_staff_is_traced(
    api: httpx.AsyncClient, national_ca: tuple[Identity, Path], tokens: Tokens
) -> None:
    case = await started(api)
    signer = make_signer(national_ca[0], bin_=PARTY_BIN)
    reply = await upload(
        api,
        case["id"],
        ("file", "swift.pdf", "application/octet-stream", PDF),
        ("title", "SWIFT MT103", "", b""),
        ("kind", "swift", "", b""),
        ("signature", "swift.pdf.p7s", "application/pkcs7-signature", signer.sign(PDF)),
        ("file", "prices.csv", "application/pdf", b"item,price\nfitting,2.5\n"),
        ("title", "Supplier price list", "", b""),
        ("kind", "price_list", "", b""),
    )
    assert reply.status_code == 201, reply.text
    swift, prices = reply.json()
    assert swift["media_type"] == "application/pdf" and prices["media_type"] == "text/csv"
    assert swift["sha256"] == hashlib.sha256(PDF).hexdigest() and swift["size"] == len(PDF)
    assert swift["signature_status"] == "valid" and prices["signature_status"] == "unsigned"
    assert swift["uploaded_by"] == PARTY_BIN

    listing = (await api.get(f"/audits/{case['id']}/documents")).json()
    uploaded = [d for d in listing if d["source"] == "uploaded"]
    assert {d["id"] for d in uploaded} == {swift["id"], prices["id"]}
    assert any(d["source"] == "issued" for d in listing)

    got = await api.get(swift["url"], headers=tokens.header("inspector"))
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-sha256"] == swift["sha256"]
    assert got.headers["x-signature-status"] == "valid"
    signature = await api.get(f"{swift['url']}/signature")
    assert signature.status_code == 200 and signature.content[:1] == b"\x30"

    trail = (await api.get(f"/audits/{case['id']}/trail")).json()
    actions = [row["action"] for row in trail]
    assert actions.count("document_uploaded") == 2 and "document_read" in actions
    read = next(row for row in trail if row["action"] == "document_read")
    assert (read["actor"], read["role"]) == ("I-001", "inspector")
    assert (await api.get(f"/audits/{case['id']}/trail/verify")).json()["valid"] is True

    odd = await upload(
        api,
        case["id"],
        ("file", '../../etc/evil"name;.pdf', "application/pdf", PDF + b"odd"),
        ("title", "odd name", "", b""),
        ("kind", "other", "", b""),
    )
    # httpx sends the quote as %22; path, quote and semicolon never reach a header or disk
    assert odd.status_code == 201 and odd.json()[0]["filename"] == "evil_22name_.pdf"
    fetched = await api.get(odd.json()[0]["url"])
    assert fetched.headers["content-disposition"] == 'attachment; filename="evil_22name_.pdf"'


async def test_bad_uploads_are_refused_and_nothing_is_stored(
    api: httpx.AsyncClient, national_ca: tuple[Identity, Path]
) -> None:
    case = await started(api)
    audit = case["id"]

    async def refused(status: int, *parts: Any) -> dict[str, Any]:
        reply = await upload(api, audit, *parts)
        assert reply.status_code == status, reply.text
        body: dict[str, Any] = reply.json()
        return body

    big = await refused(
        413,
        ("file", "ok.pdf", "application/pdf", PDF),
        ("title", "ok", "", b""),
        ("kind", "contract", "", b""),
        ("file", "big.pdf", "application/pdf", b"%PDF-1.7\n" + b"0" * 70_000),
        ("title", "big", "", b""),
        ("kind", "contract", "", b""),
    )
    assert "UPLOAD_MAX_FILE_BYTES" in big["detail"]
    exe = await refused(
        415,
        ("file", "invoice.pdf", "application/pdf", b"MZ\x90\x00" + b"\x00" * 200),
        ("title", "invoice", "", b""),
        ("kind", "invoice", "", b""),
    )
    assert "UPLOAD_ALLOWED_TYPES" in exe["detail"] and "application/pdf" in exe["detail"]
    kind = await refused(
        422,
        ("file", "x.pdf", "application/pdf", PDF),
        ("title", "x", "", b""),
        ("kind", "selfie", "", b""),
    )
    assert kind["field"] == "kind"
    missing_title = await refused(
        422, ("file", "x.pdf", "application/pdf", PDF), ("kind", "other", "", b"")
    )
    assert missing_title["field"] == "title"
    stray = await refused(
        422,
        ("file", "x.pdf", "application/pdf", PDF),
        ("title", "x", "", b""),
        ("kind", "other", "", b""),
        ("signature", "y.pdf.p7s", "application/pkcs7-signature", b"0"),
    )
    assert stray["field"] == "signature"
    assert (await api.get(f"/audits/{audit}/trail")).json()[-1]["action"] != "document_uploaded"
    listing = (await api.get(f"/audits/{audit}/documents")).json()
    assert not [d for d in listing if d["source"] == "uploaded"]

    chunk = b"%PDF-1.7\n" + b"1" * 60_000
    for n in range(2):
        ok = await upload(
            api,
            audit,
            ("file", f"part{n}.pdf", "application/pdf", chunk + bytes([n])),
            ("title", f"part {n}", "", b""),
            ("kind", "other", "", b""),
        )
        assert ok.status_code == 201
    full = await refused(
        413,
        ("file", "part3.pdf", "application/pdf", chunk + b"3"),
        ("title", "part 3", "", b""),
        ("kind", "other", "", b""),
    )
    assert "UPLOAD_MAX_CASE_BYTES" in full["detail"]
    unknown = await api.post(
        "/audits/CA-2026-999996/documents",
        files=files(("file", "x.pdf", "application/pdf", PDF)),
    )
    assert unknown.status_code == 404


async def test_explanation_cites_uploaded_documents_and_requests_get_answers(
    api: httpx.AsyncClient, engine: Engine
) -> None:
    case = await started(api)
    audit = case["id"]
    uploaded = (
        await upload(
            api,
            audit,
            ("file", "contract.pdf", "application/pdf", PDF),
            ("title", "Supply contract", "", b""),
            ("kind", "contract", "", b""),
        )
    ).json()[0]
    url = f"/audits/{audit}/explanation"
    bare = explanation_body(case)
    del bare["no_documents_reason"]
    nothing = await api.post(url, json=bare)
    assert nothing.status_code == 422 and "no_documents_reason" in nothing.text
    unknown = await api.post(url, json={**bare, "documents": ["no-such-document"]})
    assert unknown.status_code == 422 and unknown.json()["field"] == "documents"
    explained = await api.post(url, json={**bare, "documents": [uploaded["id"]]})
    assert explained.status_code == 200, explained.text

    requested = await api.post(
        f"/audits/{audit}/document-requests",
        json={"items": ["Exporter's declaration", "Freight invoice"], "working_days": 3},
    )
    assert requested.status_code == 200, requested.text
    request = requested.json()["document_requests"][0]
    assert request["id"] == "R1" and request["answered_at"] is None
    extra = (
        await upload(
            api,
            audit,
            ("file", "export.pdf", "application/pdf", PDF + b"export"),
            ("title", "Exporter's declaration", "", b""),
            ("kind", "exporter_declaration", "", b""),
        )
    ).json()[0]
    wrong = await api.post(
        f"/audits/{audit}/document-requests/R9/response", json={"documents": [extra["id"]]}
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "request_id"
    answered = await api.post(
        f"/audits/{audit}/document-requests/R1/response", json={"documents": [extra["id"]]}
    )
    assert answered.status_code == 200, answered.text
    state = answered.json()["document_requests"][0]
    assert state["answered_at"] is not None and state["documents"] == [extra["id"]]
    again = await api.post(
        f"/audits/{audit}/document-requests/R1/response", json={"documents": [extra["id"]]}
    )
    assert again.status_code == 409

    for _ in range(100):
        rows = (await api.get(f"/audits/{audit}/trail")).json()
        if any(r["action"] == "documents_provided" for r in rows):
            break
        await asyncio.sleep(0.1)
    actions = [r["action"] for r in rows]
    assert actions.index("documents_requested") < actions.index("documents_provided")
    request_row = next(r for r in rows if r["action"] == "documents_requested")
    assert request_row["role"] == "inspector" and request_row["details"]["request_id"] == "R1"
    documents = (await api.get(f"/audits/{audit}/documents")).json()
    assert any(d["kind"] == "document_request" for d in documents)
    await until(api, audit, "UNDER_REVIEW")


async def test_tampering_with_the_trail_is_detected(api: httpx.AsyncClient, engine: Engine) -> None:
    case = await started(api)
    audit = case["id"]
    await api.post(f"/audits/{audit}/cancel", json={"reason": "closing for the test"})
    await until(api, audit, "CANCELLED")
    verify = f"/audits/{audit}/trail/verify"
    for _ in range(100):
        verdict = (await api.get(verify)).json()
        if verdict["rows"] >= 5:
            break
        await asyncio.sleep(0.1)
    assert verdict == {
        "valid": True,
        "rows": verdict["rows"],
        "first_broken_seq": None,
        "reason": None,
    }

    def run(*statements: str) -> None:
        with engine.begin() as connection:
            for sql in statements:
                connection.execute(text(sql), {"audit": audit})

    run('UPDATE trail SET details = \'{"amount_due": "1.00"}\' WHERE audit_id = :audit AND seq = 1')
    edited = (await api.get(verify)).json()
    assert edited["valid"] is False and edited["first_broken_seq"] == 1
    assert "changed" in edited["reason"]
    run("UPDATE trail SET details = '{}' WHERE audit_id = :audit AND seq = 1")  # not the original

    # A fresh case for each of the other two kinds of tampering.
    swap = (
        "UPDATE trail SET seq = 1000 WHERE audit_id = :audit AND seq = 2",
        "UPDATE trail SET seq = 2 WHERE audit_id = :audit AND seq = 3",
        "UPDATE trail SET seq = 3 WHERE audit_id = :audit AND seq = 1000",
    )
    for tamper, expected_seq in (
        (("DELETE FROM trail WHERE audit_id = :audit AND seq = 3",), 3),
        (swap, 2),
    ):
        other = await started(api)
        audit = other["id"]
        verify = f"/audits/{audit}/trail/verify"
        for _ in range(100):
            if (await api.get(verify)).json()["rows"] >= 4:
                break
            await asyncio.sleep(0.1)
        run(*tamper)
        broken = (await api.get(verify)).json()
        assert broken["valid"] is False and broken["first_broken_seq"] == expected_seq, broken

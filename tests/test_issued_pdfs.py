"""Issued documents as signed PDF/A: every kind in every language validates with pyHanko
against the authority's CA, a changed byte is caught, the text says what the HTML says, and
any holder can verify a copy without logging in."""

import asyncio
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from activities.pdf import compile_pdf
from activities.rendering import LANGUAGES, longdate_in, money
from activities.seal import Seal, SignedPdf, load_seal
from api.verify_routes import MAX_PDF_BYTES
from config import Settings
from db.engine import make_engine
from db.models import DocumentRow
from devsinks.mail import MailSink
from domain.lifecycle import AuditStatus
from domain.notices import DocumentKind
from evidence.authority import dev_authority
from evidence.pades import verify_pdf
from evidence.signatures import load_trust_anchors
from tests.cases import start_case, started
from tests.deliveries import eventually
from tests.factories import AMOUNT_DUE, audit_start, start_body
from tests.pki import make_ca
from tests.test_templates import context
from worker import build_worker
from workflows.cameral_audit import CameralAudit

TERM = {
    "kk": "жиырма жұмыс күні",
    "ru": "двадцати рабочих дней",
    "en": "twenty working days",
}
VERIFY_URL = "http://127.0.0.1:8000/verify/CA-2026-000123/N1?sha256=" + "ab" * 32


def flat(text: str) -> str:
    """Extracted text without any kind of space, so line breaks and narrow spaces compare."""
    return re.sub(r"\s", "", text)


def text_of(pdf: bytes) -> str:
    return flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def validate(pdf: bytes, ca: asn1_x509.Certificate) -> Any:
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return validate_pdf_signature(
        signature, signer_validation_context=ValidationContext(trust_roots=[ca])
    )


def dev_ca(data_dir: Path) -> asn1_x509.Certificate:
    return load_trust_anchors(dev_authority(data_dir)[0].read_bytes())[0]


@pytest.fixture(scope="module")
def seal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Seal, asn1_x509.Certificate]:
    data_dir = tmp_path_factory.mktemp("authority")
    return load_seal(Settings(data_dir=data_dir)), dev_ca(data_dir)


def issued(seal: Seal, kind: DocumentKind, language: str) -> bytes:
    return sealed(seal, kind, language).data


def sealed(seal: Seal, kind: DocumentKind, language: str) -> SignedPdf:
    values = context(kind)
    values["case"]["party"] = {"address": "Astana, Mangilik El 8"}
    pdf = compile_pdf(
        kind,
        language,
        values,
        verify_url=VERIFY_URL,
        signer_subject=seal.subject,
        signer_serial=seal.serial,
    )
    return seal.sign(pdf, f"{kind} {language}")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_document_is_a_signed_pdf_a_that_chains_to_the_authority(
    seal: tuple[Seal, asn1_x509.Certificate], kind: DocumentKind, language: str
) -> None:
    signed = sealed(seal[0], kind, language)
    pdf = signed.data
    status = validate(pdf, seal[1])
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.signer_reported_dt == signed.signed_at  # the time the record keeps
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    certificate = status.signing_cert
    assert {"digital_signature", "non_repudiation"} <= set(certificate.key_usage_value.native)
    assert "key_cert_sign" not in certificate.key_usage_value.native
    assert certificate.subject.human_friendly == seal[0].subject

    reader = PdfReader(io.BytesIO(pdf))
    xmp = reader.root_object["/Metadata"].get_object().get_data()  # type: ignore[union-attr]
    assert b'pdfaid:part="2"' in xmp and b'pdfaid:conformance="B"' in xmp  # PDF/A-2b
    text = text_of(pdf)
    assert flat(context(kind)["doc"]["number"]) in text
    assert flat(f"1/{len(reader.pages)}") in text  # page numbers


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notification_pdf_says_amounts_deadline_and_number(
    seal: tuple[Seal, asn1_x509.Certificate], language: str
) -> None:
    values = context(DocumentKind.NOTIFICATION)
    pdf = issued(seal[0], DocumentKind.NOTIFICATION, language)
    text = text_of(pdf)
    assert flat(money(values["case"]["amount_due"])) in text
    assert flat(money(values["case"]["charges"]["customs_duty"])) in text
    assert flat(money("174925.44")) in text  # the per-declaration table
    deadline = longdate_in(language)(values["case"]["response_deadline"])
    assert flat(deadline) in text
    assert flat(values["doc"]["number"]) in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_suspension_order_pdf_is_addressed_to_the_banks_and_names_the_debt(
    seal: tuple[Seal, asn1_x509.Certificate], language: str
) -> None:
    values = context(DocumentKind.SUSPENSION_ORDER)
    text = text_of(issued(seal[0], DocumentKind.SUSPENSION_ORDER, language))
    banks = {
        "kk": "екіншідеңгейдегібанктерге",
        "ru": "банкамвторогоуровня",
        "en": "second-tierbanks",
    }
    assert banks[language] in text
    assert flat(money(values["extra"]["outstanding"])) in text
    assert flat(values["case"]["party_bin"]) in text
    assert "Astana" not in text  # the party's address is not the addressee of a bank order


def test_a_changed_byte_or_another_ca_is_not_valid(
    seal: tuple[Seal, asn1_x509.Certificate],
) -> None:
    pdf = issued(seal[0], DocumentKind.DECISION, "kk")
    anchors = [seal[1]]
    assert verify_pdf(pdf, anchors, "off").status == "valid"
    stream = pdf.index(b"stream\n") + 40  # inside the first content stream, under the signature
    changed = pdf[:stream] + bytes([pdf[stream] ^ 0x01]) + pdf[stream + 1 :]
    assert not validate(changed, seal[1]).intact
    assert verify_pdf(changed, anchors, "off").status == "invalid"
    other_ca = load_trust_anchors(make_ca("Some other CA").pem())
    assert verify_pdf(pdf, other_ca, "off").status == "untrusted"
    appended = pdf + b"\n% a line added after signing\n"
    assert verify_pdf(appended, anchors, "off").status == "invalid"


def test_the_development_authority_is_made_once(tmp_path: Path) -> None:
    first = dev_authority(tmp_path)
    again = dev_authority(tmp_path)
    assert first == again
    assert (
        load_seal(Settings(data_dir=tmp_path)).serial
        == load_seal(Settings(data_dir=tmp_path)).serial
    )


async def test_issued_pdfs_served_verified_and_linked_in_each_language(
    api: httpx.AsyncClient, mail_sink: MailSink, settings: Settings
) -> None:
    anonymous = httpx.AsyncClient(base_url=api.base_url, timeout=30)
    for language in LANGUAGES:
        case = await started(api, party={**start_body()["party"], "language": language})
        listing = (await api.get(f"/audits/{case['id']}/documents")).json()
        notification = next(d for d in listing if d["kind"] == "notification")
        assert notification["pdf_url"] == notification["url"] + ".pdf"
        reply = await api.get(notification["pdf_url"])
        assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
        pdf = reply.content
        assert hashlib.sha256(pdf).hexdigest() == notification["pdf_sha256"]
        assert reply.headers["x-content-sha256"] == notification["pdf_sha256"]
        check = await asyncio.to_thread(verify_pdf, pdf, [dev_ca(settings.data_dir)], "off")
        assert check.status == "valid"
        text = text_of(pdf)
        assert flat(money(AMOUNT_DUE)) in text
        # Issued before delivery, the notification states the term; the dated deadline is
        # checked on a rendered copy above.
        assert flat(TERM[language]) in text and flat(notification["number"]) in text

        verdict = await anonymous.post("/verify", files={"file": ("n.pdf", pdf)})
        assert verdict.status_code == 200, verdict.text
        assert verdict.json().keys() == {
            "valid",
            "document_number",
            "issuer",
            "signed_at",
            "reason",
        }
        assert verdict.json()["valid"] is True
        assert verdict.json()["document_number"] == notification["number"]
        assert verdict.json()["issuer"] == notification["signer_subject"]
        assert verdict.json()["signed_at"] is not None

        spot = pdf.index(b"stream\n") + 40
        changed = pdf[:spot] + bytes([pdf[spot] ^ 0x01]) + pdf[spot + 1 :]
        refused = (await anonymous.post("/verify", files={"file": ("n.pdf", changed)})).json()
        assert refused["valid"] is False and refused["document_number"] is None
        assert "invalid" in refused["reason"]

        qr = await anonymous.get(
            f"/verify/{notification['number']}", params={"sha256": notification["sha256"]}
        )
        assert (
            qr.json()["valid"] is True and qr.json()["document_number"] == (notification["number"])
        )
        wrong = await anonymous.get(
            f"/verify/{notification['number']}", params={"sha256": "0" * 64}
        )
        assert wrong.json()["valid"] is False and wrong.json()["document_number"] is None

        async def mailed(number: str = notification["number"]) -> list[Any]:
            return [m for m in mail_sink.messages if number in str(m["Subject"])]

        messages = await eventually(mailed)
        body = messages[0].get_body(preferencelist=("plain",)).get_content()
        assert f"{settings.public_base_url}{notification['pdf_url']}" in body
    # The PDF is the party's and staff's: the same access rules as the other routes.
    assert (await anonymous.get(notification["pdf_url"])).status_code == 401
    await anonymous.aclose()


async def test_verification_refuses_bad_input_clearly(api: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as anonymous:
        missing = await anonymous.post("/verify", data={"other": "x"})
        assert missing.status_code == 422 and missing.json()["field"] == "file"
        not_pdf = await anonymous.post("/verify", files={"file": ("a.png", b"\x89PNG....")})
        assert not_pdf.status_code == 415 and not_pdf.json()["code"] == "media_type"
        huge = await anonymous.post(
            "/verify", files={"file": ("a.pdf", b"%PDF-" + bytes(MAX_PDF_BYTES))}
        )
        assert huge.status_code == 413
        unsigned = await anonymous.post(
            "/verify", files={"file": ("a.pdf", b"%PDF-1.7\n% nothing here\n")}
        )
        assert unsigned.status_code == 200 and unsigned.json()["valid"] is False
        bad_hash = await anonymous.get("/verify/CA-2026-000001/N1", params={"sha256": "xyz"})
        assert bad_hash.status_code == 422 and bad_hash.json()["field"] == "sha256"
        no_hash = await anonymous.get("/verify/CA-2026-000001/N1")
        assert no_hash.status_code == 422
        bad_number = await anonymous.get("/verify/<script>", params={"sha256": "0" * 64})
        assert bad_number.status_code == 422 and bad_number.json()["field"] == "number"
        unknown = await anonymous.get("/verify/CA-2026-999999/N1", params={"sha256": "0" * 64})
        assert unknown.json() == {
            "valid": False,
            "document_number": None,
            "issuer": None,
            "signed_at": None,
            "reason": "no signed document CA-2026-999999/N1 with this content was issued",
        }


async def test_a_document_that_cannot_be_signed_is_never_delivered_and_staff_are_told(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """A timestamp authority nobody answers at (a closed loopback port): the signature cannot
    be made, so nothing is stored or placed in the cabinet, and the inspectors hear of it.
    (On the dev server: the signing retries take real seconds, no clock is skipped.)"""
    unreachable = settings.model_copy(update={"document_timestamp_url": "http://127.0.0.1:9/"})
    async with build_worker(dev_env.client, task_queue, engine, unreachable):
        handle = await start_case(dev_env.client, task_queue, audit_start())

        async def failed() -> Any:
            snapshot = await handle.query(CameralAudit.snapshot)
            told = [e for e in snapshot.events if e.kind == "staff_notified"]
            return snapshot if told else None

        snapshot = await eventually(failed, timeout=60)
        assert snapshot is not None
        failures = [e for e in snapshot.events if e.kind == "document_failed"]
        assert failures and "cannot be signed" in failures[0].details["reason"]
        assert not [e for e in snapshot.events if e.kind == "document_issued"]
        assert snapshot.status != AuditStatus.AWAITING_RESPONSE
        await handle.terminate()
    # A fresh engine: a signing attempt may still be finishing in a worker thread on the
    # shared one (a thread cannot be stopped; the worker only stops waiting for it).
    fresh = make_engine(str(engine.url.render_as_string(hide_password=False)))
    with Session(fresh) as session:
        assert session.exec(select(DocumentRow)).all() == []
    fresh.dispose()

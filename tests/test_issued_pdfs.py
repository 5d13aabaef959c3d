"""Issued documents as signed PDF/A: every kind in every language validates with pyHanko
against the authority's CA, a changed byte is caught, the text says what the HTML says, and
any holder can verify a copy without logging in."""

import asyncio
import hashlib
import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import typst
from asn1crypto import keys, tsp
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Request, Response
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, validate_pdf_signature
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
from db.models import DocumentRow
from devsinks.mail import MailSink
from domain.lifecycle import AuditStatus
from domain.notices import DocumentKind
from evidence.authority import dev_authority
from evidence.pades import verify_pdf
from evidence.signatures import load_trust_anchors
from tests.cases import start_case, started
from tests.conftest import serving
from tests.factories import AMOUNT_DUE, PARTY_BIN, audit_start, start_body
from tests.pki import Identity, make_ca, make_signer
from tests.test_delivery import eventually
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
    text = flat("".join(page.extract_text() for page in reader.pages))
    assert flat(context(kind)["doc"]["number"]) in text
    assert flat(f"1/{len(reader.pages)}") in text  # page numbers


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_notification_pdf_says_amounts_deadline_and_number(
    seal: tuple[Seal, asn1_x509.Certificate], language: str
) -> None:
    values = context(DocumentKind.NOTIFICATION)
    pdf = issued(seal[0], DocumentKind.NOTIFICATION, language)
    text = flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    assert flat(money(values["case"]["amount_due"])) in text
    assert flat(money(values["case"]["charges"]["customs_duty"])) in text
    assert flat(money("174925.44")) in text  # the per-declaration table
    deadline = longdate_in(language)(values["case"]["response_deadline"])
    assert flat(deadline) in text
    assert flat(values["doc"]["number"]) in text


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


def _extract(pdf: bytes) -> str:
    return flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


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
        text = _extract(pdf)
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
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """A timestamp authority nobody answers at (a closed loopback port): the signature cannot
    be made, so nothing is stored or placed in the cabinet, and the inspectors hear of it."""
    unreachable = settings.model_copy(update={"document_timestamp_url": "http://127.0.0.1:9/"})
    async with build_worker(time_env.client, task_queue, engine, unreachable):
        handle = await start_case(time_env.client, task_queue, audit_start())

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
    with Session(engine) as session:
        assert session.exec(select(DocumentRow)).all() == []


def _tsa_app(tmp_path: Path) -> FastAPI:
    """An RFC 3161 timestamp authority on loopback (pyHanko's own TSA responder)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    ca = make_ca("Test timestamp CA")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca.certificate.not_valid_before_utc)
        .not_valid_after(ca.certificate.not_valid_after_utc)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    (tmp_path / "tsa-ca.pem").write_bytes(ca.pem())
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
    )
    app = FastAPI()

    @app.post("/")
    async def stamp(request: Request) -> Response:
        query = tsp.TimeStampReq.load(await request.body())
        answer = await stamper.async_request_tsa_response(query)
        return Response(answer.dump(), media_type="application/timestamp-reply")

    return app


async def test_with_a_timestamp_authority_the_signature_is_pades_b_t(tmp_path: Path) -> None:
    async with serving(_tsa_app(tmp_path)) as url:
        seal = load_seal(Settings(data_dir=tmp_path, document_timestamp_url=url + "/"))
        # One seal signs from several activity threads at once.
        with ThreadPoolExecutor(4) as threads:
            signed = await asyncio.gather(
                *(
                    asyncio.wrap_future(threads.submit(issued, seal, kind, "ru"))
                    for kind in (DocumentKind.MEMO, DocumentKind.REMINDER, DocumentKind.DECISION)
                ),
                asyncio.to_thread(issued, seal, DocumentKind.ACCEPTANCE, "ru"),
            )
        assert len({hashlib.sha256(item).digest() for item in signed}) == 4
    ca = dev_ca(tmp_path)
    tsa_ca = load_trust_anchors((tmp_path / "tsa-ca.pem").read_bytes())
    for pdf in signed:
        status = await async_validate_pdf_signature(
            PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0],
            signer_validation_context=ValidationContext(trust_roots=[ca]),
            ts_validation_context=ValidationContext(trust_roots=tsa_ca),
        )
        assert status.bottom_line, status.pretty_print_details()  # type: ignore[no-untyped-call]
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
        stamped = status.timestamp_validity.timestamp
        assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=5)


def _party_signed_pdf(signer: Identity, ca: Identity) -> bytes:
    """A PDF the party signed itself (PAdES), as Kazakh signing software can produce."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def der(certificate: Any) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))

    key = keys.PrivateKeyInfo.load(
        signer.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pdf = typst.compile(b"= Explanation\nThe price was agreed in 2025.", format="pdf")
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="Party", md_algorithm="sha256"),
        signer=signers.SimpleSigner(
            signing_cert=der(signer.certificate),
            signing_key=key,
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [der(ca.certificate)]
            ),
        ),
    )
    signed: bytes = pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()
    return signed


async def test_a_party_pades_pdf_is_verified_like_a_detached_signature(
    api: httpx.AsyncClient, national_ca: tuple[Identity, Path]
) -> None:
    ca = national_ca[0]
    case = await started(api)
    own = await asyncio.to_thread(_party_signed_pdf, make_signer(ca, bin_=PARTY_BIN), ca)
    stranger = await asyncio.to_thread(_party_signed_pdf, make_signer(ca, bin_="070740000042"), ca)
    spot = own.index(b"stream\n") + 20
    tampered = own[:spot] + bytes([own[spot] ^ 0x01]) + own[spot + 1 :]
    parts: list[tuple[str, Any]] = []
    for name, data in (("own.pdf", own), ("stranger.pdf", stranger), ("bad.pdf", tampered)):
        parts += [("file", (name, data, "application/pdf")), ("title", (None, name))]
        parts.append(("kind", (None, "other")))
    reply = await api.post(f"/audits/{case['id']}/documents", files=parts)
    assert reply.status_code == 201, reply.text
    statuses = [(u["signature_status"], u["signature"].get("form")) for u in reply.json()]
    assert statuses == [
        ("valid", "PAdES"),
        ("wrong-signer", "PAdES"),
        ("invalid", "PAdES"),
    ]


SOFTHSM = Path("/usr/lib/softhsm/libsofthsm2.so")


@pytest.mark.skipif(not SOFTHSM.exists(), reason="SoftHSM (Debian package softhsm2) is absent")
def test_a_key_on_a_pkcs11_token_signs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production path with a real PKCS#11 module (SoftHSM): the authority's key and
    certificate live on a token, and the PDF it signs chains to the CA."""
    import pkcs11
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pkcs11 import Attribute, CertificateType, ObjectClass

    (tmp_path / "tokens").mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    ca_file, p12_file = dev_authority(tmp_path)
    key, certificate, _ = pkcs12.load_key_and_certificates(p12_file.read_bytes(), None)
    assert key is not None and certificate is not None
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    softhsm = ["softhsm2-util", "--pin", "1234"]
    init = [*softhsm, "--init-token", "--free", "--label", "customs", "--so-pin", "5678"]
    subprocess.run(init, check=True, capture_output=True)
    load = [*softhsm, "--import", str(key_file), "--token", "customs", "--id", "01"]
    subprocess.run([*load, "--label", "authority"], check=True, capture_output=True)
    token = pkcs11.lib(str(SOFTHSM)).get_token(token_label="customs")
    with token.open(rw=True, user_pin="1234") as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "authority",
                Attribute.ID: b"\x01",
                Attribute.SUBJECT: certificate.subject.public_bytes(),
                Attribute.VALUE: certificate.public_bytes(serialization.Encoding.DER),
            }
        )
    settings = Settings(
        data_dir=tmp_path / "elsewhere",
        document_signing_pkcs11_module=SOFTHSM,
        document_signing_pkcs11_token="customs",
        document_signing_pkcs11_key_label="authority",
        document_signing_pkcs11_pin="1234",
    )
    seal = load_seal(settings)
    pdf = issued(seal, DocumentKind.REMINDER, "en")
    status = validate(pdf, load_trust_anchors(ca_file.read_bytes())[0])
    assert status.bottom_line
    assert status.signing_cert.serial_number == certificate.serial_number
    assert not (tmp_path / "elsewhere" / "pki").exists()  # no development key was made

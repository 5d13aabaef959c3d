"""Where the authority's key lives and what comes with it: a PKCS#11 token (SoftHSM), an RFC
3161 timestamp authority for PAdES B-T; and a party's own PAdES-signed PDF among its uploads."""

import asyncio
import hashlib
import io
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
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from activities.seal import load_seal
from config import Settings
from domain.notices import DocumentKind
from evidence.authority import dev_authority
from evidence.signatures import load_trust_anchors
from tests.cases import started
from tests.conftest import serving
from tests.factories import PARTY_BIN
from tests.pki import Identity, make_ca, make_signer
from tests.test_issued_pdfs import dev_ca, issued, validate


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

"""The customs authority's signature on every issued PDF: PAdES baseline B-B, or B-T when a
timestamp authority is configured.

The key is a PKCS#12 file or a PKCS#11 token named by the settings; with neither, the local
development authority (evidence/authority.py). One `Seal` lives as long as the worker; its
signing is serialised because a PKCS#11 session is not safe to share between threads.
"""

import hashlib
import io
import threading
from dataclasses import dataclass
from datetime import datetime

from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.timestamps import HTTPTimeStamper

from config import Settings
from evidence.authority import dev_authority

SIGNATURE_FIELD = "CustomsAuthoritySignature"


class SealError(Exception):
    """The document could not be signed (key, token or timestamp authority)."""


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    sha256: str
    signer_subject: str
    signer_serial: str
    signed_at: datetime


class Seal:
    def __init__(self, signer: signers.Signer, timestamp_url: str | None, location: str) -> None:
        if signer.signing_cert is None:
            raise SealError("the signing key has no certificate")
        self._signer = signer
        self._timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
        self._location = location
        self._lock = threading.Lock()
        certificate = signer.signing_cert
        self.subject: str = certificate.subject.human_friendly
        self.serial: str = format(certificate.serial_number, "X")

    def sign(self, pdf: bytes, reason: str) -> SignedPdf:
        metadata = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=self._location,
        )
        signer = signers.PdfSigner(metadata, signer=self._signer, timestamper=self._timestamper)
        try:
            with self._lock:
                signed = signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()
        except Exception as error:  # a token, key or TSA failure of any kind stops delivery
            raise SealError(f"{type(error).__name__}: {error}") from error
        signature = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
        signed_at = signature.self_reported_timestamp
        if signed_at is None:
            raise SealError("the signature carries no signing time")
        return SignedPdf(
            data=signed,
            sha256=hashlib.sha256(signed).hexdigest(),
            signer_subject=self.subject,
            signer_serial=self.serial,
            signed_at=signed_at,
        )


def load_seal(settings: Settings) -> Seal:
    """The configured key: PKCS#11 token, else PKCS#12 file, else the development authority."""
    location = settings.document_signing_location
    timestamp_url = settings.document_timestamp_url
    if settings.document_signing_pkcs11_module:
        pin = settings.document_signing_pkcs11_pin
        session = open_pkcs11_session(
            str(settings.document_signing_pkcs11_module),
            token_criteria=TokenCriteria(label=settings.document_signing_pkcs11_token),
            user_pin=pin.get_secret_value() if pin else None,
        )
        key_label = settings.document_signing_pkcs11_key_label
        return Seal(
            PKCS11Signer(session, cert_label=key_label, key_label=key_label),
            timestamp_url,
            location,
        )
    if settings.document_signing_pkcs12:
        path, password = settings.document_signing_pkcs12, settings.document_signing_password
    else:
        path, password = dev_authority(settings.data_dir)[1], None
    signer = signers.SimpleSigner.load_pkcs12(  # type: ignore[no-untyped-call]
        str(path), passphrase=password.get_secret_value().encode() if password else None
    )
    if signer is None:
        raise SealError(f"{path} holds no usable key and certificate (or the password is wrong)")
    return Seal(signer, timestamp_url, location)

"""The customs authority's signature on every issued PDF: PAdES baseline B-B, or B-T when a
timestamp authority is configured.

The key is a PKCS#12 file or a PKCS#11 token named by the settings; with neither, the local
development authority (evidence/authority.py). One `Seal` lives as long as the worker and
signs from every activity thread at once, except with a token: a PKCS#11 session is not safe
to share between threads, so its signatures take turns.
"""

import hashlib
import io
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from pkcs11.exceptions import PKCS11Error
from pyhanko.config.pkcs11 import TokenCriteria
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from config import Settings
from evidence.authority import dev_authority

SIGNATURE_FIELD = "CustomsAuthoritySignature"
# Room for the CMS container (certificate chain, and a timestamp token for B-T): reserving it
# spares pyHanko a trial signature to measure it.
SIGNATURE_BYTES = 16 * 1024


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
        self._turns: AbstractContextManager[object] = (
            threading.Lock() if isinstance(signer, PKCS11Signer) else nullcontext()
        )
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
        signer = _TimedPdfSigner(metadata, signer=self._signer, timestamper=self._timestamper)
        try:
            with self._turns:
                signed = signer.sign_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(pdf)), bytes_reserved=SIGNATURE_BYTES
                ).getvalue()
        except (PdfError, OSError, ValueError, PKCS11Error) as error:  # token, key or TSA
            raise SealError(f"{type(error).__name__}: {error}") from error
        if signer.signed_at is None:
            raise SealError("the signature carries no signing time")
        return SignedPdf(
            data=signed,
            sha256=hashlib.sha256(signed).hexdigest(),
            signer_subject=self.subject,
            signer_serial=self.serial,
            signed_at=signer.signed_at,
        )


class _TimedPdfSigner(signers.PdfSigner):
    """Notes the signing time its session puts in the signature, so the signed file need not
    be parsed again to learn it (that parse cost as much as the signing)."""

    signed_at: datetime | None = None

    def init_signing_session(  # type: ignore[no-untyped-def]
        self, pdf_out, existing_fields_only=False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        # The signature's signingTime attribute has whole seconds.
        self.signed_at = session.system_time.astimezone(UTC).replace(microsecond=0)
        return session


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
            _TokenSigner(session, cert_label=key_label, key_label=key_label),
            timestamp_url,
            location,
        )
    if settings.document_signing_pkcs12:
        path, password = settings.document_signing_pkcs12, settings.document_signing_password
    else:
        path, password = dev_authority(settings.data_dir)[1], None
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            path.read_bytes(), password.get_secret_value().encode() if password else None
        )
    except (OSError, ValueError) as error:
        raise SealError(f"{path} cannot be read: {error}") from error
    if key is None or certificate is None:
        raise SealError(f"{path} holds no key with its certificate")
    return Seal(_FileKeySigner(key, certificate, chain), timestamp_url, location)


class _AttributesEncodedOnce(signers.Signer):
    """asn1crypto encodes a structure it built itself anew at every dump, and every level
    above dumps it again, so a deep one is encoded twice per level: the signed attributes
    took half the time of a signature. Each attribute is encoded once here and loaded back
    (a loaded value dumps the bytes it was read from: the very bytes the signature covers).
    The deepest, the signing certificate's hash, is the same for every signature of a key:
    its encoding is kept, once per certificate."""

    async def signed_attrs(self, *args: Any, **kwargs: Any) -> cms.CMSAttributes:
        built = await super().signed_attrs(*args, **kwargs)
        encoded = cms.CMSAttributes([cms.CMSAttribute.load(_encoding(a)) for a in built])
        return cms.CMSAttributes.load(encoded.dump())


_CERTIFICATE_ATTRIBUTES: dict[tuple[bytes, str], bytes] = {}


def _encoding(attribute: cms.CMSAttribute) -> bytes:
    if attribute["type"].native != "signing_certificate_v2":
        return bytes(attribute.dump())
    certificate = attribute["values"][0]["certs"][0]
    key = (certificate["cert_hash"].native, certificate["hash_algorithm"]["algorithm"].native)
    if key not in _CERTIFICATE_ATTRIBUTES:  # two threads at once both store the same bytes
        _CERTIFICATE_ATTRIBUTES[key] = bytes(attribute.dump())
    return _CERTIFICATE_ATTRIBUTES[key]


class _TokenSigner(_AttributesEncodedOnce, PKCS11Signer):
    pass


class _FileKeySigner(_AttributesEncodedOnce, signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its private key again for every signature, and parsing
    checks an RSA key for tens of milliseconds: this one keeps the parsed key."""

    def __init__(
        self,
        key: PrivateKeyTypes,
        certificate: x509.Certificate,
        chain: list[x509.Certificate],
    ) -> None:
        def der(item: x509.Certificate) -> asn1_x509.Certificate:
            return asn1_x509.Certificate.load(item.public_bytes(serialization.Encoding.DER))

        store = SimpleCertificateStore()  # type: ignore[no-untyped-call]
        store.register_multiple([der(item) for item in chain])
        super().__init__(
            signing_cert=der(certificate),
            signing_key=keys.PrivateKeyInfo.load(
                key.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
            cert_registry=store,
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        if isinstance(self._key, RSAPrivateKey) and mechanism.signature_algo == "rsassa_pkcs1v15":
            digest = getattr(hashes, digest_algorithm.upper())()
            return self._key.sign(data, PKCS1v15(), digest)
        return super().sign_raw(data, digest_algorithm)

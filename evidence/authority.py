"""The customs authority's own signing identity when no production key is configured: a local
certification authority and a document-signing certificate, made once under the data folder.

Both files are written into a fresh folder that is then renamed into place, so a worker and an
API starting together never see a CA from one run and a certificate from another.
"""

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from config import Settings

CA_FILE = "authority-ca.pem"
SIGNER_FILE = "authority.p12"
_YEARS = 10


def dev_authority(data_dir: Path) -> tuple[Path, Path]:
    """The (CA certificate PEM, signing PKCS#12 without password) under `data_dir/pki`,
    created on first use."""
    folder = data_dir / "pki"
    if not (folder / SIGNER_FILE).exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".pki-", dir=data_dir))
        ca_pem, p12 = _make()
        (staging / CA_FILE).write_bytes(ca_pem)
        (staging / SIGNER_FILE).write_bytes(p12)
        try:
            os.rename(staging, folder)
        except OSError:  # another process got there first: use its files
            for name in (CA_FILE, SIGNER_FILE):
                (staging / name).unlink()
            staging.rmdir()
    return folder / CA_FILE, folder / SIGNER_FILE


def authority_trust_anchors(settings: Settings) -> bytes:
    """PEM of the CAs an issued document must chain to: the configured anchors, and the
    development CA when the development authority signs."""
    anchors = (
        settings.signature_trust_anchors.read_bytes() if settings.signature_trust_anchors else b""
    )
    if settings.document_signing_pkcs12 or settings.document_signing_pkcs11_module:
        return anchors
    return anchors + dev_authority(settings.data_dir)[0].read_bytes()


def _make() -> tuple[bytes, bytes]:
    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Customs authority (development)"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Customs development CA"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
                    x509.NameAttribute(
                        NameOID.ORGANIZATION_NAME, "Customs authority (development)"
                    ),
                    x509.NameAttribute(NameOID.COMMON_NAME, "Customs document signing"),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * (_YEARS - 1)))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(
        b"customs-authority", key, signer, [ca], serialization.NoEncryption()
    )
    return ca.public_bytes(serialization.Encoding.PEM), p12


def _usage(*, ca: bool) -> x509.KeyUsage:
    """A CA signs certificates; the document key signs documents and nothing else."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )

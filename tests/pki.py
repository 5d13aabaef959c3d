"""A throw-away PKI made at test time: a CA standing in for the National Certification
Authority, party certificates in the NCA's naming style, and rogue ones."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CRL_URL = "http://127.0.0.1:9/test-nca.crl"  # a closed loopback port: unreachable on purpose


@dataclass(frozen=True)
class Identity:
    certificate: x509.Certificate
    key: PrivateKey

    def sign(self, data: bytes) -> bytes:
        """A detached CMS signature over `data`, DER, as NCA signing tools produce."""
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(data)
            .add_signer(self.certificate, self.key, hashes.SHA256())
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _key(kind: str) -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_ca(name: str = "Test National Certification Authority") -> Identity:
    key = _key("rsa")
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Identity(certificate, key)


def make_signer(
    ca: Identity,
    *,
    bin_: str | None,
    iin: str = "800101300123",
    key_kind: str = "rsa",
    expired: bool = False,
    can_sign: bool = True,
) -> Identity:
    """A signing certificate: CN and IIN of the person, BIN of the organisation in OU."""
    key = _key(key_kind)
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, "TESTOV TEST"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"),
    ]
    if bin_ is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{bin_}"))
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=400), now - timedelta(days=35))
        if expired
        else (
            now - timedelta(days=1),
            now + timedelta(days=365),
        )
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.KeyUsage(
                digital_signature=can_sign,
                content_commitment=can_sign,
                key_encipherment=not can_sign,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(  # as NCA certificates do; the address is never fetched in tests
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(CRL_URL)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Identity(certificate, key)


def make_crl(ca: Identity, revoked: list[x509.Certificate]) -> bytes:
    """A CRL of `ca` listing `revoked`, DER, as a certification authority publishes it."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - timedelta(hours=1))
        .next_update(now + timedelta(days=7))
    )
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(now - timedelta(days=2))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

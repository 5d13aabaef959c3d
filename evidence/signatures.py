"""Verification of detached CMS (PKCS#7) signatures as Kazakh signing software makes them.

pyHanko does the cryptography and the path validation (signature over the exact bytes,
chain to the configured trust anchors, validity now, key usage, revocation when enabled);
this module adds what is Kazakh: the signer's certificate must carry the party's BIN (in the
subject's OU as `BIN…`) or, for a person, its IIN (serialNumber `IIN…`); and GOST 34.310
signatures, which these libraries cannot check, are reported as `unsupported-algorithm`.
"""

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import algos, cms, crl, pem
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko.sign.validation.status import StandardCMSSignatureStatus
from pyhanko_certvalidator import ValidationContext

SignatureStatus = Literal[
    "valid",
    "invalid",
    "untrusted",
    "expired",
    "revoked",
    "wrong-signer",
    "bad-key-usage",
    "unsupported-algorithm",
    "malformed",
    "revocation-unknown",
    "unsigned",
]
RevocationMode = Literal["off", "soft-fail", "hard-fail"]
GOST_OID_PREFIXES = ("1.2.398.3.10.", "1.2.643.2.2.", "1.2.643.7.1.")
SIGNING_USAGES = {"digital_signature", "non_repudiation"}


@dataclass(frozen=True)
class Signer:
    subject: str
    bin: str | None
    iin: str | None


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    detail: str
    signer: Signer | None = None
    algorithm: str | None = None
    signing_time: datetime | None = None
    revocation: str = "off"


def load_trust_anchors(pem_bundle: bytes) -> list[asn1_x509.Certificate]:
    return [asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(pem_bundle, multiple=True)]


def load_crls(blobs: list[bytes]) -> list[crl.CertificateList]:
    """CRLs in DER or PEM, as the certification authority publishes them."""
    loaded = []
    for blob in blobs:
        ders = (
            [der for _, _, der in pem.unarmor(blob, multiple=True)] if pem.detect(blob) else [blob]
        )
        loaded += [crl.CertificateList.load(der) for der in ders]
    return loaded


def verify_detached(
    data: bytes,
    signature: bytes,
    party_bin: str,
    trust_anchors: list[asn1_x509.Certificate],
    revocation: RevocationMode = "soft-fail",
    crls: list[crl.CertificateList] | None = None,
    now: datetime | None = None,
) -> SignatureCheck:
    try:
        signed_data = _signed_data(signature)
        signer_info = signed_data["signer_infos"][0]
        certificate = _signer_certificate(signed_data, signer_info)
    except (ValueError, KeyError, IndexError, TypeError) as error:
        return SignatureCheck("malformed", f"not a detached CMS signature: {error}")
    algorithm = signer_info["signature_algorithm"]["algorithm"]
    refused = screen(certificate, algorithm, party_bin)
    if refused is not None:
        return refused
    status = asyncio.run(_validate(data, signed_data, trust_anchors, revocation, crls or [], now))
    return judge(status, certificate, algorithm.native, revocation, crls or [])


def screen(
    certificate: asn1_x509.Certificate,
    algorithm: algos.SignedDigestAlgorithmId,
    party_bin: str | None,
) -> SignatureCheck | None:
    """What is decided before any cryptography: GOST, key usage and, for a party's signature,
    whose certificate it is (`party_bin` None: any signer). None when nothing is refused."""
    key_algorithm = certificate.public_key["algorithm"]["algorithm"].dotted
    signer = _signer(certificate)
    if any(oid.startswith(GOST_OID_PREFIXES) for oid in (algorithm.dotted, key_algorithm)):
        return SignatureCheck(
            "unsupported-algorithm",
            f"GOST signature ({algorithm.dotted}) cannot be verified here; verify it with NCA "
            "tools",
            algorithm=algorithm.dotted,
            signer=signer,
        )
    named = algorithm.native
    usage = set(certificate.key_usage_value.native if certificate.key_usage_value else [])
    if certificate.key_usage_value and not usage & SIGNING_USAGES:
        return SignatureCheck(
            "bad-key-usage",
            f"the certificate's key usage ({', '.join(sorted(usage))}) does not allow signing",
            algorithm=named,
            signer=signer,
        )
    if party_bin is not None and party_bin not in (signer.bin, signer.iin):
        return SignatureCheck(
            "wrong-signer",
            f"the certificate names BIN {signer.bin} / IIN {signer.iin}, not the party's "
            f"{party_bin}",
            algorithm=named,
            signer=signer,
        )
    return None


def judge(
    status: StandardCMSSignatureStatus,
    certificate: asn1_x509.Certificate,
    algorithm: str,
    revocation: RevocationMode,
    crls: list[crl.CertificateList],
) -> SignatureCheck:
    """pyHanko's verdict in the statuses a user sees."""
    verdict = functools.partial(
        SignatureCheck,
        signer=_signer(certificate),
        algorithm=algorithm,
        signing_time=status.signer_reported_dt,
        revocation=f"{revocation}; local CRLs: {len(crls)}",
    )
    if not status.intact or not status.valid:
        return verdict("invalid", "the signature does not match these bytes")
    if not status.trusted:
        problem = _trust_problem(status.trust_problem_indic)
        if (
            problem == "untrusted"
            and revocation == "hard-fail"
            and (status.trust_problem_indic == AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE)
        ):
            problem = "revocation-unknown"
        return verdict(problem, _why(status))
    return verdict("valid", "signature and certificate verified")


def validation_context(
    trust_anchors: list[asn1_x509.Certificate],
    revocation: RevocationMode,
    crls: list[crl.CertificateList],
    now: datetime | None,
) -> ValidationContext:
    """Local CRLs are always consulted; fetching OCSP/CRLs from the certificate's addresses
    only when revocation checking is on. `off` still refuses a certificate a local CRL lists."""
    return ValidationContext(
        trust_roots=trust_anchors,
        crls=crls,
        moment=now or datetime.now(UTC),
        allow_fetching=revocation != "off",
        revocation_mode=revocation if revocation != "off" else "soft-fail",
    )


async def _validate(
    data: bytes,
    signed_data: cms.SignedData,
    trust_anchors: list[asn1_x509.Certificate],
    revocation: RevocationMode,
    crls: list[crl.CertificateList],
    now: datetime | None,
) -> StandardCMSSignatureStatus:
    context = validation_context(trust_anchors, revocation, crls, now)
    try:
        return await async_validate_detached_cms(data, signed_data, context)
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]


def _signed_data(signature: bytes) -> cms.SignedData:
    if pem.detect(signature):
        _, _, signature = pem.unarmor(signature)
    content = cms.ContentInfo.load(signature)
    if content["content_type"].native != "signed_data":
        raise ValueError(f"content type is {content['content_type'].native}")
    signed: cms.SignedData = content["content"]
    signed.native  # noqa: B018  (parse eagerly so a damaged structure fails here)
    return signed


def _signer_certificate(
    signed_data: cms.SignedData, signer_info: cms.SignerInfo
) -> asn1_x509.Certificate:
    sid = signer_info["sid"]
    for choice in signed_data["certificates"]:
        certificate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                certificate.issuer == wanted["issuer"]
                and certificate.serial_number == wanted["serial_number"].native
            ):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    raise ValueError("the signer's certificate is not in the signature")


def _signer(certificate: asn1_x509.Certificate) -> Signer:
    subject = certificate.subject.native
    units = subject.get("organizational_unit_name") or []
    units = [units] if isinstance(units, str) else units
    serial = subject.get("serial_number") or ""
    bin_ = next((u[3:] for u in units if u.upper().startswith("BIN")), None)
    iin = serial[3:] if serial.upper().startswith("IIN") else None
    return Signer(subject=certificate.subject.human_friendly, bin=bin_, iin=iin)


def _trust_problem(indication: object) -> SignatureStatus:
    if indication == AdESIndeterminate.OUT_OF_BOUNDS_NO_POE or indication == (
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED
    ):
        return "expired"
    if indication == AdESIndeterminate.REVOKED_NO_POE:
        return "revoked"
    return "untrusted"


def _why(status: object) -> str:
    indication = getattr(status, "trust_problem_indic", None)
    return f"certificate not accepted: {getattr(indication, 'name', indication)}"

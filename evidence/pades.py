"""Verification of signatures embedded in a PDF (PAdES): the customs authority's own issued
documents brought back by any holder, and a party's signed PDF uploaded without a separate
signature file. Same rules and statuses as detached CMS signatures (evidence/signatures.py),
plus one of PDF's own: the signature must cover the whole file, or what was added after it
is not what was signed.
"""

import asyncio
import io
from datetime import datetime

from asn1crypto import crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from evidence.signatures import (
    SIGNING_USAGES,
    RevocationMode,
    SignatureCheck,
    judge,
    screen,
    validation_context,
)


def verify_pdf(
    data: bytes,
    trust_anchors: list[asn1_x509.Certificate],
    revocation: RevocationMode = "soft-fail",
    crls: list[crl.CertificateList] | None = None,
    *,
    party_bin: str | None = None,
    now: datetime | None = None,
) -> SignatureCheck:
    """The latest signature of the PDF, judged against `trust_anchors`; `party_bin` names
    whose certificate it must be (None: any signer, as for the authority's documents)."""
    try:
        signatures = list(PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as error:
        return SignatureCheck("unsigned", f"no signature can be found, not a readable PDF: {error}")
    if not signatures:
        return SignatureCheck("unsigned", "the PDF carries no signature")
    signature = signatures[-1]
    try:
        certificate = signature.signer_cert
        algorithm = signature.signer_info["signature_algorithm"]["algorithm"]
    except (ValueError, KeyError, TypeError, SignatureValidationError) as error:
        return SignatureCheck("malformed", f"the PDF's signature cannot be read: {error}")
    refused = screen(certificate, algorithm, party_bin)
    if refused is not None:
        return refused
    try:
        status = asyncio.run(_validate(signature, trust_anchors, revocation, crls or [], now))
    except (SignatureValidationError, PdfError, ValueError) as error:
        return SignatureCheck("invalid", f"the signature cannot be validated: {error}")
    check = judge(status, certificate, algorithm.native, revocation, crls or [])
    if check.status == "valid" and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck(
            "invalid",
            "the file was changed after it was signed (the signature does not cover all of it)",
            signer=check.signer,
            algorithm=check.algorithm,
            signing_time=check.signing_time,
            revocation=check.revocation,
        )
    return check


async def _validate(
    signature: EmbeddedPdfSignature,
    trust_anchors: list[asn1_x509.Certificate],
    revocation: RevocationMode,
    crls: list[crl.CertificateList],
    now: datetime | None,
) -> PdfSignatureStatus:
    context = validation_context(trust_anchors, revocation, crls, now)
    try:
        return await async_validate_pdf_signature(
            signature,
            signer_validation_context=context,
            key_usage_settings=KeyUsageConstraints(
                key_usage=SIGNING_USAGES, match_all_key_usages=False
            ),
        )
    finally:
        await context.aclose()  # type: ignore[no-untyped-call]

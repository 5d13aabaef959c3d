"""Anyone holding an issued document can check it: no login, and the answer names only the
document's number, its issuer and when it was signed, never anything else of the case."""

import hashlib
import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.datastructures import UploadFile

from api.deps import Config, Db
from api.errors import ApiError
from db.models import DocumentRow
from evidence.pades import verify_pdf

router = APIRouter()
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NUMBER = re.compile(r"[A-Za-z0-9/\-]{1,64}")
# Issued documents are well under this; anything larger was not issued here.
MAX_PDF_BYTES = 5 * 1024 * 1024


class Verification(BaseModel):
    """(contract) The verdict on a document a holder presents."""

    valid: bool
    document_number: str | None = None
    issuer: str | None = None
    signed_at: datetime | None = None
    reason: str


@router.post("/verify", response_model=Verification)
async def verify_file(request: Request, db: Db, config: Config) -> Verification:
    """Multipart field `file`: a PDF issued by this system. Valid when its PAdES signature is
    intact, chains to the authority's trust anchors and covers the whole file, and a document
    with exactly these bytes was issued."""
    async with request.form(max_files=1, max_fields=1) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "invalid", "send the PDF as the multipart field `file`", "file")
        data = await upload.read(MAX_PDF_BYTES + 1)
    if len(data) > MAX_PDF_BYTES:
        raise ApiError(413, "file_limit", f"the file is larger than {MAX_PDF_BYTES} bytes", "file")
    if not data.startswith(b"%PDF-"):
        raise ApiError(415, "media_type", "the file is not a PDF", "file")
    state = request.app.state
    check = await run_in_threadpool(
        verify_pdf, data, state.authority_anchors, config.signature_revocation, state.crls
    )
    row = await run_in_threadpool(_by_pdf_hash, db, hashlib.sha256(data).hexdigest())
    if check.status != "valid":
        return Verification(valid=False, reason=f"signature {check.status}: {check.detail}")
    if row is None:
        return Verification(
            valid=False,
            issuer=check.signer.subject if check.signer else None,
            signed_at=check.signing_time,
            reason="the signature is valid, but no document with exactly these bytes was issued",
        )
    return _issued(row, "the signature is valid and the document is on record as issued")


@router.get("/verify/{number:path}", response_model=Verification)
async def verify_number(
    number: str,
    sha256: Annotated[str, Query(description="the SHA-256 the document's QR code carries")],
    db: Db,
) -> Verification:
    """What the QR code on a document opens: was a document with this number and this hash
    (of its content, or of the signed PDF) issued?"""
    if not _NUMBER.fullmatch(number):
        raise ApiError(422, "invalid", "a document number looks like CA-2026-000123/N1", "number")
    digest = sha256.lower()
    if not _SHA256.fullmatch(digest):
        raise ApiError(422, "invalid", "sha256 must be 64 hexadecimal digits", "sha256")
    row = await run_in_threadpool(_by_number, db, number)
    if row is None or row.pdf_sha256 is None or digest not in (row.sha256, row.pdf_sha256):
        # Whether the number alone exists is not told: numbers can be guessed, cases are private.
        return Verification(
            valid=False, reason=f"no signed document {number} with this content was issued"
        )
    return _issued(row, "a document with this number and content was issued and signed")


def _issued(row: DocumentRow, reason: str) -> Verification:
    return Verification(
        valid=True,
        document_number=row.number,
        issuer=row.signer_subject,
        signed_at=row.signed_at,
        reason=reason,
    )


def _by_pdf_hash(db: Engine, digest: str) -> DocumentRow | None:
    with Session(db) as session:
        return session.exec(select(DocumentRow).where(DocumentRow.pdf_sha256 == digest)).first()


def _by_number(db: Engine, number: str) -> DocumentRow | None:
    with Session(db) as session:
        return session.exec(select(DocumentRow).where(DocumentRow.number == number)).first()

"""The case's issued documents as the party's cabinet shows them: HTML, or text on request."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import Principal
from api.deps import READERS, AuditIdParam, Case, Db, allow
from api.downloads import file_headers
from api.errors import ApiError, not_found
from db import trail
from db.models import AuditRow, DocumentRow, EvidenceRow

router = APIRouter()


class DocumentInfo(BaseModel):
    """A document of the case: issued by customs, or uploaded by the party."""

    id: str
    source: Literal["issued", "uploaded"]
    kind: str
    title: str
    sha256: str
    url: str
    number: str | None = None
    language: str | None = None
    issued_on: date | None = None
    text_sha256: str | None = None
    filename: str | None = None
    media_type: str | None = None
    size: int | None = None
    received_at: datetime | None = None
    uploaded_by: str | None = None
    signature_status: str | None = None
    signature: dict[str, Any] | None = None
    pdf_url: str | None = None
    pdf_sha256: str | None = None
    signer_subject: str | None = None
    signer_serial: str | None = None
    signed_at: datetime | None = None


@router.get("/audits/{audit_id}/documents", response_model=list[DocumentInfo])
async def list_documents(
    who: Annotated[Principal, allow(*READERS)], case: Case, audit_id: AuditIdParam, db: Db
) -> list[DocumentInfo]:
    """Who issued or uploaded what and when, with each file's SHA-256 and signature status."""
    issued, uploaded = await run_in_threadpool(_documents_of, db, audit_id)
    url = f"/audits/{audit_id}/documents/"
    return [
        *(
            DocumentInfo(
                source="issued",
                url=url + row.id,
                pdf_url=url + row.id + ".pdf" if row.pdf_sha256 else None,
                **row.model_dump(exclude={"audit_id", "html", "text", "created_at", "pdf"}),
            )
            for row in issued
        ),
        *(
            DocumentInfo(
                source="uploaded",
                url=url + row.id,
                **row.model_dump(exclude={"audit_id", "uploaded_role", "signature_sha256"}),
            )
            for row in uploaded
        ),
    ]


@router.get(
    "/audits/{audit_id}/documents/{document_id}.pdf",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def get_document_pdf(
    who: Annotated[Principal, allow(*READERS)],
    case: Case,
    audit_id: AuditIdParam,
    document_id: str,
    db: Db,
) -> Response:
    """An issued document as the signed PDF/A delivered with it: the file `POST /verify`
    accepts back from anyone who holds it."""
    row = await run_in_threadpool(_document, db, audit_id, document_id)
    if row.pdf is None or row.pdf_sha256 is None:
        raise ApiError(404, "not_found", f"{row.number} was issued before signed PDFs were")
    filename = f"{row.number.replace('/', '_')}.pdf"
    return Response(
        content=row.pdf,
        media_type="application/pdf",
        headers={
            "ETag": f'"{row.pdf_sha256}"',
            "X-Content-SHA256": row.pdf_sha256,
            "X-Document-Number": row.number,
            "Content-Disposition": f'inline; filename="{filename}"',
        },
    )


@router.get(
    "/audits/{audit_id}/documents/{document_id}",
    responses={200: {"content": {"text/html": {}, "text/plain": {}}}},
)
async def get_document(
    who: Annotated[Principal, allow(*READERS)],
    case: Case,
    audit_id: AuditIdParam,
    document_id: str,
    request: Request,
    db: Db,
) -> Response:
    """An issued document exactly as issued (`Accept: text/plain` gives the e-mail text), or
    an uploaded file's bytes. A staff member's read of a party's file goes into the trail."""
    evidence = await run_in_threadpool(_evidence, db, audit_id, document_id)
    if evidence is not None:
        return await _uploaded_file(request, db, evidence, who)
    row = await run_in_threadpool(_document, db, audit_id, document_id)
    if _prefers_text(request.headers.get("accept", "")):
        body, media, digest = row.text, "text/plain; charset=utf-8", row.text_sha256
    else:
        body, media, digest = row.html, "text/html; charset=utf-8", row.sha256
    return Response(
        content=body.encode(),
        media_type=media,
        headers={
            "ETag": f'"{digest}"',
            "X-Content-SHA256": digest,
            "X-Document-Number": row.number,
            **file_headers(row.number.replace("/", "_"), "inline"),
        },
    )


@router.get("/audits/{audit_id}/documents/{document_id}/signature")
async def get_signature(
    who: Annotated[Principal, allow(*READERS)],
    case: Case,
    audit_id: AuditIdParam,
    document_id: str,
    request: Request,
    db: Db,
) -> Response:
    """The detached CMS signature uploaded with a file, as received."""
    evidence = await run_in_threadpool(_evidence, db, audit_id, document_id)
    if evidence is None or evidence.signature_sha256 is None:
        raise ApiError(404, "not_found", f"document {document_id} has no signature")
    data = await run_in_threadpool(request.app.state.blobs.get, evidence.signature_sha256)
    return Response(
        content=data,
        media_type="application/pkcs7-signature",
        headers=file_headers(f"{evidence.filename}.p7s", "attachment"),
    )


async def _uploaded_file(
    request: Request, db: Engine, evidence: EvidenceRow, caller: Principal
) -> Response:
    data = await run_in_threadpool(request.app.state.blobs.get, evidence.sha256)
    if caller.is_staff:
        entry = trail.Entry(
            action="document_read",
            actor=caller.sub,
            role=caller.role,
            details={"document_id": evidence.id, "sha256": evidence.sha256},
            source=f"read:{evidence.id}:{uuid.uuid4()}",
        )
        await run_in_threadpool(trail.append, db, evidence.audit_id, [entry])
    return Response(
        content=data,
        media_type=evidence.media_type,
        headers={
            "ETag": f'"{evidence.sha256}"',
            "X-Content-SHA256": evidence.sha256,
            "X-Signature-Status": evidence.signature_status,
            **file_headers(evidence.filename, "attachment"),
        },
    )


def _evidence(db: Engine, audit_id: str, document_id: str) -> EvidenceRow | None:
    with Session(db) as session:
        row = session.get(EvidenceRow, document_id)
    return row if row is not None and row.audit_id == audit_id else None


def _prefers_text(accept: str) -> bool:
    """True when text/plain is asked for ahead of (or without) HTML."""
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    if "text/plain" not in kinds:
        return False
    return "text/html" not in kinds or kinds.index("text/plain") < kinds.index("text/html")


def _documents_of(db: Engine, audit_id: str) -> tuple[list[DocumentRow], list[EvidenceRow]]:
    with Session(db) as session:
        if session.get(AuditRow, audit_id) is None:
            raise not_found(audit_id)
        issued = session.exec(
            select(DocumentRow)
            .where(DocumentRow.audit_id == audit_id)
            .order_by(col(DocumentRow.created_at), col(DocumentRow.number))
        )
        uploaded = session.exec(
            select(EvidenceRow)
            .where(EvidenceRow.audit_id == audit_id)
            .order_by(col(EvidenceRow.received_at))
        )
        return list(issued), list(uploaded)


def _document(db: Engine, audit_id: str, document_id: str) -> DocumentRow:
    with Session(db) as session:
        row = session.get(DocumentRow, document_id)
    if row is None or row.audit_id != audit_id:
        raise ApiError(404, "not_found", f"audit {audit_id} has no document {document_id}")
    return row

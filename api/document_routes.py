"""The case's issued documents as the party's cabinet shows them: HTML, or text on request."""

from datetime import date

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.deps import AuditIdParam, Db
from api.errors import ApiError, not_found
from db.models import AuditRow, DocumentRow

router = APIRouter()


class DocumentInfo(BaseModel):
    id: str
    number: str
    kind: str
    title: str
    language: str
    issued_on: date
    sha256: str
    text_sha256: str
    url: str


@router.get("/audits/{audit_id}/documents", response_model=list[DocumentInfo])
async def list_documents(audit_id: AuditIdParam, db: Db) -> list[DocumentInfo]:
    rows = await run_in_threadpool(_documents_of, db, audit_id)
    return [
        DocumentInfo(
            **row.model_dump(include=set(DocumentInfo.model_fields) - {"url"}),
            url=f"/audits/{audit_id}/documents/{row.id}",
        )
        for row in rows
    ]


@router.get(
    "/audits/{audit_id}/documents/{document_id}",
    responses={200: {"content": {"text/html": {}, "text/plain": {}}}},
)
async def get_document(
    audit_id: AuditIdParam, document_id: str, request: Request, db: Db
) -> Response:
    """The document exactly as issued; `Accept: text/plain` gives the e-mail text version."""
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
            "Content-Disposition": f'inline; filename="{row.number.replace("/", "_")}"',
        },
    )


def _prefers_text(accept: str) -> bool:
    """True when text/plain is asked for ahead of (or without) HTML."""
    kinds = [part.split(";")[0].strip() for part in accept.split(",")]
    if "text/plain" not in kinds:
        return False
    return "text/html" not in kinds or kinds.index("text/plain") < kinds.index("text/html")


def _documents_of(db: Engine, audit_id: str) -> list[DocumentRow]:
    with Session(db) as session:
        if session.get(AuditRow, audit_id) is None:
            raise not_found(audit_id)
        query = (
            select(DocumentRow)
            .where(DocumentRow.audit_id == audit_id)
            .order_by(col(DocumentRow.created_at), col(DocumentRow.number))
        )
        return list(session.exec(query))


def _document(db: Engine, audit_id: str, document_id: str) -> DocumentRow:
    with Session(db) as session:
        row = session.get(DocumentRow, document_id)
    if row is None or row.audit_id != audit_id:
        raise ApiError(404, "not_found", f"audit {audit_id} has no document {document_id}")
    return row

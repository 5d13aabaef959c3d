"""A document of the case read in the page or downloaded, for the party and for staff.

Issued documents are shown exactly as issued (the stored HTML, in a sandboxed frame) with
their number, date and SHA-256; uploads are downloaded as received. The party's first
opening of an issued document and every staff read of an upload go into the trail.
"""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.auth import Principal
from api.downloads import file_headers
from api.errors import ApiError
from web.casefile import (
    issued_document,
    open_case,
    record_read,
    row_for,
    uploaded_evidence,
)
from web.i18n import N_
from web.pages import SignedIn, require, show
from web.session import WebSession

router = APIRouter()


def _who(session: WebSession, area: str) -> Principal:
    return require(
        session, ["party"] if area == "cabinet" else ["inspector", "supervisor", "operator"]
    )


@router.get("/cabinet/audits/{audit_id}/documents/{document_id}")
@router.get("/dashboard/audits/{audit_id}/documents/{document_id}")
async def document_page(
    request: Request, session: SignedIn, audit_id: str, document_id: str
) -> Response:
    area = _area(request)
    who = _who(session, area)
    file = await open_case(request, who, audit_id, staff=who.is_staff)
    db = request.app.state.engine
    issued = next((d for d in file.issued if d.row.id == document_id), None)
    uploaded = next((u for u in file.uploads if u.id == document_id), None)
    if issued is None and uploaded is None:
        await run_in_threadpool(issued_document, db, file.row.id, document_id)  # the 404
    if issued is not None:
        await run_in_threadpool(
            record_read, db, who, file.row.id, document_id, issued.row.sha256, uploaded=False
        )
    return show(
        request,
        "document.html",
        {"file": file, "issued": issued, "uploaded": uploaded, "area": area},
        session,
        file.case.language if who.role == "party" else None,
    )


@router.get("/cabinet/audits/{audit_id}/documents/{document_id}/file")
@router.get("/dashboard/audits/{audit_id}/documents/{document_id}/file")
async def document_file(
    request: Request, session: SignedIn, audit_id: str, document_id: str, download: str = ""
) -> Response:
    who = _who(session, _area(request))
    db = request.app.state.engine
    row = await run_in_threadpool(row_for, db, who, audit_id)
    evidence = await run_in_threadpool(uploaded_evidence, db, row.id, document_id)
    if evidence is not None:
        data = await run_in_threadpool(request.app.state.blobs.get, evidence.sha256)
        await run_in_threadpool(
            record_read, db, who, row.id, evidence.id, evidence.sha256, uploaded=True
        )
        return Response(
            data,
            media_type=evidence.media_type,
            headers={
                "X-Content-SHA256": evidence.sha256,
                **file_headers(evidence.filename, "attachment"),
            },
        )
    document = await run_in_threadpool(issued_document, db, row.id, document_id)
    await run_in_threadpool(
        record_read, db, who, row.id, document.id, document.sha256, uploaded=False
    )
    name = document.number.replace("/", "_") + ".html"
    return Response(
        document.html.encode(),
        media_type="text/html; charset=utf-8",
        headers={
            "X-Content-SHA256": document.sha256,
            **file_headers(name, "attachment" if download else "inline"),
            # Shown inside the case page: no scripts, no access to the session.
            "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@router.get("/cabinet/audits/{audit_id}/documents/{document_id}/pdf")
@router.get("/dashboard/audits/{audit_id}/documents/{document_id}/pdf")
async def document_pdf(
    request: Request, session: SignedIn, audit_id: str, document_id: str
) -> Response:
    """The signed PDF/A of an issued document: the copy the party can file anywhere."""
    who = _who(session, _area(request))
    db = request.app.state.engine
    row = await run_in_threadpool(row_for, db, who, audit_id)
    document = await run_in_threadpool(issued_document, db, row.id, document_id)
    if document.pdf is None or document.pdf_sha256 is None:
        raise ApiError(404, "not_found", N_("this document has no signed PDF"))
    await run_in_threadpool(
        record_read, db, who, row.id, document.id, document.sha256, uploaded=False
    )
    name = document.number.replace("/", "_") + ".pdf"
    return Response(
        document.pdf,
        media_type="application/pdf",
        headers={"X-Content-SHA256": document.pdf_sha256, **file_headers(name, "attachment")},
    )


def _area(request: Request) -> str:
    return "cabinet" if request.url.path.startswith("/cabinet/") else "dashboard"

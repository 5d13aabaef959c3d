"""Evidence the party uploads: checked in full, then stored and its signatures verified."""

import re
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile

from api.auth import Principal
from api.deps import AuditIdParam, Case, allow
from api.errors import ApiError
from config import Settings
from db import trail
from db.models import AuditRow, EvidenceRow
from evidence.pades import verify_pdf
from evidence.signatures import verify_detached
from evidence.sniff import sniff
from evidence.store import BlobStore

router = APIRouter()
EvidenceKind = Literal[
    "contract",
    "invoice",
    "swift",
    "exporter_declaration",
    "price_list",
    "transport_insurance_costs",
    "other",
]
EVIDENCE_KINDS: tuple[str, ...] = EvidenceKind.__args__  # type: ignore[attr-defined]
SIGNATURE_SUFFIXES = (".p7s", ".sig", ".cms")
MAX_SIGNATURE_BYTES = 1024 * 1024
MAX_PARTS = 100


class Uploaded(BaseModel):
    id: str
    title: str
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    received_at: datetime
    uploaded_by: str
    signature_status: str
    signature: dict[str, Any]
    url: str


class _Part(BaseModel):
    title: str
    kind: str
    filename: str
    data: bytes
    media_type: str
    signature: bytes | None


@router.post("/audits/{audit_id}/documents", status_code=201, response_model=list[Uploaded])
async def upload(
    who: Annotated[Principal, allow("party")],
    case: Case,
    audit_id: AuditIdParam,
    request: Request,
) -> list[Uploaded]:
    """Multipart: repeated `file`, `title` and `kind` parts in the same order; a detached CMS
    signature for a file is a `signature` part named `<file name>.p7s` (or .sig, .cms); a PDF
    without one is checked for a signature of its own (PAdES). Everything is checked before
    anything is stored."""
    async with request.form(max_files=MAX_PARTS, max_fields=MAX_PARTS * 3) as form:
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        titles = [str(t) for t in form.getlist("title")]
        kinds = [str(k) for k in form.getlist("kind")]
        signature_parts = [s for s in form.getlist("signature") if isinstance(s, UploadFile)]
        return await receive(request, who, case, files, titles, kinds, signature_parts)


async def receive(
    request: Request,
    who: Principal,
    case: AuditRow,
    files: list[UploadFile],
    titles: list[str],
    kinds: list[str],
    signatures: list[UploadFile],
) -> list[Uploaded]:
    """Check every part, then store and verify them (the browser pages upload through here
    too)."""
    db: Engine = request.app.state.engine
    config: Settings = request.app.state.settings
    audit_id = case.id
    parts = await _checked_parts(files, titles, kinds, signatures, config)
    used = await run_in_threadpool(_bytes_stored, db, audit_id)
    incoming = sum(len(p.data) for p in parts)
    if used + incoming > config.upload_max_case_bytes:
        raise ApiError(
            413,
            "case_limit",
            f"the case would hold {used + incoming} bytes; UPLOAD_MAX_CASE_BYTES is "
            f"{config.upload_max_case_bytes}",
        )
    blobs: BlobStore = request.app.state.blobs
    anchors = request.app.state.trust_anchors
    crls = request.app.state.crls
    rows = [
        await run_in_threadpool(_store, blobs, (anchors, crls), config, case, part, who)
        for part in parts
    ]
    await run_in_threadpool(_save, db, rows, who)
    return [_uploaded(row) for row in rows]


def require_uploaded(db: Engine, audit_id: str, document_ids: list[str]) -> None:
    """Every id must be a document uploaded to this case (422 naming the first that is not)."""
    with Session(db) as session:
        known = set(
            session.exec(
                select(EvidenceRow.id).where(
                    EvidenceRow.audit_id == audit_id, col(EvidenceRow.id).in_(document_ids)
                )
            )
        )
    missing = [d for d in document_ids if d not in known]
    if missing:
        raise ApiError(
            422,
            "invalid",
            f"document {missing[0]} was not uploaded to {audit_id}; upload it first",
            "documents",
        )


async def _checked_parts(
    files: list[UploadFile],
    titles: list[str],
    kinds: list[str],
    signatures: list[UploadFile],
    config: Settings,
) -> list[_Part]:
    if not files:
        raise ApiError(422, "invalid", "send at least one `file` part", "file")
    if len(titles) != len(files) or len(kinds) != len(files):
        raise ApiError(
            422,
            "invalid",
            f"{len(files)} files need as many `title` and `kind` parts "
            f"(got {len(titles)} and {len(kinds)})",
            "title" if len(titles) != len(files) else "kind",
        )
    by_name = {}
    for signature in signatures:
        name = signature.filename or ""
        target = next((name[: -len(s)] for s in SIGNATURE_SUFFIXES if name.endswith(s)), None)
        if target is None or target not in {f.filename for f in files}:
            raise ApiError(
                422,
                "invalid",
                f"signature {name!r} does not name an uploaded file (<file name>.p7s)",
                "signature",
            )
        by_name[target] = await _read(signature, MAX_SIGNATURE_BYTES, "signature")
    parts = []
    for upload, title, kind in zip(files, titles, kinds, strict=True):
        if kind not in EVIDENCE_KINDS:
            raise ApiError(
                422, "invalid", f"kind {kind!r} is not one of {', '.join(EVIDENCE_KINDS)}", "kind"
            )
        if not title.strip():
            raise ApiError(422, "invalid", "every file needs a non-empty title", "title")
        filename = safe_filename(upload.filename or "upload")
        data = await _read(upload, config.upload_max_file_bytes, "UPLOAD_MAX_FILE_BYTES")
        media_type = sniff(data, filename)
        if media_type not in config.upload_allowed_types:
            raise ApiError(
                415,
                "media_type",
                f"{filename} is {media_type}; UPLOAD_ALLOWED_TYPES are "
                f"{', '.join(config.upload_allowed_types)}",
                "file",
            )
        parts.append(
            _Part(
                title=title.strip()[:500],
                kind=kind,
                filename=filename,
                data=data,
                media_type=media_type,
                signature=by_name.get(upload.filename or ""),
            )
        )
    return parts


def safe_filename(name: str) -> str:
    """The client's file name, reduced to characters safe in a header and on any disk."""
    cleaned = re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return cleaned[:255] or "upload"


async def _read(upload: UploadFile, limit: int, name: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(
            413, "file_limit", f"{upload.filename} is larger than {name} ({limit} bytes)", "file"
        )
    return data


def _bytes_stored(db: Engine, audit_id: str) -> int:
    with Session(db) as session:
        total = session.exec(
            select(func.coalesce(func.sum(EvidenceRow.size), 0)).where(
                EvidenceRow.audit_id == audit_id
            )
        ).one()
    return int(total)


def _store(
    blobs: BlobStore,
    trust: tuple[list[Any], list[Any]],
    config: Settings,
    case: AuditRow,
    part: _Part,
    caller: Principal,
) -> EvidenceRow:
    anchors, crls = trust
    sha256 = blobs.put(part.data)
    signature: dict[str, Any] = {"status": "unsigned"}
    signature_sha256 = None
    check = None
    if part.signature is not None:
        signature_sha256 = blobs.put(part.signature)
        check = verify_detached(
            part.data,
            part.signature,
            case.party_bin,
            anchors,
            config.signature_revocation,
            crls,
        )
    elif part.media_type == "application/pdf":
        embedded = verify_pdf(
            part.data, anchors, config.signature_revocation, crls, party_bin=case.party_bin
        )
        check = None if embedded.status == "unsigned" else embedded
    if check is not None:
        signature = {**asdict(check), "form": "detached CMS" if signature_sha256 else "PAdES"}
        if not anchors and check.status == "untrusted":
            signature["detail"] += " (no SIGNATURE_TRUST_ANCHORS configured)"
    return EvidenceRow(
        id=str(uuid.uuid4()),
        audit_id=case.id,
        title=part.title,
        kind=part.kind,
        filename=part.filename,
        media_type=part.media_type,
        size=len(part.data),
        sha256=sha256,
        received_at=datetime.now(UTC),
        uploaded_by=caller.sub,
        uploaded_role=caller.role,
        signature_sha256=signature_sha256,
        signature_status=str(signature["status"]),
        signature=trail.canonical_dict(signature),
    )


def _save(db: Engine, rows: list[EvidenceRow], caller: Principal) -> None:
    with Session(db) as session:
        for row in rows:
            session.add(row)
        session.commit()
        entries = [
            trail.Entry(
                action="document_uploaded",
                actor=caller.sub,
                role=caller.role,
                details={
                    "document_id": row.id,
                    "title": row.title,
                    "kind": row.kind,
                    "sha256": row.sha256,
                    "size": row.size,
                    "media_type": row.media_type,
                    "signature_status": row.signature_status,
                },
                source=f"upload:{row.id}",
                at=row.received_at,
            )
            for row in rows
        ]
    if rows:
        trail.append(db, rows[0].audit_id, entries)


def _uploaded(row: EvidenceRow) -> Uploaded:
    return Uploaded(
        **row.model_dump(exclude={"audit_id", "uploaded_role", "signature_sha256"}),
        url=f"/audits/{row.audit_id}/documents/{row.id}",
    )

"""Rendering, signing and storing a case's documents, each with its SHA-256.

A document is stored only together with its signed PDF, so nothing is ever delivered unsigned.
"""

from datetime import UTC, datetime

from jinja2 import TemplateError
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.pdf import PdfError, compile_pdf, verification_url
from activities.rendering import document_language, render
from activities.seal import Seal, SealError
from db.models import DocumentRow
from domain.case import CaseSummary
from domain.money import to_tiyn
from domain.tasks import RENDER_DOCUMENT, RenderedDocument, RenderRequest

DOCUMENT_FAILED = "DocumentFailed"
# A token or timestamp authority may be briefly away: a few tries (seconds apart), then staff.
SIGNING_ATTEMPTS = 3


def cabinet_url(public_base_url: str, audit_id: str) -> str:
    return f"{public_base_url.rstrip('/')}/audits/{audit_id}/documents"


def pdf_url(public_base_url: str, audit_id: str, document_id: str) -> str:
    """The signed PDF of an issued document, served under the same access rules."""
    return f"{cabinet_url(public_base_url, audit_id)}/{document_id}.pdf"


def reference(row: DocumentRow) -> RenderedDocument:
    return RenderedDocument(
        document_id=row.id, number=row.number, kind=row.kind, title=row.title, sha256=row.sha256
    )


def line_rows(case: CaseSummary) -> list[list[object]]:
    """The notification's table: per declaration, value declared and found, and additions."""
    if case.assessment is None:
        return []
    return [
        [
            line.declaration,
            line.declared.customs_value,
            line.adjusted.customs_value,
            line.additional.customs_duty,
            line.additional.vat,
            line.additional.customs_fee,
            line.additional.excise,
            to_tiyn(line.penalty),
        ]
        for line in case.assessment.lines
    ]


class DocumentActivities:
    def __init__(self, engine: Engine, public_base_url: str, seal: Seal) -> None:
        self._engine = engine
        self._public_base_url = public_base_url
        self._seal = seal

    @activity.defn(name=RENDER_DOCUMENT)
    def render_document(self, request: RenderRequest) -> RenderedDocument:
        """Render and sign once: a retry returns the stored document, so its hashes never
        change.

        A template error or a number already taken by another document is not something a
        retry can fix: it fails for good, and the workflow tells staff and moves on. So does a
        signature that still cannot be made after a few tries.
        """
        try:
            return self._render(request)
        except SealError as error:
            if activity.info().attempt < SIGNING_ATTEMPTS:
                raise
            raise ApplicationError(
                f"{request.number} cannot be signed: {error}"[:2000],
                type=DOCUMENT_FAILED,
                non_retryable=True,
            ) from error
        except (TemplateError, ValidationError, IntegrityError, DataError, PdfError) as error:
            raise ApplicationError(
                f"{request.number} cannot be issued: {type(error).__name__}: {error}"[:2000],
                type=DOCUMENT_FAILED,
                non_retryable=True,
            ) from error

    def _render(self, request: RenderRequest) -> RenderedDocument:
        with Session(self._engine) as session:
            stored = session.get(DocumentRow, request.document_id)
            if stored is not None:
                return reference(stored)
            case = request.case
            language = document_language(case.language)
            context = {
                "doc": {"number": request.number, "issued_on": request.issued_on},
                "case": case.model_dump(mode="json"),
                "cabinet_url": cabinet_url(self._public_base_url, case.id),
                "extra": request.extra,
                "lines": line_rows(case),
            }
            rendered = render(request.kind, language, context)
            pdf = compile_pdf(
                request.kind,
                language,
                context,
                verify_url=verification_url(self._public_base_url, request.number, rendered.sha256),
                signer_subject=self._seal.subject,
                signer_serial=self._seal.serial,
            )
            signed = self._seal.sign(pdf, f"{rendered.title} № {request.number}")
            row = DocumentRow(
                id=request.document_id,
                audit_id=case.id,
                number=request.number,
                kind=request.kind,
                language=language,
                issued_on=request.issued_on,
                title=rendered.title,
                html=rendered.html,
                text=rendered.text,
                sha256=rendered.sha256,
                text_sha256=rendered.text_sha256,
                created_at=datetime.now(UTC),
                pdf=signed.data,
                pdf_sha256=signed.sha256,
                signer_subject=signed.signer_subject,
                signer_serial=signed.signer_serial,
                signed_at=signed.signed_at,
            )
            session.add(row)
            session.commit()
            return reference(row)

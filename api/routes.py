"""HTTP routes of the case API. Thin: validate, hand to the workflow, shape the answer."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.auth import Principal
from api.cases import CaseGateway, WorkerUnavailable
from api.deps import READERS, AuditIdParam, Case, Config, Db, Gateway, Tables, Terms, allow
from api.errors import ApiError
from api.evidence_routes import require_uploaded
from api.readmodel import Sort, list_audits, stored_snapshot
from api.schemas import (
    AuditPage,
    CancelRequest,
    CaseView,
    ExplanationRequest,
    Health,
    InspectionActRequest,
    MailReturnedRequest,
    PostalReceiptRequest,
    ReassignRequest,
    ReviewRequest,
    StartAuditRequest,
)
from db import start_keys
from db.case_rows import insert_started
from db.counters import next_audit_number
from domain.assessment import NothingToCharge, assess
from domain.case import AuditStart, CaseSnapshot, CaseSummary
from domain.case_state import CaseState, initial_state
from domain.case_view import snapshot
from domain.clock import local_date
from domain.identifiers import format_audit_id
from domain.lifecycle import AuditStatus
from domain.penalty import PenaltyTerms
from domain.rates import RateTables
from domain.settlement import settle
from domain.storable import AmountTooLarge
from workflows.cameral_audit import CameralAudit, ReviewOrder
from workflows.client import live_pollers

log = logging.getLogger(__name__)
router = APIRouter()
_GENERATED_ID_ATTEMPTS = 5


@dataclass(frozen=True)
class StartKey:
    """What makes a start idempotent: a key of its owner's, bound to the first audit id it
    started, and a digest of the request it stands for (the same key for another request
    is refused)."""

    owner: str
    key: str
    request_sha256: str

    @property
    def marker(self) -> str:
        """What the started case keeps of the key (in its memo): a digest, not the key."""
        text = "\n".join((self.owner, self.key, self.request_sha256))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def of_request(cls, owner: str, key: str, body: StartAuditRequest) -> "StartKey":
        """A caller's Idempotency-Key: it stands for this very request body."""
        return cls(owner, key, hashlib.sha256(body.model_dump_json().encode()).hexdigest())


@router.post("/audits", status_code=201, response_model=CaseSnapshot)
async def start_audit(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    body: StartAuditRequest,
    response: Response,
    cases: Gateway,
    db: Db,
    rates: Tables,
    terms: Terms,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> CaseSnapshot:
    """Start a cameral audit; the notification goes to the party's cabinet at once.

    Send an `Idempotency-Key` header to make retries safe: the same key and body return the
    same case (201), however often the request is repeated.

    With `lines` the charges are worked out by the system (see POST /charges/preview). An
    inspector starts audits of their own office, as themselves; a supervisor may name any
    inspector of the office.
    """
    key = None if idempotency_key is None else StartKey.of_request(who.sub, idempotency_key, body)
    state = await start_case(who, body, cases, db, rates, terms, key)
    response.headers["Location"] = f"/audits/{state.audit_id}"
    return snapshot(state, [])


async def start_case(
    who: Principal,
    body: StartAuditRequest,
    cases: CaseGateway,
    db: Engine,
    rates: RateTables,
    terms: PenaltyTerms,
    key: StartKey | None = None,
) -> CaseState:
    """Start a case as `who` and store its first read-model row: the one way an audit
    begins, from the start request or from an accepted screening candidate."""
    if body.customs_office != who.office:
        raise ApiError(403, "forbidden", f"you start audits for customs office {who.office} only")
    if who.role == "inspector" and body.inspector_id != who.sub:
        raise ApiError(403, "forbidden", f"an inspector starts audits as {who.sub}")
    if body.lines is not None:
        try:
            assess(list(body.lines), local_date(datetime.now(UTC)), rates, terms)
        except (NothingToCharge, LookupError, AmountTooLarge) as error:
            raise ApiError(422, "invalid", str(error), "lines") from error
    fields = body.model_dump(exclude={"audit_id"})
    if key is not None:
        state = await _start_once(cases, db, key, body, fields)
    elif body.audit_id is not None:
        state = await cases.start(AuditStart(audit_id=body.audit_id, **fields))
    else:
        state = await _start_with_generated_id(cases, db, fields)
    try:
        await run_in_threadpool(insert_started, db, state)
    except OperationalError as error:
        # The case runs; its first projection writes the row once the database is back.
        log.warning("audit %s started; its row waits for the database: %s", state.audit_id, error)
    return state


async def _start_once(
    cases: CaseGateway,
    db: Engine,
    start_key: StartKey,
    body: StartAuditRequest,
    fields: dict[str, object],
) -> CaseState:
    """Start under a key: a retry of the same request (after a timeout, a 503 that came
    after the start, or a crash) gets the same case; the key for another request is a 422."""
    owner, key, digest = start_key.owner, start_key.key, start_key.request_sha256
    bound = await run_in_threadpool(start_keys.find, db, owner, key)
    if bound is None:
        audit_id = body.audit_id or await _next_audit_id(db)
        bound = await run_in_threadpool(start_keys.claim, db, owner, key, audit_id, digest)
    if bound.body_sha256 != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"Idempotency-Key {key!r} was used for another request (audit {bound.audit_id}); "
            "use a new key for a new audit",
            "Idempotency-Key",
        )
    audit_id = bound.audit_id
    for _ in range(_GENERATED_ID_ATTEMPTS):
        start = AuditStart(audit_id=audit_id, **fields)
        try:
            return await cases.start(start, start_key.marker)
        except ApiError as error:
            if error.code != "exists":
                raise
            if await cases.start_key_of(audit_id) == start_key.marker:
                # Started by this very request, an earlier or an overlapping try of it.
                stored = await run_in_threadpool(stored_snapshot, db, audit_id)
                return initial_state(
                    start, stored.issued_on if stored else local_date(datetime.now(UTC))
                )
            if body.audit_id is not None:
                raise  # the id the request names is another case's
        # The generated number was taken by an explicit audit_id: move the key on, or
        # follow an overlapping try of this request that moved it first.
        await run_in_threadpool(
            start_keys.rebind, db, owner, key, audit_id, await _next_audit_id(db)
        )
        moved = await run_in_threadpool(start_keys.find, db, owner, key)
        assert moved is not None
        audit_id = moved.audit_id
    raise ApiError(503, "id_exhausted", "could not allocate a free audit id; retry")


async def _next_audit_id(db: Engine) -> str:
    year = local_date(datetime.now(UTC)).year
    return format_audit_id(year, await run_in_threadpool(next_audit_number, db, year))


async def _start_with_generated_id(
    cases: CaseGateway, db: Engine, fields: dict[str, object]
) -> CaseState:
    for _ in range(_GENERATED_ID_ATTEMPTS):
        try:
            return await cases.start(AuditStart(audit_id=await _next_audit_id(db), **fields))
        except ApiError as error:
            if error.code != "exists":
                raise  # the number was taken by an explicit audit_id; try the next one
    raise ApiError(503, "id_exhausted", "could not allocate a free audit id; retry")


@router.get("/audits", response_model=AuditPage)
async def list_cases(
    who: Annotated[Principal, allow(*READERS)],
    db: Db,
    status: AuditStatus | None = None,
    party_bin: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    inspector_id: str | None = None,
    customs_office: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    overdue: bool | None = None,
    deadline_from: date | None = None,
    deadline_to: date | None = None,
    sort: Sort = "deadline",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    """Cases from the read model, by the deadline they run against (soonest first). Staff of
    an office see that office's cases; a party sees its own."""
    if who.role in ("inspector", "supervisor"):
        if customs_office not in (None, who.office):
            raise ApiError(403, "forbidden", f"you see customs office {who.office} only")
        customs_office = who.office
    if who.role == "party":
        party_bin = who.bin  # another party's BIN just finds nothing, as if it had no cases
    return await run_in_threadpool(
        lambda: list_audits(
            db,
            status=status,
            party_bin=party_bin,
            inspector_id=inspector_id,
            customs_office=customs_office,
            overdue=overdue,
            deadline_from=deadline_from,
            deadline_to=deadline_to,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
    )


@router.get("/audits/{audit_id}", response_model=CaseView)
async def get_case(
    who: Annotated[Principal, allow(*READERS)],
    row: Case,
    audit_id: AuditIdParam,
    cases: Gateway,
    db: Db,
    rates: Tables,
    terms: Terms,
) -> CaseView:
    """The live case from its workflow (the last stored snapshot if no worker answers), with
    what it takes to settle it today."""
    stored_at = None
    try:
        case = await cases.snapshot(audit_id)
    except WorkerUnavailable:
        stored = await run_in_threadpool(stored_snapshot, db, audit_id)
        if stored is None:
            raise
        case, stored_at = stored, row.updated_at
    owed_today = None
    if case.charges is not None:
        owed_today = settle(
            case.charges,
            case.payments,
            local_date(datetime.now(UTC)),
            case.issued_on,
            case.response_deadline,
            rates.base_rate,
            case.penalty_terms or terms,
        )
    return CaseView(
        **dict(case), owed_today=owed_today, live=stored_at is None, stored_at=stored_at
    )


@router.post("/audits/{audit_id}/explanation", response_model=CaseSummary)
async def submit_explanation(
    who: Annotated[Principal, allow("party")],
    row: Case,
    audit_id: AuditIdParam,
    body: ExplanationRequest,
    cases: Gateway,
    db: Db,
) -> CaseSummary:
    """The party disputes the notification; the 10-working-day review starts."""
    await run_in_threadpool(require_uploaded, db, audit_id, body.documents)
    return await cases.update(audit_id, CameralAudit.submit_explanation, body)


@router.post("/audits/{audit_id}/delivery", response_model=CaseSummary)
async def postal_receipt(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: PostalReceiptRequest,
    cases: Gateway,
) -> CaseSummary:
    """The post office's receipt: its date is the delivery date the deadline counts from."""
    return await cases.update(audit_id, CameralAudit.record_postal_receipt, body)


@router.post("/audits/{audit_id}/delivery/returned", response_model=CaseSummary)
async def mail_returned(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: MailReturnedRequest,
    cases: Gateway,
) -> CaseSummary:
    """The letter came back: the inspector has 5 working days to inspect the address."""
    return await cases.update(audit_id, CameralAudit.record_mail_returned, body)


@router.post("/audits/{audit_id}/delivery/inspection", response_model=CaseSummary)
async def inspection_act(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: InspectionActRequest,
    cases: Gateway,
) -> CaseSummary:
    """The act of inspecting the registered address: its date becomes the delivery date."""
    return await cases.update(audit_id, CameralAudit.record_inspection_act, body)


@router.post("/audits/{audit_id}/review", response_model=CaseSummary)
async def review(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: ReviewRequest,
    cases: Gateway,
) -> CaseSummary:
    """Customs accepts the explanation or decides the notification is unfulfilled; once the
    review is overdue, only a supervisor decides."""
    decided = body.model_copy(update={"decided_by": who.sub})
    return await cases.update(
        audit_id, CameralAudit.review, ReviewOrder(decision=decided, role=who.role)
    )


@router.post("/audits/{audit_id}/cancel", response_model=CaseSummary)
async def cancel(
    who: Annotated[Principal, allow("supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: CancelRequest,
    cases: Gateway,
) -> CaseSummary:
    cancelled = body.model_copy(update={"cancelled_by": who.sub})
    return await cases.update(audit_id, CameralAudit.cancel, cancelled)


@router.post("/audits/{audit_id}/reassign", response_model=CaseSummary)
async def reassign(
    who: Annotated[Principal, allow("supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: ReassignRequest,
    cases: Gateway,
) -> CaseSummary:
    """Hand the case to another inspector of the office."""
    moved = body.model_copy(update={"by": who.sub})
    return await cases.update(audit_id, CameralAudit.reassign, moved)


@router.get("/healthz", response_model=Health)
async def healthz(request: Request, response: Response, db: Db, config: Config) -> Health:
    """200 only when Temporal and the database answer and a worker polls the task queue:
    without a worker, cases accept nothing and no deadline is acted on."""
    health = Health(temporal="ok", database="ok", worker="ok")
    client = request.app.state.client
    try:
        await client.service_client.check_health()
        pollers = await live_pollers(client, config.temporal_task_queue)
        health.worker = (
            f"ok ({pollers} polling)"
            if pollers
            else f"no worker polls task queue {config.temporal_task_queue}"
        )
    except Exception as error:
        health.temporal = f"unreachable: {error}"
        health.worker = "unknown"
    try:
        await run_in_threadpool(_ping, db)
    except Exception as error:
        health.database = f"unreachable: {error}"
    if health.temporal != "ok" or health.database != "ok" or not health.worker.startswith("ok"):
        response.status_code = 503
    return health


def _ping(db: Engine) -> None:
    with db.connect() as connection:
        connection.execute(text("SELECT 1"))

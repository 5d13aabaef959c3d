"""How an audit begins: the one path from a start request (or an accepted screening
candidate) to a running case with its first read-model row, idempotent under a key."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from api.auth import Principal
from api.cases import CaseGateway
from api.errors import ApiError
from api.readmodel import stored_snapshot
from api.schemas import StartAuditRequest
from db import start_keys
from db.case_rows import insert_started
from db.counters import next_audit_number
from domain.assessment import NothingToCharge, assess
from domain.case import AuditStart
from domain.case_state import CaseState, initial_state
from domain.clock import local_date
from domain.identifiers import format_audit_id
from domain.penalty import PenaltyTerms
from domain.rates import RateTables
from domain.storable import AmountTooLarge

log = logging.getLogger(__name__)
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

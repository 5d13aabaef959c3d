"""Deciding screening candidates: the one code path behind the API's routes and the
dashboard's forms. An accepted price candidate starts one audit of its declaration, however
often the acceptance is retried or wherever it stopped; a postal one is referred; either
can be dismissed with a reason."""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.cases import CaseGateway
from api.errors import RETRY_AFTER_SECONDS, ApiError
from api.readmodel import stored_snapshot
from api.schemas import StartAuditRequest
from api.starting import StartKey, start_case
from db import screening_store as store
from db.screening_models import CandidateRow
from domain.case import CaseSnapshot
from domain.case_view import snapshot
from domain.penalty import PenaltyTerms
from domain.rates import RateTables
from domain.screening.price import PriceEvidence, audit_line
from domain.screening.records import DeclarationLine

# How long an acceptance may hold its candidates before another request may finish it: far
# longer than a start takes (its Temporal calls time out after seconds), so only a request
# that died midway (the API process stopped) is ever taken over.
ACCEPT_LEASE = timedelta(minutes=2)
_KEY_OWNER = "screening"  # start keys of acceptances; a user's key never holds a space


def start_key(claimed: list[CandidateRow]) -> StartKey:
    """The audit start's idempotency key, derived from the candidates taken together: every
    retry of the acceptance, by anyone, finds the audit the first try bound (or started)."""
    key = f"candidate {min(row.id or 0 for row in claimed)}"
    return StartKey(_KEY_OWNER, key, hashlib.sha256(key.encode()).hexdigest())


async def visible(db: Engine, who: Principal, candidate_id: int) -> CandidateRow:
    """The candidate, or 404 alike when it does not exist or is another office's."""
    row = await run_in_threadpool(store.get_candidate, db, candidate_id)
    if row is None or (row.rule == "price" and row.customs_office != who.office):
        raise ApiError(404, "not_found", f"no screening candidate {candidate_id}")
    return row


async def taken(db: Engine, candidate_id: int) -> ApiError:
    """The 409 for a candidate someone else decided or holds, saying who and what to do."""
    row = await run_in_threadpool(store.get_candidate, db, candidate_id)
    assert row is not None
    if row.status == "accepting":
        return ApiError(
            409,
            "being_accepted",
            f"candidate {candidate_id} is being accepted by {row.decided_by}; if that request "
            f"stopped midway, accepting again after {int(ACCEPT_LEASE.total_seconds())} s "
            "finishes it with the same audit",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    outcome = f" (audit {row.audit_id})" if row.audit_id else ""
    return ApiError(
        409,
        "already_decided",
        f"candidate {candidate_id} is {row.status}{outcome} by {row.decided_by}",
    )


def proposed_lines(
    lines: list[DeclarationLine], group: list[CandidateRow]
) -> list[dict[str, object]]:
    """The declaration's lines as an audit carries them, the flagged ones at the proposed
    customs value (JSON-ready, as a start request or the form takes them)."""
    proposals = {row.line_no: PriceEvidence.model_validate(row.evidence) for row in group}
    return [
        audit_line(
            line,
            proposals[line.line_no].proposed_customs_value if line.line_no in proposals else None,
        ).model_dump(mode="json")
        for line in lines
    ]


def findings(group: list[CandidateRow]) -> str:
    """What the audit rests on, one paragraph per flagged line, from the evidence."""
    return "\n".join(
        _finding(row.line_no, PriceEvidence.model_validate(row.evidence))
        for row in sorted(group, key=lambda row: row.line_no or 0)
    )


def _finding(line_no: int | None, proposal: PriceEvidence) -> str:
    reference = proposal.reference
    return (
        f"Line {line_no}: declared {_kzt(proposal.declared_unit_value)} KZT per "
        f"{reference.unit} against a median of {_kzt(reference.median)} KZT (quartiles "
        f"{_kzt(reference.q1)}-{_kzt(reference.q3)}) over {reference.lines} lines of "
        f"{reference.other_declarants} other declarants, HS {reference.hs_code}; customs value "
        f"adjusted from {_kzt(proposal.declared_customs_value)} to "
        f"{_kzt(proposal.proposed_customs_value)} KZT."
    )


def _kzt(amount: Decimal) -> str:
    """An amount as the findings show it to people: to the tiyn (the statistics carry more)."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


async def accept_price(
    who: Principal,
    candidate: CandidateRow,
    order_of: Callable[[list[CandidateRow]], StartAuditRequest],
    cases: CaseGateway,
    db: Engine,
    rates: RateTables,
    terms: PenaltyTerms,
) -> tuple[list[CandidateRow], CaseSnapshot]:
    """Take the candidate (with the declaration's other open ones), start the audit that
    `order_of` writes for them under the key derived from them, and bind them to it.

    A failure before the start gives the candidates back; a request that dies between the
    steps leaves them "accepting", and an acceptance after `ACCEPT_LEASE` takes them over
    and finishes: the derived key finds the audit the dead request bound or started, so
    there is never a second one."""
    resumed = candidate.status == "accepting"
    claimed = await run_in_threadpool(store.claim, db, candidate, who.sub, ACCEPT_LEASE)
    if claimed is None:
        raise await taken(db, candidate.id or 0)
    try:
        order = await run_in_threadpool(order_of, claimed)
        state = await start_case(who, order, cases, db, rates, terms, start_key(claimed))
    except BaseException:
        await run_in_threadpool(store.release, db, claimed)
        raise
    await run_in_threadpool(store.accepted, db, claimed, state.audit_id, who.sub, who.role)
    # A taken-over acceptance may have been started with other details than this retry's:
    # the audit as stored is the truth, when the read model has it.
    stored = await run_in_threadpool(stored_snapshot, db, state.audit_id) if resumed else None
    return claimed, stored or snapshot(state, [])


async def refer(db: Engine, who: Principal, candidate: CandidateRow, note: str | None) -> None:
    """Accept a postal candidate: no audit can follow one (it needs a declaration), so it is
    recorded as referred for a check of the personal-use limits."""
    note = note or "referred for a check of the personal-use limits"
    if not await run_in_threadpool(store.referred, db, candidate, who.sub, who.role, note):
        raise await taken(db, candidate.id or 0)


async def dismiss(db: Engine, who: Principal, candidate: CandidateRow, reason: str) -> None:
    """Close the candidate without an audit; the reason goes into its trail."""
    if not await run_in_threadpool(store.dismiss, db, candidate, who.sub, who.role, reason):
        raise await taken(db, candidate.id or 0)

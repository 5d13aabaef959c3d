"""Request-scoped dependencies shared by the routers.

Those that only read the app's state or the request are `async def`: FastAPI runs a plain
`def` dependency on its thread pool, a hand-off to a thread and back for each dependency of
each request. Only what blocks (a database read, fetching signing keys) goes to a thread."""

from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.auth import Principal, Role, TokenVerifier, unauthenticated
from api.cases import CaseGateway
from api.errors import ApiError, not_found
from config import Settings
from db.models import AuditRow
from domain.identifiers import AUDIT_ID_PATTERN
from domain.penalty import PenaltyTerms
from domain.rates import RateTables


async def gateway(request: Request) -> CaseGateway:
    result: CaseGateway = request.app.state.gateway
    return result


async def engine(request: Request) -> Engine:
    result: Engine = request.app.state.engine
    return result


def checked_audit_id(audit_id: str) -> str:
    """The id if it is shaped like one; 404 otherwise, as for an id no case has."""
    if not AUDIT_ID_PATTERN.fullmatch(audit_id):
        raise not_found(audit_id)
    return audit_id


async def audit_id(audit_id: Annotated[str, Path(description="e.g. CA-2026-000123")]) -> str:
    return checked_audit_id(audit_id)


Gateway = Annotated[CaseGateway, Depends(gateway)]
Db = Annotated[Engine, Depends(engine)]
AuditIdParam = Annotated[str, Depends(audit_id)]


async def tables(request: Request) -> RateTables:
    result: RateTables = request.app.state.tables
    return result


Tables = Annotated[RateTables, Depends(tables)]


async def penalty_terms(request: Request) -> PenaltyTerms:
    """The penalty terms of the settings: what a case started now runs on."""
    settings: Settings = request.app.state.settings
    return settings.penalty_terms


Terms = Annotated[PenaltyTerms, Depends(penalty_terms)]


async def principal(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The verified caller; 401 with the reason when the token is missing or not accepted."""
    checked: Principal | None = getattr(request.state, "principal", None)
    if checked is not None:
        return checked  # verified by the request gate before the body was read
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("send `Authorization: Bearer <token>`")
    verifier: TokenVerifier = request.app.state.verifier
    return await run_in_threadpool(verifier.verify, token.strip())  # may fetch the JWKS


Who = Annotated[Principal, Depends(principal)]
READERS: tuple[Role, ...] = ("inspector", "supervisor", "party", "operator")


def allow(*roles: Role) -> Any:
    """A dependency admitting only `roles` (403 naming who may) and returning the caller."""

    async def check(who: Who) -> Principal:
        if who.role not in roles:
            raise ApiError(
                403, "forbidden", f"a {who.role} may not do this; allowed: {', '.join(roles)}"
            )
        return who

    return Depends(check)


def visible_case(audit_id: AuditIdParam, who: Who, db: Db) -> AuditRow:
    """The case's read-model row, or 404 — the same answer whether it does not exist or
    belongs to someone the caller may not see (one lookup either way)."""
    with Session(db) as session:
        row = session.get(AuditRow, audit_id)
    if row is None or not who.sees(row.customs_office, row.party_bin):
        raise not_found(audit_id)
    return row


Case = Annotated[AuditRow, Depends(visible_case)]


async def settings(request: Request) -> Settings:
    result: Settings = request.app.state.settings
    return result


Config = Annotated[Settings, Depends(settings)]

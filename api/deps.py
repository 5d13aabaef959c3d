"""Request-scoped dependencies shared by the routers."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.engine import Engine

from api.cases import CaseGateway
from api.errors import not_found
from config import Settings
from domain.identifiers import AUDIT_ID_PATTERN
from domain.rates import RateTables


def gateway(request: Request) -> CaseGateway:
    result: CaseGateway = request.app.state.gateway
    return result


def engine(request: Request) -> Engine:
    result: Engine = request.app.state.engine
    return result


def audit_id(audit_id: Annotated[str, Path(description="e.g. CA-2026-000123")]) -> str:
    if not AUDIT_ID_PATTERN.match(audit_id):
        raise not_found(audit_id)
    return audit_id


Gateway = Annotated[CaseGateway, Depends(gateway)]
Db = Annotated[Engine, Depends(engine)]
AuditIdParam = Annotated[str, Depends(audit_id)]


def tables(request: Request) -> RateTables:
    result: RateTables = request.app.state.tables
    return result


Tables = Annotated[RateTables, Depends(tables)]


STAFF_ROLES = frozenset({"inspector", "supervisor", "operator"})


@dataclass(frozen=True)
class Actor:
    """Who is calling. Until token authentication lands this is what the caller states in
    `X-Actor-Id` / `X-Actor-Role`; the trail records it either way."""

    id: str
    role: str

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


def actor(
    x_actor_id: Annotated[str | None, Header(max_length=200)] = None,
    x_actor_role: Annotated[str | None, Header(max_length=20)] = None,
) -> Actor:
    return Actor(id=x_actor_id or "anonymous", role=x_actor_role or "unknown")


def settings(request: Request) -> Settings:
    result: Settings = request.app.state.settings
    return result


Caller = Annotated[Actor, Depends(actor)]
Config = Annotated[Settings, Depends(settings)]

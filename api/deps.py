"""Request-scoped dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine

from api.cases import CaseGateway
from api.errors import not_found
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

"""Listings from the read model: filters, deadline order, keyset pages that neither repeat
nor skip a case."""

from datetime import date

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from api.errors import ApiError
from api.readmodel import list_audits
from bench.synthetic import OFFICES, audit_rows
from db.models import NO_DEADLINE, AuditRow
from domain.lifecycle import AuditStatus

ROWS = audit_rows(600, seed=11)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    with engine.begin() as connection:
        connection.execute(insert(AuditRow.__table__), ROWS)  # type: ignore[attr-defined]
    return engine


def walk(engine: Engine, **filters: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = list_audits(engine, limit=37, cursor=cursor, **filters)  # type: ignore[arg-type]
        seen += [item.id for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_pages_cover_every_case_once_in_deadline_order(loaded: Engine) -> None:
    seen = walk(loaded)
    expected = sorted(ROWS, key=lambda r: (r["next_deadline"], r["id"]))
    assert seen == [r["id"] for r in expected]
    assert len(seen) == len(set(seen)) == len(ROWS)


def test_filters_combine(loaded: Engine) -> None:
    office = OFFICES[2]
    seen = walk(loaded, customs_office=office, status=AuditStatus.AWAITING_RESPONSE)
    expected = [
        r for r in ROWS if r["customs_office"] == office and r["status"] == "AWAITING_RESPONSE"
    ]
    assert sorted(seen) == sorted(r["id"] for r in expected) and expected
    march = walk(loaded, deadline_from=date(2026, 3, 1), deadline_to=date(2026, 3, 31))
    assert march and all(
        date(2026, 3, 1) <= r["next_deadline"] <= date(2026, 3, 31)
        for r in ROWS
        if r["id"] in set(march)
    )
    overdue = walk(loaded, overdue=True)
    assert sorted(overdue) == sorted(r["id"] for r in ROWS if r["overdue"])


def test_a_closed_case_shows_no_deadline_and_sorts_last(loaded: Engine) -> None:
    page = list_audits(loaded, status=AuditStatus.CANCELLED, limit=5)
    assert page.items and all(item.next_deadline is None for item in page.items)
    last = walk(loaded)[-1]
    assert next(r for r in ROWS if r["id"] == last)["next_deadline"] == NO_DEADLINE


def test_a_forged_cursor_is_a_clear_error(loaded: Engine) -> None:
    with pytest.raises(ApiError) as error:
        list_audits(loaded, cursor="not-ours")
    assert error.value.status == 422 and error.value.field == "cursor"


async def test_listing_parameters_are_checked_over_http(api: httpx.AsyncClient) -> None:
    assert (await api.get("/audits", params={"sort": "party"})).status_code == 422
    assert (await api.get("/audits", params={"limit": 0})).status_code == 422
    assert (await api.get("/audits", params={"deadline_from": "soon"})).status_code == 422
    forged = await api.get("/audits", params={"cursor": "%%%"})
    assert forged.status_code == 422 and forged.json()["field"] == "cursor"

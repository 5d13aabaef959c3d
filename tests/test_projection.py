"""The read model only moves forward, and catches up after a database outage."""

import asyncio
import os
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.projection import ProjectionActivities
from config import Settings
from db.engine import make_engine, normalise_url
from db.models import AuditRow, PartyRow, PaymentRow
from domain.case import AuditStart, CaseSnapshot, Payment
from domain.case_state import initial_state
from domain.lifecycle import AuditStatus
from domain.tasks import SAVE_PROJECTION, ProjectionUpdate
from tests.cases import finished, local_step, start_case, wait_for
from tests.factories import AMOUNT_DUE, PARTY_BIN, audit_start, start_body
from worker import build_worker
from workflows.cameral_audit import CameralAudit


def stored(engine: Engine, audit_id: str) -> AuditRow | None:
    with Session(engine) as session:
        return session.get(AuditRow, audit_id)


async def test_an_older_snapshot_never_overwrites_a_newer_one(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        early = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference="P", amount=AMOUNT_DUE, paid_at=early.issued_on),
        )
        final: CaseSnapshot = await finished(handle)
    # A retried write of an earlier state arrives late: it must change nothing.
    activity = ProjectionActivities(engine).save_case_projection
    late = ProjectionUpdate(audit_id=early.id, first_index=0, events=early.events)
    await asyncio.to_thread(ActivityEnvironment().run, activity, late)
    row = stored(engine, final.id)
    assert row is not None and row.status == "FULFILLED" and row.version == final.version


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL) to take the database away and back",
)
async def test_the_projection_catches_up_after_a_database_outage(
    time_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    settings: Settings,
    database_url: str,
) -> None:
    name = make_url(normalise_url(database_url)).database
    admin = make_engine(os.environ["DATABASE_URL"]).execution_options(isolation_level="AUTOCOMMIT")

    def outage(down: bool) -> None:
        with admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if down else "true"}')
            )
            if down:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )

    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await asyncio.sleep(1)  # let the delivery alerts finish writing
        await asyncio.to_thread(outage, True)
        try:
            await handle.signal(
                CameralAudit.post_payment,
                Payment(reference="P-1", amount=Decimal("100.00"), paid_at=case.issued_on),
            )
            await handle.signal(
                CameralAudit.post_payment,
                Payment(reference="P-2", amount=AMOUNT_DUE, paid_at=case.issued_on),
            )
            moved_on = await wait_for(handle, AuditStatus.FULFILLED)  # the case did not wait
            await asyncio.sleep(2)
        finally:
            await asyncio.to_thread(outage, False)
        for _ in range(300):
            row = await asyncio.to_thread(stored, engine, case.id)
            if row is not None and row.version >= moved_on.version:
                break
            await asyncio.sleep(0.1)
        final: CaseSnapshot = await finished(handle)
        history = await handle.fetch_history()
    admin.dispose()
    writes = [step for e in history.events if (step := local_step(e))]
    attempts = [w["attempt"] for w in writes if w["activity_type"] == SAVE_PROJECTION]
    assert max(attempts) >= 2  # the outage was real: a write failed and was tried again
    assert row is not None and row.status == "FULFILLED"
    assert row.version == final.version
    assert Decimal(row.amount_paid) == AMOUNT_DUE + Decimal("100.00")


async def test_parties_and_payments_are_stored_once(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        for reference in ("T-1", "T-1", "T-2"):
            await handle.signal(
                CameralAudit.post_payment,
                Payment(reference=reference, amount=AMOUNT_DUE / 2, paid_at=case.issued_on),
            )
        final: CaseSnapshot = await finished(handle)
    with Session(engine) as session:
        party = session.get(PartyRow, final.party_bin)
        payments = session.exec(select(PaymentRow).where(PaymentRow.audit_id == final.id)).all()
    assert party is not None and party.name == final.party_name and party.language == "ru"
    assert sorted(p.reference for p in payments) == ["T-1", "T-2"]
    assert sum(p.amount for p in payments) == AMOUNT_DUE


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL), which cannot store a NUL in text",
)
async def test_a_case_the_read_model_cannot_hold_tells_staff_and_goes_on(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """Started around the API's edge checks (straight through Temporal): the write that can
    never succeed is given up at once, staff are told, and the case itself runs on."""
    start = audit_start()
    party = start.party.model_copy(update={"name": "Steppe\x00Fittings"})
    start = start.model_copy(update={"party": party})
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, start)
        for _ in range(100):
            case = await handle.query(CameralAudit.snapshot)
            subjects = [e.details["subject"] for e in case.events if e.kind == "staff_notified"]
            if "A case cannot be stored in the read model" in subjects:
                break
            await asyncio.sleep(0.1)
    assert "A case cannot be stored in the read model" in subjects, case.events
    assert await asyncio.to_thread(stored, engine, case.id) is None


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL) for row locks",
)
async def test_cases_of_one_importer_do_not_queue_behind_its_party_row(engine: Engine) -> None:
    """Every case of an importer writes its party; an unchanged party must not be rewritten,
    or one case's open transaction holds up all the others (until lock_timeout fails them)."""
    activity = ProjectionActivities(engine).save_case_projection

    async def save(start: AuditStart) -> None:
        update = ProjectionUpdate(
            audit_id=start.audit_id,
            initial=initial_state(start, date(2026, 3, 5)),
            first_index=0,
            events=[],
        )
        await asyncio.to_thread(ActivityEnvironment().run, activity, update)

    await save(audit_start())
    with Session(engine) as holder:  # another case's transaction, still open
        holder.exec(select(PartyRow).where(PartyRow.bin == PARTY_BIN).with_for_update()).one()
        await save(audit_start())
        holder.rollback()
    renamed = audit_start(party={**start_body()["party"], "name": "Steppe Fittings Ltd"})
    await save(renamed)
    with Session(engine) as session:
        party = session.get(PartyRow, PARTY_BIN)
    assert party is not None and party.name == "Steppe Fittings Ltd"

"""The steps of a screening run: plan the batches, judge each batch of declaration lines,
judge the postal items, close the run. Each step commits its candidates, the rows it judged
and the run's counters in one transaction, so a retried step adds nothing twice."""

import logging
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Table, func, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine
from temporalio import activity

from activities.price_engine import LineStats, Slice, reference_stats
from config import Settings
from db.screening_imports import insert_new
from db.screening_models import (
    CandidateRow,
    DeclarationLineRow,
    PostalItemRow,
    ScreenedItemRow,
    ScreenedLineRow,
    ScreeningRunRow,
)
from domain.rates import RateTables
from domain.screening.postal import PostalRule, postal_flags
from domain.screening.price import PriceRule, evidence, judge
from domain.screening.records import DeclarationLine, PostalItem
from domain.screening.run import (
    CLOSE_RUN,
    OPEN_RUN,
    SCREEN_POSTAL,
    SCREEN_PRICES,
    Batch,
    BatchOrder,
    Counted,
    PostalOrder,
    RunClose,
    RunOrder,
    RunPlan,
)

log = logging.getLogger(__name__)
LINES = DeclarationLineRow.__table__  # type: ignore[attr-defined]
ITEMS = PostalItemRow.__table__  # type: ignore[attr-defined]
RUNS = ScreeningRunRow.__table__  # type: ignore[attr-defined]
CANDIDATES = CandidateRow.__table__  # type: ignore[attr-defined]
SCREENED = ScreenedLineRow.__table__  # type: ignore[attr-defined]
SCREENED_ITEMS = ScreenedItemRow.__table__  # type: ignore[attr-defined]
_LINE_FIELDS = tuple(DeclarationLine.model_fields)
_ITEM_FIELDS = tuple(PostalItem.model_fields)
_IN_CHUNK = 500
# The ids of the rows a step judged, on PostgreSQL (see `_mark_screened`).
JUDGED = "CREATE TEMPORARY TABLE judged (id bigint) ON COMMIT DROP"


def price_rule(settings: Settings) -> PriceRule:
    return PriceRule(
        window_days=settings.screening_window_days,
        min_lines=settings.screening_min_lines,
        min_declarants=settings.screening_min_declarants,
        median_share=settings.screening_median_share,
        percentile=settings.screening_percentile,
        same_origin=settings.screening_same_origin,
    )


def postal_rule(settings: Settings) -> PostalRule:
    return PostalRule(
        enabled=settings.postal_rule,
        max_units=settings.postal_max_units,
        max_parcels=settings.postal_max_parcels,
    )


class ScreeningActivities:
    def __init__(self, engine: Engine, settings: Settings, tables: RateTables) -> None:
        self._engine = engine
        self._price = price_rule(settings)
        self._postal = postal_rule(settings)
        self._batch_lines = settings.screening_batch_lines
        self._threads = settings.screening_threads
        self._tables = tables

    @activity.defn(name=OPEN_RUN)
    def open_run(self, order: RunOrder) -> RunPlan:
        """The run's row (made here for a scheduled run) and its batches: the lines and
        items pending now; whatever is imported later waits for the next run."""
        workflow_id = activity.info().workflow_id or ""
        with self._engine.begin() as connection:
            run_id = order.run_id or _run_for(connection, workflow_id, order)
            upto_line = connection.execute(select(func.coalesce(func.max(LINES.c.id), 0)))
            upto_item = connection.execute(select(func.coalesce(func.max(ITEMS.c.id), 0)))
            plan = RunPlan(
                run_id=run_id,
                upto_line_id=upto_line.scalar_one(),
                upto_item_id=upto_item.scalar_one(),
                batches=[],
            )
            plan.batches = _batches(connection, plan.upto_line_id, self._batch_lines)
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == run_id)
                .values(status="running", batches_total=len(plan.batches))
            )
        return plan

    @activity.defn(name=SCREEN_PRICES)
    def screen_prices(self, order: BatchOrder) -> Counted:
        batch = order.batch
        part = Slice(
            upto_id=order.upto_line_id,
            first_hs6=batch.first_hs6,
            last_hs6=batch.last_hs6,
            first_day=batch.first_day,
            last_day=batch.last_day,
        )
        samples = reference_stats(self._engine, part, self._price, self._threads)
        now = datetime.now(UTC)
        began = time.perf_counter()
        with self._engine.begin() as connection:
            rows = _price_candidates(
                connection, samples.below, self._price, self._tables, order, now
            )
            judged = time.perf_counter()
            added = insert_new(connection, CANDIDATES, rows)
            screened = _mark_screened(connection, SCREENED, order.run_id, samples.judged)
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == order.run_id)
                .values(
                    batches_done=order.index + 1,
                    lines_screened=RUNS.c.lines_screened + screened,
                    price_candidates=RUNS.c.price_candidates + added,
                )
            )
        log.info(
            "run %d batch %d: %d flagged in %.1f s, %d lines marked screened in %.1f s",
            order.run_id,
            order.index,
            added,
            judged - began,
            screened,
            time.perf_counter() - judged,
        )
        return Counted(screened=screened, candidates=added)

    @activity.defn(name=SCREEN_POSTAL)
    def screen_postal(self, order: PostalOrder) -> Counted:
        """Items not yet screened, judged with every item of their recipients' months."""
        joined, pending = _pending(ITEMS, SCREENED_ITEMS, order.upto_item_id)
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            began = time.perf_counter()
            pending_ids: list[int] = []
            months: dict[str, set[str]] = defaultdict(set)
            for item_id, recipient, day in connection.execute(
                select(ITEMS.c.id, ITEMS.c.recipient_iin, ITEMS.c.accepted_on)
                .select_from(joined)
                .where(*pending)
            ):
                pending_ids.append(item_id)
                months[recipient].add(day.strftime("%Y-%m"))
            items = [
                item
                for item in _items_of(connection, joined, pending)
                if item.accepted_on.strftime("%Y-%m") in months[item.recipient_iin]
            ]
            flags = postal_flags(items, self._postal)
            judged = time.perf_counter()
            added = insert_new(
                connection,
                CANDIDATES,
                [
                    {
                        "key": f"postal:{flag.key}",
                        "rule": "postal",
                        "run_id": order.run_id,
                        "status": "open",
                        "score": flag.score,
                        "parcel_id": flag.parcel_id,
                        "recipient_iin": flag.recipient_iin,
                        "evidence": {"kind": flag.kind, **flag.evidence},
                        "created_at": now,
                    }
                    for flag in flags
                ],
            )
            screened = _mark_screened(connection, SCREENED_ITEMS, order.run_id, pending_ids)
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == order.run_id)
                .values(
                    items_screened=RUNS.c.items_screened + screened,
                    postal_candidates=RUNS.c.postal_candidates + added,
                )
            )
        log.info(
            "run %d postal: %d items read and %d flagged in %.1f s, %d marked in %.1f s",
            order.run_id,
            len(items),
            added,
            judged - began,
            screened,
            time.perf_counter() - judged,
        )
        return Counted(screened=screened, candidates=added)

    @activity.defn(name=CLOSE_RUN)
    def close_run(self, close: RunClose) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(RUNS)
                .where(RUNS.c.id == close.run_id)
                .values(
                    status=close.status,
                    error=close.error[:2000] if close.error else None,
                    finished_at=datetime.now(UTC),
                )
            )


def _run_for(connection: Connection, workflow_id: str, order: RunOrder) -> int:
    """The scheduled run's row, made once per workflow (a retry finds it)."""
    found = connection.execute(
        select(RUNS.c.id).where(RUNS.c.workflow_id == workflow_id)
    ).scalar_one_or_none()
    if found is not None:
        return int(found)
    return int(
        connection.execute(
            RUNS.insert()
            .values(
                workflow_id=workflow_id,
                trigger=order.trigger,
                requested_by="schedule",
                status="running",
                started_at=datetime.now(UTC),
            )
            .returning(RUNS.c.id)
        ).scalar_one()
    )


def _pending(rows: Table, marks: Table, upto: int) -> tuple[Any, tuple[Any, ...]]:
    """Rows (lines or items) no run has judged, up to the run's snapshot `upto`: those
    without a row in `marks`."""
    mark = _key(marks)
    return rows.outerjoin(marks, mark == rows.c.id), (mark.is_(None), rows.c.id <= upto)


def _key(marks: Table) -> Column[Any]:
    key: Column[Any] = next(iter(marks.primary_key.columns))
    return key


def mark_judged(marks: Table) -> str:
    """The insert that marks the ids of the `JUDGED` table in `marks` (lines or items)."""
    return (
        f"INSERT INTO {marks.name} ({_key(marks).name}, run_id) SELECT id, %s FROM judged "
        "ON CONFLICT DO NOTHING"
    )


def _mark_screened(connection: Connection, marks: Table, run_id: int, ids: list[int]) -> int:
    """Record rows a step judged as judged by this run; how many were not already.

    The ids go in as data (PostgreSQL: COPY into a temporary table) and the insert reads
    nothing but them: an insert that looked for the batch's lines missing from
    `screened_lines` let PostgreSQL plan, on a table just analysed empty, a nested loop
    scanning `screened_lines` once per line, rows this insert had added included
    (measured: 514 s for one batch of 250 000 lines). The conflict check is a lookup in the
    primary key, whatever the statistics say."""
    if connection.dialect.name != "postgresql":
        key = _key(marks).name
        rows = [{key: row_id, "run_id": run_id} for row_id in ids]
        statement = sqlite.insert(marks).on_conflict_do_nothing()
        return connection.execute(statement, rows).rowcount if rows else 0
    driver: Any = connection.connection.driver_connection
    with driver.cursor() as cursor:
        cursor.execute(JUDGED)
        with cursor.copy("COPY judged (id) FROM STDIN") as copy:
            copy.write("".join(f"{row_id}\n" for row_id in ids))
        cursor.execute(mark_judged(marks), (run_id,))
        return int(cursor.rowcount)


def _batches(connection: Connection, upto: int, size: int) -> list[Batch]:
    """Consecutive 6-digit headings with pending lines, about `size` lines a batch."""
    joined, pending = _pending(LINES, SCREENED, upto)
    headings = connection.execute(
        select(
            LINES.c.hs6,
            func.count(),
            func.min(LINES.c.registered_on),
            func.max(LINES.c.registered_on),
        )
        .select_from(joined)
        .where(*pending)
        .group_by(LINES.c.hs6)
        .order_by(LINES.c.hs6)
    ).all()
    batches: list[Batch] = []
    for hs6, count, first, last in headings:
        current = batches[-1] if batches else None
        if current is None or current.lines + count > size:
            batches.append(
                Batch(first_hs6=hs6, last_hs6=hs6, first_day=first, last_day=last, lines=count)
            )
            continue
        current.last_hs6 = hs6
        current.lines += count
        current.first_day = min(current.first_day, first)
        current.last_day = max(current.last_day, last)
    return batches


def _price_candidates(
    connection: Connection,
    found: list[LineStats],
    rule: PriceRule,
    tables: RateTables,
    order: BatchOrder,
    now: datetime,
) -> list[dict[str, Any]]:
    stats = {entry.line_id: entry for entry in found}
    rows: list[dict[str, Any]] = []
    ids = list(stats)
    for start in range(0, len(ids), _IN_CHUNK):
        chosen = ids[start : start + _IN_CHUNK]
        for row in connection.execute(select(LINES).where(LINES.c.id.in_(chosen))).mappings():
            line = DeclarationLine.model_validate({k: row[k] for k in _LINE_FIELDS})
            entry = stats[row["id"]]
            verdict = judge(line, entry.hs10, entry.hs6, rule)
            if verdict is None:
                continue
            reference, score = verdict
            rows.append(
                {
                    "key": f"price:{line.declaration_number}:{line.line_no}",
                    "rule": "price",
                    "run_id": order.run_id,
                    "status": "open",
                    "score": score,
                    "customs_office": line.customs_office,
                    "hs_code": line.hs_code,
                    "declaration_number": line.declaration_number,
                    "line_no": line.line_no,
                    "declarant_bin": line.declarant_bin,
                    "evidence": evidence(line, reference, rule, tables).model_dump(mode="json"),
                    "created_at": now,
                }
            )
    return rows


def _items_of(connection: Connection, joined: Any, pending: Any) -> list[PostalItem]:
    """Every item of the recipients with pending items (rows as stored, already valid)."""
    recipients = (
        select(ITEMS.c.recipient_iin).select_from(joined).where(*pending).distinct().subquery()
    )
    query = select(*(ITEMS.c[name] for name in _ITEM_FIELDS)).join(
        recipients, recipients.c.recipient_iin == ITEMS.c.recipient_iin
    )
    return [PostalItem.model_construct(**row) for row in connection.execute(query).mappings()]

"""The screening run's steps on a real database: DuckDB's reference samples flag exactly
the lines the rule's definition flags, batch by batch, and screening again adds nothing."""

import json
import os
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from temporalio.testing import ActivityEnvironment

import cli
from activities.screening import JUDGED, SCREENED, ScreeningActivities, mark_judged, price_rule
from config import Settings
from db.reference import load_rate_tables
from db.screening_imports import import_declarations, import_postal_items
from db.screening_models import CandidateRow, DeclarationLineRow
from db.screening_store import create_run, get_run
from domain.screening.price import judge, reference_sample, sample_stats
from domain.screening.records import DeclarationLine
from domain.screening.run import BatchOrder, Counted, PostalOrder, RunOrder, RunPlan
from tests.screening_data import DAY, as_csv, as_json_lines, item, line


def screening_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path,
        "screening_min_lines": 8,
        "screening_min_declarants": 2,
        "screening_batch_lines": 120,
        **overrides,
    }
    return Settings(**values)


def run_once(engine: Engine, settings: Settings) -> tuple[RunPlan, list[Counted]]:
    """One run's steps in order, as the workflow calls them."""
    steps = ScreeningActivities(engine, settings, load_rate_tables(None))
    run_id = create_run(engine, "test").id
    plan = ActivityEnvironment().run(steps.open_run, RunOrder(run_id=run_id, trigger="manual"))
    counted = [
        steps.screen_prices(
            BatchOrder(run_id=plan.run_id, upto_line_id=plan.upto_line_id, index=n, batch=batch)
        )
        for n, batch in enumerate(plan.batches)
    ]
    counted.append(
        steps.screen_postal(PostalOrder(run_id=plan.run_id, upto_item_id=plan.upto_item_id))
    )
    return plan, counted


def random_lines(seed: int, count: int, first_day: Any) -> list[dict[str, Any]]:
    """Three 10-digit codes under two headings, two units, eight importers, 500 days; one
    line in four of one of 90 rare codes under the second heading (judged by the heading);
    one line in twelve is priced at a fraction of the market."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        code = rng.choice(["8481804000", "8481804009", "8413702000"])
        if rng.random() < 1 / 4:
            code = f"84137020{rng.randrange(10, 100)}"
        unit = rng.choice(["796", "166"])
        price = rng.uniform(900, 1100) * (1.4 if code == "8481804009" else 1)
        if rng.random() < 1 / 12:
            price *= rng.uniform(0.2, 0.7)
        rows.append(
            line(
                f"{price:.2f}",
                declarant=rng.randrange(8),
                hs_code=code,
                unit=unit,
                day=first_day + timedelta(days=rng.randrange(500)),
                quantity=str(rng.randrange(1, 50)),
                number=f"55201/SEED{seed}/{n:07d}",
            )
        )
    return rows


def expected_flags(engine: Engine, settings: Settings, only: set[int]) -> dict[str, Any]:
    """What the rule's definition flags among lines `only`, judged against every line."""
    rule = price_rule(settings)
    fields = tuple(DeclarationLine.model_fields)
    with Session(engine) as session:
        rows = session.scalars(select(DeclarationLineRow)).all()
        lines = [
            (row.id or 0, DeclarationLine.model_validate({k: getattr(row, k) for k in fields}))
            for row in rows
        ]
    flagged = {}
    for line_id, own in lines:
        if line_id not in only:
            continue
        stats = []
        for level in ("hs10", "hs6"):
            values, declarants = reference_sample(line_id, own, lines, level, rule)
            stats.append(sample_stats(values, declarants, own.declarant_bin, rule))
        judged = judge(own, stats[0], stats[1], rule)
        if judged:
            key = f"price:{own.declaration_number}:{own.line_no}"
            flagged[key] = (judged[0].level, judged[0].median.quantize(Decimal("0.01")))
    return flagged


def found_flags(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        rows = session.scalars(select(CandidateRow).where(col(CandidateRow.rule) == "price")).all()
    return {
        row.key: (
            row.evidence["reference"]["level"],
            Decimal(row.evidence["reference"]["median"]).quantize(Decimal("0.01")),
        )
        for row in rows
    }


def line_ids(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return {i for i in session.scalars(select(col(DeclarationLineRow.id))) if i is not None}


def test_duckdb_samples_flag_what_the_definition_flags_and_reruns_add_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = screening_settings(database_url, tmp_path)
    first_day = DAY - timedelta(days=700)
    assert import_declarations(engine, as_csv(random_lines(1, 600, first_day))).stored == 600
    expected = expected_flags(engine, settings, line_ids(engine))
    plan, counted = run_once(engine, settings)
    assert len(plan.batches) >= 2  # several batches, never splitting a heading
    assert sum(c.screened for c in counted[:-1]) == 600
    assert len(expected) > 20
    assert found_flags(engine) == expected
    assert sum(c.candidates for c in counted) == len(expected)

    # Screening the same data again finds nothing new; importing it again stores nothing.
    assert import_declarations(engine, as_csv(random_lines(1, 600, first_day))).duplicates == 600
    plan, counted = run_once(engine, settings)
    assert plan.batches == [] and [c.candidates for c in counted] == [0]
    assert found_flags(engine) == expected

    # New lines are judged against the history they join.
    before = line_ids(engine)
    assert (
        import_declarations(
            engine, as_csv(random_lines(2, 150, first_day + timedelta(days=300)))
        ).stored
        == 150
    )
    new = line_ids(engine) - before
    plan, counted = run_once(engine, settings)
    assert sum(c.screened for c in counted[:-1]) == 150
    assert found_flags(engine) == expected | expected_flags(engine, settings, new)


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (DATABASE_URL): its planner's statistics are the point",
)
def test_lines_are_marked_by_key_lookups_even_when_screened_lines_was_analysed_empty(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """The first run after deployment, once autovacuum has analysed the empty table: the
    planner takes `screened_lines` for empty while a batch fills it. Marking a batch must
    not rest on that estimate (a nested loop over `screened_lines` per line is quadratic)."""
    settings = screening_settings(database_url, tmp_path, screening_batch_lines=10_000)
    lines = random_lines(3, 4000, DAY - timedelta(days=700))
    assert import_declarations(engine, as_csv(lines)).stored == 4000
    with engine.begin() as connection:
        connection.execute(text("ANALYZE screened_lines"))
        analysed = text("SELECT reltuples FROM pg_class WHERE relname = 'screened_lines'")
        assert connection.execute(analysed).scalar_one() == 0
        connection.execute(text(JUDGED))
        cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"EXPLAIN (COSTS OFF) {mark_judged(SCREENED)}", (1,))
        plan = [row[0].strip(" ->") for row in cursor.fetchall()]
    # Only the batch's ids are scanned; screened_lines is read by its primary key alone.
    assert plan == [
        "Insert on screened_lines",
        "Conflict Resolution: NOTHING",
        "Seq Scan on judged",
    ]

    plan_run, counted = run_once(engine, settings)
    assert len(plan_run.batches) == 1 and counted[0].screened == 4000
    run = get_run(engine, plan_run.run_id)
    assert run is not None and run.lines_screened == 4000
    with engine.connect() as connection:
        marked = connection.execute(
            text("SELECT count(*), min(run_id), max(run_id) FROM screened_lines")
        )
        assert tuple(marked.one()) == (4000, plan_run.run_id, plan_run.run_id)


def test_postal_items_screened_once_with_their_recipients_months(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = screening_settings(database_url, tmp_path)
    january = [item(f"P{n}", DAY.replace(month=1, day=10 + n)) for n in range(3)]
    import_postal_items(
        engine, as_json_lines([*january, item("BIG", DAY, recipient=1, quantity=5)])
    )
    _, counted = run_once(engine, settings)
    assert counted[-1] == Counted(screened=4, candidates=1)  # the parcel of five units
    # A fourth January parcel arrives later: the month is judged with the three before it.
    import_postal_items(engine, as_json_lines([item("P9", DAY.replace(month=1, day=31))]))
    _, counted = run_once(engine, settings)
    assert counted[-1] == Counted(screened=1, candidates=1)
    _, counted = run_once(engine, settings)
    assert counted[-1] == Counted(screened=0, candidates=0)
    with Session(engine) as session:
        keys = sorted(session.scalars(select(col(CandidateRow.key))))
    assert keys == ["postal:month:900101300007:2026-01", "postal:units:BIG"]


def test_the_import_command_stores_and_reports_like_the_endpoint(
    engine: Engine,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    feed = tmp_path / "lines.csv"
    feed.write_bytes(as_csv([line("1000"), {**line("1000"), "hs_code": "12"}]))
    with pytest.raises(SystemExit) as exit_code:
        cli.main(["declarations", "import", str(feed)])
    assert exit_code.value.code == 1  # a row was refused
    printed = json.loads(capsys.readouterr().out)
    assert (printed["stored"], printed["refused"], printed["refusals"][0]["line"]) == (1, 1, 3)
    assert len(line_ids(engine)) == 1
    feed.write_bytes(as_json_lines([item("P1", DAY)]))
    cli.main(["postal-items", "import", str(feed)])  # nothing refused: exit code 0
    assert json.loads(capsys.readouterr().out)["stored"] == 1
    with pytest.raises(SystemExit, match="cannot import"):
        cli.main(["postal-items", "import", str(tmp_path / "missing.csv")])

"""The open questions of the penalty rule as settings: each one's effect in figures, and a
case keeping the terms it started with when the settings change."""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from activities.charges import ChargeActivities
from config import Settings
from db.reference import load_rate_tables
from domain.assessment import AuditLine, assess
from domain.case import Payment
from domain.case_commands import FixTerms, PlaceInCabinet, RecordPayment, SetDeadline
from domain.case_rules import decide
from domain.case_state import CaseState, event, evolve, initial_state
from domain.charges import Charges
from domain.lifecycle import EventKind
from domain.money import to_tiyn
from domain.penalty import UNRECORDED, PenaltyTerms
from domain.rates import DatedTable, DatedValue
from domain.settlement import settle
from domain.tasks import CaseTerms, TermsRequest
from tests.factories import AMOUNT_DUE, audit_start
from tests.test_charges import TEST_RATES, seed_line

BASE = DatedTable(name="base_rate", rows=[DatedValue(since=date(2024, 1, 1), value=D("14.6"))])
ACTUAL = UNRECORDED.model_copy(update={"day_count": "actual"})
FEE_IN = UNRECORDED.model_copy(update={"fee_in_base": True})
DURING = UNRECORDED.model_copy(update={"during_notification_period": True})
MILLION = D("1000000")
# The charges of the seed example; notified 5 March 2026, deadline 8 April 2026.
CHARGES = Charges(customs_duty=D("662130.00"), vat=D("611559.60"), customs_fee=D("20000.00"))
NOTIFIED = date(2026, 3, 5)
DEADLINE = date(2026, 4, 8)


def paid(amount: D, on: date) -> list[Payment]:
    return [Payment(reference="P1", amount=amount, paid_at=on)]


def test_the_settings_default_to_the_readings_that_charge_the_party_least() -> None:
    terms = Settings().penalty_terms
    assert terms == PenaltyTerms(
        fee_in_base=False, day_count="actual", during_notification_period=False
    )


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PENALTY_FEE_IN_BASE", "true")
    monkeypatch.setenv("PENALTY_DAY_COUNT", "365")
    monkeypatch.setenv("PENALTY_DURING_NOTIFICATION_PERIOD", "true")
    assert Settings().penalty_terms == PenaltyTerms(
        fee_in_base=True, day_count="365", during_notification_period=True
    )
    monkeypatch.setenv("PENALTY_DAY_COUNT", "360")
    with pytest.raises(ValidationError, match="penalty_day_count"):
        Settings()


def test_in_a_leap_year_actual_days_charge_less_and_otherwise_the_same() -> None:
    # 1 February .. 1 March 2024: 30 days with 29 February, 1 000 000 at 1.25 × 14.6 %.
    leap = (date(2024, 2, 1), date(2024, 3, 1))
    assert to_tiyn(UNRECORDED.accrue(MILLION, *leap, BASE)) == D("15000.00")  # ÷ 365
    assert to_tiyn(ACTUAL.accrue(MILLION, *leap, BASE)) == D("14959.02")  # ÷ 366
    # The same 30 days in 2025 (1 February .. 2 March): 365 days either way.
    common = (date(2025, 2, 1), date(2025, 3, 2))
    assert to_tiyn(ACTUAL.accrue(MILLION, *common, BASE)) == D("15000.00")
    assert to_tiyn(UNRECORDED.accrue(MILLION, *common, BASE)) == D("15000.00")


def test_actual_days_split_a_period_at_the_new_year() -> None:
    # 30, 31 December 2024 ÷ 366 and 1, 2 January 2025 ÷ 365: 997.27 + 1 000.00.
    days = (date(2024, 12, 30), date(2025, 1, 2))
    assert to_tiyn(ACTUAL.accrue(MILLION, *days, BASE)) == D("1997.27")
    assert to_tiyn(UNRECORDED.accrue(MILLION, *days, BASE)) == D("2000.00")


def test_the_fee_in_the_base_adds_its_penalty_before_the_notification() -> None:
    # Declared with a 10 000 ₸ fee, found with 20 000 ₸: 10 000 ₸ more fee, 9 days at 16.5 %.
    line = AuditLine(
        declared=seed_line(price_paid=D("7500"), customs_fee_kzt=D("10000")), adjusted=seed_line()
    )
    without = assess([line], date(2025, 5, 11), TEST_RATES, UNRECORDED)
    with_fee = assess([line], date(2025, 5, 11), TEST_RATES, FEE_IN)
    assert without.additional.customs_fee == D("10000.00")
    assert (without.penalty_base, without.penalty) == (D("303600.00"), D("1543.99"))
    assert (with_fee.penalty_base, with_fee.penalty) == (D("313600.00"), D("1594.85"))


def test_the_fee_in_the_base_adds_its_penalty_after_the_deadline() -> None:
    # Paid in full on 13 April 2026: 40 days (5 March .. 13 April) at 1.25 × 16.5 % / 365.
    late = date(2026, 4, 13)
    rates = TEST_RATES.base_rate
    without = settle(CHARGES, paid(AMOUNT_DUE, late), late, NOTIFIED, DEADLINE, rates, UNRECORDED)
    with_fee = settle(CHARGES, paid(AMOUNT_DUE, late), late, NOTIFIED, DEADLINE, rates, FEE_IN)
    assert without.late_penalty == D("28788.87")  # on 1 273 689.60
    assert with_fee.late_penalty == D("29240.93")  # on 1 293 689.60


def test_penalty_during_the_notification_period_is_owed_even_when_paid_in_time() -> None:
    rates = TEST_RATES.base_rate
    args = (CHARGES, paid(AMOUNT_DUE, DEADLINE), DEADLINE, NOTIFIED, DEADLINE, rates)
    off = settle(*args, UNRECORDED)
    assert off.late_penalty == 0 and off.fulfilled
    on = settle(*args, DURING)
    # 5 March .. 8 April 2026 inclusive: 35 days on 1 273 689.60 at 1.25 × 16.5 % / 365.
    assert on.late_penalty == D("25190.27")
    assert not on.fulfilled and on.outstanding == D("25190.27")
    # Paid late, the penalty runs from the notification date under either reading.
    late = date(2026, 4, 13)
    after = (CHARGES, paid(AMOUNT_DUE, late), late, NOTIFIED, DEADLINE, rates)
    assert settle(*after, DURING).late_penalty == settle(*after, UNRECORDED).late_penalty


def _case(terms: PenaltyTerms) -> CaseState:
    """A case whose terms were fixed under `terms`, served, and paid in full four days late."""
    tables = load_rate_tables()
    state = initial_state(audit_start(), date(2026, 3, 2))
    now = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    for command in (
        FixTerms(tables.base_rate, terms),
        PlaceInCabinet("N1", date(2026, 3, 2)),
        SetDeadline("response", date(2026, 3, 31)),
        RecordPayment(Payment(reference="LATE", amount=AMOUNT_DUE, paid_at=date(2026, 4, 4))),
    ):
        for item in decide(state, command, now):
            state = evolve(state, item)
    return state


def test_a_case_keeps_the_terms_it_started_with_when_the_settings_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tables = load_rate_tables()
    request = TermsRequest(lines=None, notification_date=date(2026, 3, 2))
    started = ChargeActivities(tables, Settings().penalty_terms).fix_case_terms(request)
    state = _case(started.penalty_terms)
    settled = state.settlement()
    assert settled is not None
    # The settings change afterwards: the fee joins the base and penalty runs in the period.
    monkeypatch.setenv("PENALTY_FEE_IN_BASE", "true")
    monkeypatch.setenv("PENALTY_DURING_NOTIFICATION_PERIOD", "true")
    changed = Settings().penalty_terms
    assert changed != started.penalty_terms
    # The case folds its recorded events to the same terms and the same figures as before.
    assert state.penalty_terms == started.penalty_terms
    again = state.settlement()
    assert again is not None and again.late_penalty == settled.late_penalty
    # 2 March .. 4 April 2026 (34 days) on 1 273 689.60 at 1.25 × 18 % / 365, fee left out;
    # under the changed settings a new case would owe it on 1 293 689.60.
    assert settled.late_penalty == D("26695.14")
    new_case = _case(changed)
    renewed = new_case.settlement()
    assert renewed is not None and renewed.late_penalty == D("27114.32")


def test_a_history_recorded_before_the_settings_runs_on_the_earlier_terms() -> None:
    """Recordings made before the terms were settings name none: they keep today's figures
    (the fee out of the base, 365 days, no penalty within the period) on replay."""
    tables = load_rate_tables()
    recorded = CaseTerms.model_validate({"base_rates": tables.base_rate.model_dump(mode="json")})
    assert recorded.penalty_terms == UNRECORDED
    fixed = event(
        EventKind.TERMS_FIXED,
        datetime(2026, 3, 2, 5, 0, tzinfo=UTC),
        base_rates=tables.base_rate.model_dump(mode="json"),
    )
    state = evolve(initial_state(audit_start(), date(2026, 3, 2)), fixed)
    assert state.terms_fixed and state.penalty_terms == UNRECORDED


def test_a_case_keeps_the_base_rates_from_its_notification_on_and_owes_the_same() -> None:
    tables = load_rate_tables()
    notified = date(2025, 10, 1)  # 16.5 % in force since 10 March; 18 % from 13 October
    request = TermsRequest(lines=None, notification_date=notified)
    kept = ChargeActivities(tables, UNRECORDED).fix_case_terms(request).base_rates
    assert kept.rows[0] == DatedValue(since=date(2025, 3, 10), value=D("16.5"))
    assert len(kept.rows) < len(tables.base_rate.rows)
    assert kept.rows == [r for r in tables.base_rate.rows if r.since >= kept.rows[0].since]
    # Paid late across the rate change: the same figures on the kept rows as on the table.
    deadline, late = date(2025, 10, 30), date(2025, 12, 15)
    args = (CHARGES, paid(D("500000"), late), late, notified, deadline)
    on_kept = settle(*args, kept, DURING)
    assert on_kept.late_penalty > 0
    assert on_kept == settle(*args, tables.base_rate, DURING)
    assert BASE.from_day(date(2023, 1, 1)) == BASE  # a day before the table: all of it

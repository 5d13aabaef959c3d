"""The screening rules as pure functions: thresholds, reference samples and their fall-back,
the postal limits across month ends, and refusals of bad feed rows."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from db.reference import load_rate_tables
from domain.screening.postal import PostalRule, postal_flags
from domain.screening.price import (
    PriceRule,
    Stats,
    evidence,
    judge,
    reference_sample,
    sample_stats,
)
from domain.screening.records import BadFile, DeclarationLine, PostalItem, Refusal, parse
from tests.screening_data import (
    DAY,
    as_csv,
    as_json_lines,
    item,
    line,
    market,
    parse_item,
    parse_line,
)

RULE = PriceRule(min_lines=20, min_declarants=3)


def verdict(
    target: dict[str, object], history: list[dict[str, object]], rule: PriceRule = RULE
) -> tuple[str, Decimal] | None:
    """Judge `target` against `history` exactly as the definition says."""
    lines = [(n, parse_line(row)) for n, row in enumerate([target, *history])]
    own = lines[0][1]
    found = {}
    for level in ("hs10", "hs6"):
        values, declarants = reference_sample(0, own, lines, level, rule)
        found[level] = sample_stats(values, declarants, own.declarant_bin, rule)
    judged = judge(own, found["hs10"], found["hs6"], rule)
    return (judged[0].level, judged[1]) if judged else None


def test_quartiles_and_percentile_of_a_sample() -> None:
    values = [Decimal(v) for v in range(1000, 1024)]
    stats = sample_stats(values, ["a", "b", "c", "own"] * 6, "own", RULE)
    assert stats == Stats(
        lines=24,
        other_declarants=3,
        low=Decimal("1002.3"),
        q1=Decimal("1005.75"),
        median=Decimal("1011.5"),
        q3=Decimal("1017.25"),
    )


def test_a_line_below_both_thresholds_is_flagged_and_scored() -> None:
    # median 1011.5: 80 % is 809.2; the 10th percentile 1002.3
    flagged = verdict(line("809"), market())
    assert flagged == ("hs10", Decimal("0.2002"))
    assert verdict(line("809.20"), market()) is None  # not *below* 80 % of the median


def test_below_the_median_share_but_not_below_the_low_percentile_is_not_flagged() -> None:
    # A wide honest spread: a tenth of the market sells at 100, the median is ~1000.
    history = market(count=21) + [line("100", declarant=1 + n % 4) for n in range(3)]
    assert verdict(line("700"), history) is None
    assert verdict(line("90"), history) is not None


def test_too_small_samples_are_not_judged() -> None:
    assert verdict(line("100"), market(count=19)) is None  # 19 lines < 20
    assert verdict(line("100"), market(count=40, declarants=2)) is None  # 2 others < 3
    # The line's own declarant does not count among the others.
    assert verdict(line("100", declarant=1), market(count=24, declarants=3)) is None
    assert verdict(line("100", declarant=5), market(count=24, declarants=3)) is not None


def test_the_window_and_the_line_itself() -> None:
    old = market(day=DAY - timedelta(days=400))  # registered more than 365 days before
    assert verdict(line("100"), old) is None
    assert verdict(line("100"), old, PriceRule(window_days=600)) is not None
    later = market(day=DAY + timedelta(days=200))  # after the line: not its reference
    assert verdict(line("100"), later) is None


def test_falls_back_to_the_six_digit_heading_when_ten_digits_are_too_few() -> None:
    history = market(count=10) + market(count=14, hs_code="8481804001")
    assert verdict(line("100"), history) == ("hs6", Decimal("0.9005"))  # median 1005
    # Enough lines of its own ten digits: those are the reference, not the heading.
    rich = market(count=24) + market(count=30, hs_code="8481804001", base=50)
    assert verdict(line("800"), rich) == ("hs10", Decimal("0.2091"))
    # Another unit is another market.
    assert verdict(line("100"), market(unit="166")) is None


def test_same_origin_only_when_set() -> None:
    history = market(origin="DE")
    assert verdict(line("100"), history) is not None
    assert verdict(line("100"), history, PriceRule(same_origin=True)) is None


def test_evidence_prices_the_shortfall_at_the_lines_rates() -> None:
    own = parse_line(line("809", quantity="100", duty_rate_percent="10"))
    stats = sample_stats([Decimal(v) for v in range(1000, 1024)], list("abcd") * 6, "", RULE)
    judged = judge(own, stats, None, RULE)
    assert judged is not None
    found = evidence(own, judged[0], RULE, load_rate_tables(None))
    assert found.proposed_customs_value == Decimal("101150.00")  # median 1011.5 x 100
    assert found.shortfall == Decimal("20250.00")
    assert found.extra_duty == Decimal("2025.00")  # 10 %
    # VAT 16 % (2026) on customs value + duty: (20250 + 2025) x 0.16
    assert found.extra_vat == Decimal("3564.00")
    assert found.extra_total == Decimal("5589.00")


def postal(*rows: dict[str, object], rule: PostalRule | None = None) -> set[str]:
    return {f.key for f in postal_flags([parse_item(r) for r in rows], rule or PostalRule())}


def test_more_than_three_units_of_a_product_type_in_one_parcel() -> None:
    assert (
        postal(item("P1", DAY, quantity=3), item("P1", DAY, product="scarf", quantity=3)) == set()
    )
    assert postal(item("P1", DAY, quantity=2), item("P1", DAY, quantity=2)) == {"units:P1"}
    assert postal(item("P1", DAY, quantity=4)) == {"units:P1"}
    assert postal(item("P1", DAY, quantity=4), rule=PostalRule(max_units=4)) == set()


def test_more_than_three_parcels_in_a_calendar_month_across_a_month_end() -> None:
    end_of_january = [item(f"P{n}", date(2026, 1, 29 + n)) for n in range(3)]  # 29, 30, 31
    february = [item("P9", date(2026, 2, 1))]
    # Four parcels in five days, but three in January and one in February.
    assert postal(*end_of_january, *february) == set()
    fourth = item("P8", date(2026, 1, 2))
    flags = postal_flags([parse_item(r) for r in [*end_of_january, fourth]], PostalRule())
    assert [f.key for f in flags] == [f"month:{fourth['recipient_iin']}:2026-01"]
    assert flags[0].parcel_id == "P2"  # the 4th parcel of the month in time order
    assert flags[0].score == Decimal("1.3333")
    # Each recipient has limits of its own; December and January are two months.
    others = [item(f"Q{n}", date(2026, 1, 5), recipient=1) for n in range(3)]
    december = [item("D1", date(2025, 12, 31))]
    assert postal(*end_of_january, *others, *december) == set()


def test_the_postal_rule_can_be_switched_off() -> None:
    assert postal(item("P1", DAY, quantity=40), rule=PostalRule(enabled=False)) == set()


def test_bad_rows_are_refused_with_their_line_numbers_and_the_good_ones_kept() -> None:
    good = line("1000")
    rows = [
        good,
        {**good, "line_no": 2, "hs_code": "84818040"},
        {**good, "line_no": 3, "declarant_bin": "950400000458"},
        {**good, "line_no": 4, "quantity": "0", "incoterms": "XYZ"},
        {**good, "line_no": 5, "registered_on": "2026-02-30"},
    ]
    parsed = list(parse(as_csv(rows), DeclarationLine))
    refusals = [r for r in parsed if isinstance(r, Refusal)]
    assert [r.line for r in refusals] == [3, 4, 5, 6]  # the header is line 1
    assert "hs_code" in refusals[0].reason
    assert "check digit" in refusals[1].reason
    assert "quantity" in refusals[2].reason and "Incoterms" in refusals[2].reason
    assert "registered_on" in refusals[3].reason
    assert [r[0] for r in parsed if not isinstance(r, Refusal)] == [2]


def test_json_lines_report_their_own_line_numbers() -> None:
    text = (
        as_json_lines([item("P1", DAY)])
        + b"\n{not json\n[1, 2]\n"
        + as_json_lines(
            [{**item("P2", DAY), "quantity": -1}, {**item("P3", DAY), "product_type": "a\x00b"}]
        )
    )
    parsed = list(parse(text, PostalItem))
    assert [(r.line, r.reason.split(":")[0]) for r in parsed if isinstance(r, Refusal)] == [
        (3, "not valid JSON"),
        (4, "each line must be a JSON object"),
        (5, "quantity"),
        (6, "product_type"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "UTF-8"),
        (b"parcel_id\x00,accepted_on\n", "NUL"),
        (b"parcel_id,accepted_on\nP1,2026-01-01\n", "lacks"),
        (as_csv([{**item("P1", DAY), "colour": "red"}]), "unknown CSV columns colour"),
    ],
)
def test_an_unusable_file_is_refused_as_a_whole(data: bytes, message: str) -> None:
    with pytest.raises(BadFile, match=message):
        list(parse(data, PostalItem))

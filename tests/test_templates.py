"""Every document renders in every language from a complete case; nothing renders blank."""

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from jinja2 import UndefinedError

from activities.rendering import LANGUAGES, longdate_in, money, render
from domain.notices import DocumentKind, document_number

CASE: dict[str, Any] = {
    "id": "CA-2026-000123",
    "customs_office": "55201",
    "party_name": "Steppe Fittings LLP",
    "party_bin": "950400000459",
    "declarations": ["55201/050326/0001234", "55201/060326/0000077"],
    "findings": "Declared price 2.5 EUR/pc < similar goods at 2.8-3.0 EUR/pc & royalties omitted.",
    "charges": {
        "customs_duty": "662130.00",
        "vat": "611559.60",
        "customs_fee": "20000.00",
        "excise": "0",
        "penalty": "1576.50",
    },
    "amount_due": "1295266.10",
    "amount_paid": "1000.00",
    "amount_outstanding": "1294266.10",
    "notification_number": "CA-2026-000123",
    "delivered_on": "2026-03-05",
    "response_deadline": "2026-04-08",
    "explanation_received_on": "2026-03-20",
}
LINES = [
    [
        "55201/050326/0001234",
        Decimal("3150000.00"),
        Decimal("4414200.00"),
        Decimal("189630.00"),
        Decimal("174925.44"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("1576.50"),
    ]
]
EXTRA = {
    DocumentKind.NOTIFICATION: {"memo_number": "CA-2026-000123/M1"},
    DocumentKind.MEMO: {},
    DocumentKind.REMINDER: {"working_days_left": "5"},
    DocumentKind.ACCEPTANCE: {},
    DocumentKind.DOCUMENT_REQUEST: {
        "requested": "SWIFT copy\nSupplier's price list",
        "request_id": "R1",
        "deadline": "2026-04-15",
    },
    DocumentKind.DECISION: {
        "reasons": "SWIFT copy does not match",
        "appeal_deadline": "2026-04-15",
        "accepted": "55201/060326/0000077",
        "rejected": "55201/050326/0001234",
    },
    DocumentKind.REVOCATION: {
        "decision_number": "CA-2026-000123/D1",
        "decided_on": "2026-04-10",
        "reasons": "",
        "payments": "KZ-PAY-0042 — 1 294 266,10 ₸ — paid on 8 April 2026",
    },
    DocumentKind.SUSPENSION_ORDER: {
        "decision_number": "CA-2026-000123/D1",
        "final_on": "2026-04-20",
        "outstanding": "1294266.10",
    },
    DocumentKind.LIFTING_ORDER: {
        "suspension_number": "CA-2026-000123/S1",
        "suspended_on": "2026-04-21",
        "settled_on": "2026-05-04",
    },
}
TITLES = {
    ("notification", "kk"): "Бұзушылықтарды жою туралы хабарлама",
    ("notification", "ru"): "Уведомление об устранении нарушений",
    ("notification", "en"): "Notification on the elimination of violations",
}


def joined(text: str) -> str:
    """Plain text with its line wrapping undone (no-break spaces kept)."""
    return re.sub(r"[ \n]+", " ", text)


def context(kind: DocumentKind, **changes: Any) -> dict[str, Any]:
    return {
        "doc": {
            "number": document_number("CA-2026-000123", kind, 1),
            "issued_on": date(2026, 3, 5),
        },
        "case": {**CASE, **changes},
        "cabinet_url": "https://cabinet.example/audits/CA-2026-000123/documents",
        "extra": dict(EXTRA[kind]),
        "lines": LINES,
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_document_renders_in_every_language(kind: DocumentKind, language: str) -> None:
    rendered = render(kind, language, context(kind))
    for body in (rendered.html, rendered.text):
        assert rendered.title in body or rendered.title.upper() in body
        assert "CA-2026-000123" in body
        assert (
            "Таможенный пост 55201" in body
            or "Кеден бекеті 55201" in body
            or ("Customs post 55201" in body)
        )
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in rendered.html
    assert "<" not in rendered.text.replace("< similar", "")  # text has no markup
    if (kind, language) in TITLES:
        assert rendered.title == TITLES[(kind, language)]
    # Typographic slips a reader would notice: "г.." after a date, a stop or comma after a space.
    for slip in ("..", " .", " ,", "г.."):
        assert slip not in rendered.text.replace("...", ""), (slip, kind, language)


def test_notification_states_amounts_deadline_and_escapes_input() -> None:
    rendered = render(DocumentKind.NOTIFICATION, "ru", context(DocumentKind.NOTIFICATION))
    assert "662\u00a0130,00\u00a0₸" in rendered.html
    assert "1\u00a0295\u00a0266,10\u00a0₸" in rendered.text
    assert "8 апреля 2026" in rendered.text  # the deadline, in the reader's language
    assert "&lt; similar goods" in rendered.html and "&amp; royalties" in rendered.html
    assert "CA-2026-000123/M1" in rendered.text  # the memo goes with it
    assert "4\u00a0414\u00a0200,00\u00a0₸" in rendered.html  # the per-declaration table
    assert "Таможенная стоимость, по проверке" in rendered.text


def test_decision_names_the_appeal_deadline_and_default_reasons() -> None:
    given = render(DocumentKind.DECISION, "kk", context(DocumentKind.DECISION))
    assert "SWIFT copy does not match" in given.text and "2026" in given.text
    silent_context = context(DocumentKind.DECISION)
    silent_context["extra"] = {"reasons": "", "appeal_deadline": "2026-04-15"}
    silent = render(DocumentKind.DECISION, "en", silent_context)
    assert "no explanation was submitted by the deadline of 8 April 2026" in silent.html
    assert "15 April 2026" in silent.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_appeal_period_counts_from_the_decisions_delivery(language: str) -> None:
    text = render(DocumentKind.DECISION, language, context(DocumentKind.DECISION)).text
    flat = joined(text)
    said = {
        "kk": ("табыс етілген күннен", "кейінгі күннен бастап", "жеке кабинетте көрсетіледі"),
        "ru": ("со дня, следующего за днём его вручения", "в личном кабинете"),
        "en": ("from the day after its delivery", "the personal cabinet shows"),
    }
    for words in said[language]:
        assert words in flat, (language, words)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_partly_accepted_explanation_lists_both_sets_of_declarations(language: str) -> None:
    partly = render(DocumentKind.DECISION, language, context(DocumentKind.DECISION))
    heading = {"kk": "ішінара", "ru": "Частичное принятие", "en": "accepted in part"}[language]
    assert heading in partly.text
    for declaration in ("55201/060326/0000077", "55201/050326/0001234"):
        assert f"<li>{declaration}</li>" in partly.html
    assert "1\u00a0294\u00a0266,10\u00a0₸" in partly.text  # what remains owed

    wholly = context(DocumentKind.DECISION)
    wholly["extra"].update(accepted="", rejected="")
    assert heading not in render(DocumentKind.DECISION, language, wholly).text


def test_a_decision_of_an_older_case_renders_without_the_accepted_lists() -> None:
    older = context(DocumentKind.DECISION)
    del older["extra"]["accepted"], older["extra"]["rejected"]
    rendered = render(DocumentKind.DECISION, "ru", older)
    assert "Частичное принятие" not in rendered.text
    assert "15 апреля 2026 года" in joined(rendered.text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_suspension_order_is_addressed_to_the_banks_and_names_party_and_debt(
    language: str,
) -> None:
    rendered = render(
        DocumentKind.SUSPENSION_ORDER, language, context(DocumentKind.SUSPENSION_ORDER)
    )
    flat = joined(rendered.text)
    banks = {"kk": "екінші деңгейдегі банктерге", "ru": "банкам второго уровня", "en": "banks"}
    assert banks[language] in flat and banks[language] in rendered.html
    assert "Steppe Fittings LLP" in flat and "950400000459" in flat
    assert "1\u00a0294\u00a0266,10\u00a0₸" in flat
    assert {"kk": "125-бабы", "ru": "статья 125", "en": "Article 125"}[language] in flat
    assert "CA-2026-000123/D1" in flat
    assert longdate_in(language)("2026-04-20") in flat  # overdue since


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_revocation_lists_the_late_posted_payments(language: str) -> None:
    rendered = render(DocumentKind.REVOCATION, language, context(DocumentKind.REVOCATION))
    assert "<li>KZ-PAY-0042 — 1 294 266,10 ₸ — paid on 8 April 2026</li>" in rendered.html
    assert "CA-2026-000123/D1" in rendered.text
    no_payments = context(DocumentKind.REVOCATION)
    no_payments["extra"].update(payments="", reasons="Treasury statement of 14 April")
    again = render(DocumentKind.REVOCATION, language, no_payments)
    assert "<li>" not in again.html and "Treasury statement of 14 April" in again.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lifting_order_names_the_suspension_it_lifts(language: str) -> None:
    rendered = render(DocumentKind.LIFTING_ORDER, language, context(DocumentKind.LIFTING_ORDER))
    flat = joined(rendered.text)
    assert "CA-2026-000123/S1" in flat
    assert longdate_in(language)("2026-05-04") in flat  # paid on


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("kind", "blank"),
    [
        (DocumentKind.REVOCATION, "decided_on"),
        (DocumentKind.SUSPENSION_ORDER, "final_on"),
        (DocumentKind.LIFTING_ORDER, "suspended_on"),
    ],
)
def test_a_date_the_case_does_not_know_is_left_out_not_a_failed_render(
    kind: DocumentKind, blank: str, language: str
) -> None:
    """The workflow passes "" for a date it has not recorded: the sentence goes without it,
    rather than the render failing (and being retried) for ever."""
    values = context(kind)
    values["extra"][blank] = ""
    text = joined(render(kind, language, values).text)
    assert longdate_in(language)(EXTRA[kind][blank]) not in text
    for slip in (" .", " ,", "от о", "of recognising", "of suspending"):
        assert slip not in text, (slip, kind, language)


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    incomplete = context(DocumentKind.NOTIFICATION)
    del incomplete["case"]["findings"]
    with pytest.raises(UndefinedError, match="findings"):
        render(DocumentKind.NOTIFICATION, "en", incomplete)
    no_extra = context(DocumentKind.REMINDER)
    no_extra["extra"] = {}
    with pytest.raises(UndefinedError, match="working_days_left"):
        render(DocumentKind.REMINDER, "kk", no_extra)


def test_unknown_language_falls_back_to_russian() -> None:
    rendered = render(DocumentKind.MEMO, "de", context(DocumentKind.MEMO))
    assert rendered.title.startswith("Памятка")


def test_money_is_formatted_the_kazakh_way_with_half_up_rounding() -> None:
    assert money(Decimal("1576.5")) == "1\u00a0576,50\u00a0₸"
    assert money(Decimal("0.005")) == "0,01\u00a0₸"
    assert money("1293689.6") == "1\u00a0293\u00a0689,60\u00a0₸"


def test_hashes_identify_the_exact_bytes() -> None:
    first = render(DocumentKind.MEMO, "en", context(DocumentKind.MEMO))
    again = render(DocumentKind.MEMO, "en", context(DocumentKind.MEMO))
    other = render(DocumentKind.MEMO, "en", context(DocumentKind.MEMO, party_name="Other LLP"))
    assert first.sha256 == again.sha256 and len(first.sha256) == 64
    assert first.sha256 != other.sha256 and first.text_sha256 != first.sha256

"""The catalogues cover every page string and every refusal the case can give, in Kazakh and
Russian, with the same placeholders as the English."""

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from domain.lifecycle import AuditStatus
from domain.refusals import REASONS, Phrase, Wording
from web.i18n import LANGUAGES, STATUS_NAMES, catalogue_path
from web.render import helpers

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [language for language in LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as source:
        return read_po(source, locale=language)


def test_every_page_string_is_translated() -> None:
    """Each string marked in the templates, page code and refusals has a Kazakh and Russian
    text."""
    method_map = [
        ("templates/pages/**.html", "jinja2"),
        ("web/**.py", "python"),
        ("domain/refusals.py", "python"),
    ]
    messages = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "N_": None, "ngettext": (1, 2)}
        )
    }
    assert len(messages) > 100
    for language in TRANSLATED:
        found = catalogue(language)
        missing = [
            m
            for m in messages
            if (key := m[0] if isinstance(m, tuple) else m) not in found or not found[key].string
        ]
        assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_refusal_of_the_case_has_its_own_words(language: str) -> None:
    """A refusal reason, a phrase or a status with no translation (or a fuzzy one, or one that
    lost a placeholder) fails here, whether or not the extraction was rerun."""
    found = catalogue(language)
    for english in [*REASONS.values(), *Phrase, *STATUS_NAMES.values()]:
        message = found.get(english)
        assert message is not None and message.string, f"{language}: no text for {english!r}"
        assert not message.fuzzy, f"{language}: {english!r} is only a guess"
        assert set(PLACEHOLDER.findall(str(message.string))) == set(PLACEHOLDER.findall(english)), (
            f"{language}: placeholders of {english!r}"
        )


def test_a_refusal_reads_in_the_page_language_with_its_dates_formatted() -> None:
    refusal = Wording.of(
        "date_out_of_range",
        subject=Phrase.DELIVERED_ON,
        day=date(2020, 1, 1),
        earliest=date(2026, 3, 2),
        since=Phrase.ISSUED,
        today=date(2026, 3, 5),
    )
    assert helpers("en")["_"](refusal) == (
        "delivered_on 1 January 2020 must be between 2 March 2026 (the notification was "
        "issued) and today 5 March 2026"
    )
    russian = helpers("ru")["_"](refusal)
    assert russian.startswith("дата вручения: дата 1 января 2020\u202fг.")
    assert "уведомление выдано" in russian
    closed = Wording.of("case_closed", status=AuditStatus.CANCELLED, what=Phrase.REASSIGNED)
    assert helpers("kk")["_"](closed) == (
        "іс «Болдырылмады» мәртебесінде; жабық іс үшін мүмкін емес: басқа инспекторға беру"
    )
    answered = Wording.of(
        "request_answered", request="R1", answered_at=datetime(2026, 3, 5, 6, 30, tzinfo=UTC)
    )
    assert "11:30" in helpers("ru")["_"](answered)  # Almaty time

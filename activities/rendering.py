"""Turning a case into its legal documents: Jinja2 templates per language, Babel formatting.

Each document is rendered from one template in three modes: HTML for the cabinet, plain text
for e-mail and Typst markup for the signed PDF (activities/pdf.py), so the three never say
different things. A missing variable is an error (StrictUndefined), never a silent blank in a
legal text.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.money import to_tiyn

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("kk", "ru", "en")
FALLBACK_LANGUAGE = "ru"
# Money is shown the Kazakh way (1 576,50 ₸) in every language; dates in the reader's own.
_MONEY_LOCALE = "kk_KZ"
_DATE_LOCALES = {"kk": "kk_KZ", "ru": "ru_RU", "en": "en_GB"}
# CLDR's long Russian date ends in "г." and a sentence's stop after it doubles it ("г..");
# the full genitive "года" reads as formal Russian and ends no sentence twice.
_DATE_FORMATS = {"kk": "long", "ru": "d MMMM y 'года'", "en": "long"}
_TYPST_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def money(amount: Decimal | str) -> str:
    return format_currency(to_tiyn(Decimal(amount)), "KZT", locale=_MONEY_LOCALE)


def typst_string(value: object) -> str:
    """A Typst string literal: what a party typed (findings, names) is never read as markup."""
    return (
        '"'
        + "".join(
            _TYPST_ESCAPES.get(c) or (c if c.isprintable() else f"\\u{{{ord(c):x}}}")
            for c in str(value)
        )
        + '"'
    )


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=autoescape, default_for_string=autoescape),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    env.filters["t"] = typst_string
    return env


_HTML = _environment(autoescape=True)
_TEXT = _environment(autoescape=False)


@dataclass(frozen=True)
class Rendered:
    title: str
    html: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.html.encode()).hexdigest()

    @property
    def text_sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def render_text(name: str, context: dict[str, Any]) -> str:
    """A short plain-text template (SMS), same strictness as the documents."""
    return _TEXT.get_template(name).render(context).strip()


def document_language(language: str) -> str:
    return language if language in LANGUAGES else FALLBACK_LANGUAGE


def longdate_in(language: str) -> Callable[[date | str], str]:
    def longdate(day: date | str) -> str:
        value = date.fromisoformat(day) if isinstance(day, str) else day
        return format_date(value, format=_DATE_FORMATS[language], locale=_DATE_LOCALES[language])

    return longdate


def render(kind: str, language: str, context: dict[str, Any]) -> Rendered:
    """Render `kind` in `language` (falling back to Russian) as HTML and as text.

    The context holds `doc` (number, issued_on), `case` (the snapshot as JSON), `cabinet_url`,
    `lines` (the per-declaration table, possibly empty) and `extra` (kind-specific strings:
    memo_number, reasons, appeal_deadline, accepted/rejected, working_days_left, the numbers
    and dates a revocation or a bank order refers to).
    """
    language = document_language(language)
    name = f"notices/{language}/{kind}.j2"
    longdate = longdate_in(language)
    parts = {}
    for mode, env in (("html", _HTML), ("text", _TEXT)):
        template = env.get_template(name)
        module = template.make_module(
            {**context, "lang": language, "longdate": longdate, "mode": mode}
        )
        parts[mode] = str(module)
        parts["title"] = str(module.title)  # type: ignore[attr-defined]
    return Rendered(title=parts["title"], html=parts["html"], text=parts["text"])


def render_typst(kind: str, language: str, context: dict[str, Any]) -> str:
    """The same document as Typst markup for the PDF. Besides `render`'s context it needs
    `verification` (url, qr_svg) and `seal` (subject, serial of the signing certificate)."""
    language = document_language(language)
    template = _TEXT.get_template(f"notices/{language}/{kind}.j2")
    return template.render(
        {**context, "lang": language, "longdate": longdate_in(language), "mode": "typst"}
    )

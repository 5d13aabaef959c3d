"""Rendering a page: the Jinja2 templates of templates/pages in the reader's language."""

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.clock import ALMATY
from domain.refusals import REASONS, Wording
from web.i18n import LANGUAGE_NAMES, LANGUAGES, STATUS_NAMES, translations
from web.session import WebSession

PAGES = Path(__file__).resolve().parent.parent / "templates" / "pages"
_BABEL_LOCALES = {"kk": "kk_KZ", "ru": "ru_RU", "en": "en_GB"}

environment = Environment(
    loader=FileSystemLoader(PAGES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.globals["status_names"] = STATUS_NAMES


def helpers(language: str) -> dict[str, Any]:
    """Translation and formatting functions bound to one language."""
    catalogue = translations(language)
    locale = _BABEL_LOCALES[language]

    def gettext(message: str | Wording, **values: Any) -> str:
        if isinstance(message, Wording):
            return catalogue.gettext(REASONS[message.reason]) % {
                name: shown(kind, value) for name, (kind, value) in message.values.items()
            }
        text = catalogue.gettext(message)
        return text % values if values else text

    def shown(kind: str, value: str) -> str:
        """A refusal's value in the reader's language: dates and moments formatted, statuses
        and phrases translated, anything else (numbers, ids) as it is."""
        if kind == "date":
            return day(value)
        if kind == "moment":
            return moment(value)
        if kind == "status" and value in STATUS_NAMES:
            return catalogue.gettext(STATUS_NAMES[value])
        return catalogue.gettext(value) if kind == "phrase" else value

    def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
        return catalogue.ngettext(singular, plural, n) % {"n": n, **values}

    def money(amount: Decimal | str | None) -> str:
        if amount is None:
            return "—"
        return f"{format_decimal(Decimal(amount), format='#,##0.00', locale=locale)} ₸"

    def day(value: date | str | None) -> str:
        if value is None:
            return "—"
        return format_date(date.fromisoformat(str(value)[:10]), format="long", locale=locale)

    def moment(value: datetime | str | None) -> str:
        if value is None:
            return "—"
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return format_datetime(at.astimezone(ALMATY), format="d MMM y, HH:mm", locale=locale)

    return {
        "_": gettext,
        "ngettext": ngettext,
        "money": money,
        "day": day,
        "moment": moment,
    }


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    language: str,
    session: WebSession | None,
    status_code: int = 200,
) -> HTMLResponse:
    html = environment.get_template(name).render(
        **helpers(language),
        lang=language,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        session=session,
        who=session.who if session else None,
        csrf=session.csrf if session else "",
        **context,
    )
    return HTMLResponse(html, status_code=status_code)

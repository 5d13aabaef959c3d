"""Form posts: the CSRF check, and refusals turned into a message next to the field."""

import re
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.errors import ApiError
from domain.refusals import REASONS, Wording
from web.i18n import N_
from web.session import WebSession, csrf_ok

FORM_ERROR = "_form"
# A message next to a field: a catalogue message, or a refusal of the case in its own words.
Errors = dict[str, str | Wording]


async def posted(request: Request, session: WebSession) -> FormData:
    """The submitted form, refused (403, nothing done) unless it carries the session's token."""
    form = await request.form()
    if not csrf_ok(session, form.get("csrf")):
        raise ApiError(403, "csrf", N_("the form has expired; reload the page and try again"))
    return form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    return text(form, name) or None


def errors_of(
    error: ValidationError | ApiError, fields: dict[tuple[str | int, ...], str]
) -> Errors:
    """Messages keyed by form field. `fields` maps a model location to the field that holds
    it; a refusal that names no known field is shown at the top of the form."""
    if isinstance(error, ApiError):
        by_name = {loc[-1]: name for loc, name in fields.items()}
        return {by_name.get(error.field or "", FORM_ERROR): error.wording or error.message}
    result: Errors = {}
    for problem in error.errors():
        location = tuple(problem["loc"])
        english = problem["msg"].removeprefix("Value error, ")
        name = _closest(location, fields) if location else _named_in(english, fields)
        result.setdefault(name, problem_message(problem))
    return result


# Pydantic's own checks, by error type: the reason (domain/refusals.py) a page words them
# with, and the context value that fills its %(limit)s or %(expected)s.
_PYDANTIC_REASONS: dict[str, tuple[str, str | None]] = {
    "missing": ("field_required", None),
    "string_too_short": ("too_short", "min_length"),
    "too_short": ("field_required", None),
    "string_too_long": ("too_long", "max_length"),
    "too_long": ("too_many", "max_length"),
    "date_parsing": ("not_a_date", None),
    "date_from_datetime_parsing": ("not_a_date", None),
    "date_from_datetime_inexact": ("not_a_date", None),
    "date_type": ("not_a_date", None),
    "decimal_parsing": ("not_a_number", None),
    "decimal_type": ("not_a_number", None),
    "float_parsing": ("not_a_number", None),
    "int_parsing": ("not_an_integer", None),
    "int_type": ("not_an_integer", None),
    "greater_than": ("not_above", "gt"),
    "greater_than_equal": ("below", "ge"),
    "less_than": ("not_below", "lt"),
    "less_than_equal": ("above", "le"),
    "decimal_max_digits": ("too_many_digits", "max_digits"),
    "decimal_max_places": ("too_many_places", "decimal_places"),
    "literal_error": ("not_a_choice", "expected"),
    "enum": ("not_a_choice", "expected"),
    "string_pattern_mismatch": ("wrong_format", None),
}


def problem_message(problem: Any) -> str | Wording:
    """A validation problem in words the page can translate: a refusal of the domain's own
    (carried as the error's type, see `refused_input`), one of pydantic's checks, or the
    message itself (the domain marks its fixed messages for the catalogues)."""
    context = problem.get("ctx") or {}
    if problem["type"] in REASONS and isinstance(context.get("values"), dict):
        return Wording(problem["type"], context["values"])
    known = _PYDANTIC_REASONS.get(problem["type"])
    if known is None:
        return str(problem["msg"]).removeprefix("Value error, ")
    reason, key = known
    if reason == "too_short" and context.get(key) == 1:
        reason, key = "field_required", None  # a minimum of one character: "not empty"
    if key is None:
        return Wording.of(reason)
    name = "expected" if reason == "not_a_choice" else "limit"
    return Wording.of(reason, **{name: str(context.get(key, ""))})


def _named_in(message: str, fields: dict[tuple[str | int, ...], str]) -> str:
    """A rule across fields names the field it wants in its message: the first one named."""
    found = [
        (match.start(), name)
        for loc, name in fields.items()
        if (match := re.search(rf"\b{re.escape(str(loc[-1]))}\b", message))
    ]
    return min(found)[1] if found else FORM_ERROR


def _closest(location: tuple[Any, ...], fields: dict[tuple[str | int, ...], str]) -> str:
    while location:
        if location in fields:
            return fields[location]
        location = location[:-1]
    return FORM_ERROR

"""Form posts: the CSRF check, and refusals turned into a message next to the field."""

import re
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.errors import ApiError
from domain.refusals import Wording
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
        message = problem["msg"].removeprefix("Value error, ")
        name = _closest(location, fields) if location else _named_in(message, fields)
        result.setdefault(name, message)
    return result


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

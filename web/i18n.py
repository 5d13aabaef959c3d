"""Page strings in Kazakh, Russian and English from Babel catalogues.

The `.po` files are the source; they are compiled in memory when first used, so a fresh
clone (or `pip install -e .`) needs no build step and no generated `.mo` files are kept.
"""

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from domain.lifecycle import AuditStatus
from domain.wording import N_ as N_  # page code marks its messages with the domain's marker

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALES = Path(__file__).resolve().parent / "locales"
STATUS_NAMES: dict[str, str] = {
    AuditStatus.ISSUED: N_("Issued"),
    AuditStatus.AWAITING_RESPONSE: N_("Awaiting response"),
    AuditStatus.UNDER_REVIEW: N_("Under review"),
    AuditStatus.FULFILLED: N_("Fulfilled (paid)"),
    AuditStatus.EXPLANATION_ACCEPTED: N_("Explanation accepted"),
    AuditStatus.UNFULFILLED: N_("Decided unfulfilled"),
    AuditStatus.APPEALED: N_("Appealed"),
    AuditStatus.CANCELLED: N_("Cancelled"),
}


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English is the source text itself)."""
    path = catalogue_path(language)
    if language not in LANGUAGES or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def pick(*candidates: str | None) -> str:
    """The first supported language among `candidates` (cookie, case, browser), else ru."""
    for candidate in candidates:
        if candidate and candidate[:2].lower() in LANGUAGES:
            return candidate[:2].lower()
    return "ru"

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

LANGUAGES = ("kk", "ru", "en")
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
LOCALES = Path(__file__).resolve().parent / "locales"


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


def N_(message: str) -> str:
    """Marks a fixed message for the catalogue; pages translate it when they show it."""
    return message


def pick(*candidates: str | None) -> str:
    """The first supported language among `candidates` (cookie, case, browser), else ru."""
    for candidate in candidates:
        if candidate and candidate[:2].lower() in LANGUAGES:
            return candidate[:2].lower()
    return "ru"

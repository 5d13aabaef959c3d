"""Marking English text for the page catalogues (web/locales) where it is written.

The domain has no reader and no language: it only marks its sentences with `N_` so that the
catalogue extraction finds them, and the pages translate them when they show them.
"""


def N_(message: str) -> str:
    """Marks a fixed message for the catalogue; pages translate it when they show it."""
    return message

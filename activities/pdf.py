"""Issued documents as PDF/A-2b: Typst compiles the document's own template (in its `typst`
mode) from the same context as the HTML, with a QR code that leads to its verification.

Only Typst's built-in fonts are used (they cover Kazakh Cyrillic and ₸): a document looks the
same from any worker, and no font scan of the machine is paid for each one. Each thread keeps
one Typst compiler, whose caches make the next document about a third cheaper to lay out.
"""

import tempfile
import threading
from pathlib import Path
from typing import Any

import segno
import typst

from activities.rendering import render_typst

# Choosing the "best" of the eight QR masks costs more than laying out the whole page, and any
# mask reads the same: a fixed one.
_QR_MASK = 0


class PdfError(Exception):
    """The template produced Typst that does not compile: a fault in the template, not the case."""


class _Typesetter(threading.local):
    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="typst-")
        self.source = Path(self._folder.name) / "document.typ"
        self.source.write_text("")
        self.compiler = typst.Compiler(str(self.source), ignore_system_fonts=True)

    def compile(self, source: str) -> bytes:
        self.source.write_text(source, encoding="utf-8")
        pdf = self.compiler.compile(format="pdf", pdf_standards="a-2b")
        assert isinstance(pdf, bytes)  # one PDF, never pages as images
        return pdf


_TYPESETTER = _Typesetter()


def verification_url(public_base_url: str, number: str, sha256: str) -> str:
    """Where a holder of the paper or the file checks it: the number and the content hash."""
    return f"{public_base_url.rstrip('/')}/verify/{number}?sha256={sha256}"


def compile_pdf(
    kind: str,
    language: str,
    context: dict[str, Any],
    *,
    verify_url: str,
    signer_subject: str,
    signer_serial: str,
) -> bytes:
    qr = segno.make(verify_url, error="m", mask=_QR_MASK).svg_inline(scale=4, border=0)
    source = render_typst(
        kind,
        language,
        {
            **context,
            "verification": {"url": verify_url, "qr_svg": qr},
            "seal": {"subject": signer_subject, "serial": signer_serial},
        },
    )
    try:
        return _TYPESETTER.compile(source)
    except typst.TypstError as error:
        raise PdfError(str(error)) from error

"""Issued documents as PDF/A-2b: Typst compiles the document's own template (in its `typst`
mode) from the same context as the HTML, with a QR code that leads to its verification."""

from typing import Any

import segno
import typst

from activities.rendering import render_typst


class PdfError(Exception):
    """The template produced Typst that does not compile: a fault in the template, not the case."""


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
    qr = segno.make(verify_url, error="m").svg_inline(scale=4, border=0)
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
        pdf: bytes = typst.compile(source.encode(), format="pdf", pdf_standards="a-2b")
    except typst.TypstError as error:
        raise PdfError(str(error)) from error
    return pdf

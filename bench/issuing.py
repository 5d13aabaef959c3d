"""Cost of issuing a document: HTML and text, the PDF/A, its signature, one after another on
one worker thread, per document kind and language.

    python -m bench.issuing [--rounds 20]

Prints, per kind, the mean milliseconds of each step and documents per second for the whole
issue (render + PDF + sign), with the development authority's RSA-2048 key.
"""

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activities.pdf import compile_pdf, verification_url
from activities.rendering import LANGUAGES, render
from activities.seal import Seal, load_seal
from config import Settings
from domain.notices import DocumentKind
from tests.test_templates import context


def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = step()
    return value, time.perf_counter() - start


def issue(seal: Seal, kind: DocumentKind, language: str) -> tuple[float, float, float]:
    values = context(kind)
    values["case"]["party"] = {"address": "Astana, Mangilik El 8"}
    rendered, html_s = timed(lambda: render(kind, language, values))
    url = verification_url("http://127.0.0.1:8000", values["doc"]["number"], rendered.sha256)
    pdf, pdf_s = timed(
        lambda: compile_pdf(
            kind,
            language,
            values,
            verify_url=url,
            signer_subject=seal.subject,
            signer_serial=seal.serial,
        )
    )
    _, sign_s = timed(lambda: seal.sign(pdf, rendered.title))
    return html_s, pdf_s, sign_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        seal = load_seal(Settings(data_dir=Path(folder)))
        for kind in DocumentKind:  # warm-up: templates compiled, fonts loaded
            issue(seal, kind, "kk")
        print(f"{rounds} rounds x {len(LANGUAGES)} languages per kind, one thread")
        print(f"{'kind':24}{'html+text ms':>14}{'pdf ms':>10}{'sign ms':>10}{'docs/s':>10}")
        totals: list[float] = []
        for kind in DocumentKind:
            runs = [issue(seal, kind, lang) for _ in range(rounds) for lang in LANGUAGES]
            html, pdf, sign = (statistics.mean(step) * 1000 for step in zip(*runs, strict=True))
            totals += [sum(run) for run in runs]
            rate = 1000 / (html + pdf + sign)
            print(f"{kind:24}{html:>14.1f}{pdf:>10.1f}{sign:>10.1f}{rate:>10.1f}")
        print(f"{'all documents':24}{'':>34}{len(totals) / sum(totals):>10.1f}")


if __name__ == "__main__":
    main()

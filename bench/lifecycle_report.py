"""The figures of `bench.lifecycle`: each kind's rounds as one run, side by side, with the
lifecycle's ratio to each yardstick."""

import os
import statistics
from collections import Counter
from typing import Any


def combined(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds of one kind as one run: times added up; history as its first round's."""
    total = {key: sum(run[key] for run in runs) for key in SUMMED}
    latency = [seconds for run in runs for seconds in run.get("start_latency", [])]
    return {**runs[0], **total, "start_latency": latency}


SUMMED = ("wall", "app_cpu", "server_cpu", "activity_work")


def report(figures: dict[str, dict[str, Any]], count: int) -> None:
    names = list(figures)
    print(f"{count} cases of each kind, one dev server, {os.cpu_count()} cores")
    print(f"{'':28}" + "".join(f"{name:>12}" for name in names) + "   lifecycle ÷ yardstick")

    def row(label: str, values: list[float], fmt: str = ".2f") -> None:
        cells = "".join(f"{value:>12{fmt}}" for value in values)
        ratios = "".join(
            f"{values[-1] / value:>11.2f}" if value else f"{'':>11}" for value in values[:-1]
        )
        print(f"{label:28}{cells}{ratios}")

    def per_case(key: str) -> list[float]:
        return [1000 * figures[name][key] / count for name in names]

    row("throughput (cases/s)", [count / figures[name]["wall"] for name in names])
    row("app CPU per case (ms)", per_case("app_cpu"))
    row("server CPU per case (ms)", per_case("server_cpu"))
    total = [
        1000 * (figures[name]["app_cpu"] + figures[name]["server_cpu"]) / count for name in names
    ]
    row("all CPU per case (ms)", total)
    work = per_case("activity_work")
    row("  of which activities (ms)", work)
    row("  all CPU less that (ms)", [t - w for t, w in zip(total, work, strict=True)])
    row("history events per case", [figures[name]["events"] for name in names], ".0f")
    row("history bytes per case", [figures[name]["bytes"] for name in names], ".0f")
    ordered = sorted(figures["lifecycle"]["start_latency"])
    p50, p95 = statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]
    print(f"POST /audits p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")


def report_activities(seconds: dict[str, float], calls: Counter[str], count: int) -> None:
    print(f"\n{'lifecycle: activity CPU per case':40}{'ms':>8}{'calls':>8}")
    for name, spent in sorted(seconds.items(), key=lambda item: -item[1]):
        print(f"{name:40}{1000 * spent / count:>8.2f}{calls[name] / count:>8.1f}")

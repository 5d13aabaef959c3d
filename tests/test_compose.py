"""docker-compose.yml cannot run here (no Docker engine); keep it consistent with the code."""

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

import cli
from config import Settings

ROOT = Path(__file__).resolve().parent.parent
LONG_RUNNING = {"temporal-db", "temporal", "temporal-ui", "app-db", "worker", "api"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    result: dict[str, Any] = compose["services"]
    return result


def test_every_part_is_there_with_a_pinned_image_and_health_check(
    services: dict[str, Any],
) -> None:
    assert set(services) == LONG_RUNNING | {"setup"}
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], name
    for name in ("temporal-db", "temporal", "temporal-ui", "app-db"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:\d[\w.]*", image), f"{name} image is not pinned: {image}"
    assert services["temporal"]["environment"]["DB"].startswith("postgres")


def test_app_services_run_real_cli_commands(services: dict[str, Any]) -> None:
    known = {"dev", "worker", "api", "migrate", "check", "register-search-attributes", "token"}
    known |= {"schedules", "declarations", "postal-items", "rates"}
    parser_commands = _cli_subcommands()
    assert parser_commands == known
    commands = {
        "setup": shlex.split(services["setup"]["command"][-1]),
        "worker": services["worker"]["command"],
        "api": services["api"]["command"],
    }
    used = {word for words in commands.values() for word in words} & known
    assert {"migrate", "register-search-attributes", "worker", "api"} <= used
    assert services["worker"]["healthcheck"]["test"][1:] == ["customs-audit", "check"]


def test_app_environment_names_real_settings(services: dict[str, Any]) -> None:
    settings_fields = {name.upper() for name in Settings.model_fields}
    for name in ("setup", "worker", "api"):
        environment = services[name]["environment"]
        assert set(environment) <= settings_fields, set(environment) - settings_fields
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert environment["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert "depends_on" in services[name]
    assert services["api"]["environment"]["API_HOST"] == "0.0.0.0"
    assert "8233:8080" in services["temporal-ui"]["ports"]


def test_no_secret_is_written_in_the_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if any(word in line for word in ("PASSWORD", "TOKEN")) and ":" in line:
            assert "${" in line, line


def _cli_subcommands() -> set[str]:
    subparsers = next(
        action
        for action in cli.build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return set(subparsers.choices)

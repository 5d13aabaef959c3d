"""The image has everything the project needs: the Docker build context (the project minus
.dockerignore) is installed the way the Dockerfile installs it, into a folder of its own, and
run from elsewhere — every module imports, every template renders, the rate tables and the
migrations are there. A package or data file the installed project lacks fails here, as it
would fail in the container (there is no Docker engine to build it here)."""

import fnmatch
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SMOKE = """
import importlib, pkgutil, sys
from pathlib import Path
target = Path(sys.argv[1])
names = [m.name for m in pkgutil.walk_packages([str(target)]) if not m.name.startswith("_")]
roots = set(sys.argv[2:])
# migrations/env.py runs only under Alembic; `upgrade` below runs it the way it is meant to
project = [n for n in names if n.split(".")[0] in roots and not n.endswith("migrations.env")]
for name in project:
    importlib.import_module(name)
from activities.rendering import _environment
environment = _environment(autoescape=True)
templates = environment.list_templates(extensions=["j2"])
for name in templates:
    environment.get_template(name)
from db.reference import load_rate_tables
load_rate_tables()
from db.migrate import upgrade
upgrade("sqlite:///" + str(Path(sys.argv[1]).parent / "smoke.db"))
print(len(project), len(templates))
"""


def _ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatch(relative, pattern.removeprefix("**/"))
        or any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in parts)
        for pattern in patterns
    )


def test_the_docker_context_installs_a_complete_project(tmp_path: Path) -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "COPY . ." in (ROOT / "Dockerfile").read_text()
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    context = tmp_path / "context"
    for relative in tracked:
        if (ROOT / relative).is_file() and not _ignored(relative, patterns):
            (context / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, context / relative)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    packages = sorted({p.split("/")[0] for p in tracked if p.endswith("/__init__.py")})
    packages = [p for p in packages if p != "tests"]
    smoke = subprocess.run(
        [sys.executable, "-c", SMOKE, str(target), *packages, "cli", "config", "worker"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    modules, templates = map(int, smoke.stdout.split())
    assert modules > 50 and templates == len(list((ROOT / "templates").rglob("*.j2")))

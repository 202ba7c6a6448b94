"""Shared fixtures: a stable terminal, a CLI runner that reports exit code and output, copies of programmes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = ["smtp_server"]  # the real SMTP server fixture (tests/smtp_server.py)

os.environ["COLUMNS"] = "120"
os.environ["TERMINAL_WIDTH"] = "120"
os.environ["NO_COLOR"] = "1"
os.environ.pop("FORCE_COLOR", None)

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "programmes" / "example"
EXTERNAL = REPO.parent / "shared" / "external"


@pytest.fixture
def example_programme(tmp_path: Path) -> Path:
    """A private copy of the bundled example programme (without any earlier outputs)."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("out", ".mentorctl", "logs"))
    return target


@pytest.fixture
def run_cli():
    """Run `mentorctl ARGS…` in-process; returns the click Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from mentorctl.cli.main import app

    runner = CliRunner()

    def invoke(*args: str, **kwargs):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def external() -> Path:
    """The real rosters beside the checkout (../shared/external); CI has them too."""
    if not EXTERNAL.exists():
        pytest.fail(f"{EXTERNAL} is missing: the external rosters must sit beside the checkout")
    return EXTERNAL


@pytest.fixture
def small_programme(tmp_path: Path):
    """Write a small one-to-one programme: `small_programme(name, mentors_csv, mentees_csv, **sections)`, where
    sections are programme.yaml sections merged over a minimal definition; returns the folder."""
    import yaml

    def write(name: str, mentors: str, mentees: str, **sections) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "mentors.csv").write_text(mentors)
        (folder / "mentees.csv").write_text(mentees)
        data = {"programme": {"name": name}, "design": {"start_date": "2027-03-01"},
                "rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv"}}
        for key, value in sections.items():
            data[key] = {**data[key], **value} if isinstance(data.get(key), dict) else value
        (folder / "programme.yaml").write_text(yaml.safe_dump(data))
        return folder

    return write


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """`golden(name, text)`: compare text with tests/golden/NAME (or rewrite it with --update-golden)."""
    folder = Path(__file__).parent / "golden"

    def check(name: str, text: str) -> None:
        path = folder / name
        if request.config.getoption("--update-golden"):
            folder.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"no golden file {path}; run pytest --update-golden once"
        assert text == path.read_text(encoding="utf-8"), f"{name} differs from tests/golden (intended? --update-golden)"

    return check

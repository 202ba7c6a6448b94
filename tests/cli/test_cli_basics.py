"""The CLI as a whole: every command has help with an example; start-up imports no heavy library."""

from __future__ import annotations

import subprocess
import sys

import typer.main

from mentorctl.cli.main import app

HEAVY = ("pandas", "numpy", "ortools", "jinja2", "openpyxl", "scipy", "pydantic", "yaml")


def test_every_command_has_help_with_an_example(run_cli):
    commands = typer.main.get_command(app).commands
    assert {"init", "validate", "match", "explain", "packs", "remind", "schedule", "upcoming", "report"} <= set(commands)
    for name in commands:
        result = run_cli(name, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, f"`mentorctl {name} --help` shows no example"


def test_help_imports_no_heavy_library():
    code = ("import sys; from mentorctl.cli.main import app; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"importing the CLI loads {loaded}: import them inside the command bodies"


def test_version_and_no_args(run_cli):
    assert run_cli("--version").stdout.startswith("mentorctl ")
    result = run_cli()
    assert "validate" in result.stdout


def test_python_dash_m_runs_and_user_errors_exit_2_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mentorctl", "validate", str(tmp_path / "missing")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_a_path_that_is_a_file_is_a_clear_error(tmp_path, run_cli):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    result = run_cli("init", "p", "--dir", blocker)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and "check the path" in result.stderr and "Traceback" not in result.output


def test_readme_shows_the_two_commands_and_every_command():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    for name in typer.main.get_command(app).commands:
        assert f"mentorctl {name}" in readme, f"README does not show `mentorctl {name}`"

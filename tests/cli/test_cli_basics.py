"""The CLI as a whole: every command has help with an example; start-up imports no heavy library."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from mentorctl.cli.main import COMMANDS, app, command_names

HEAVY = ("pandas", "numpy", "ortools", "jinja2", "openpyxl", "scipy", "pydantic", "yaml")


def test_every_command_has_help_with_an_example(run_cli):
    commands = typer.main.get_command(app).commands
    assert {"init", "validate", "match", "explain", "packs", "remind", "schedule", "upcoming", "report"} <= set(commands)
    for name in commands:
        result = run_cli(name, "--help")
        assert result.exit_code == 0
        assert "Example" in result.stdout, f"`mentorctl {name} --help` shows no example"


def test_the_command_table_lists_every_command_of_every_module_once():
    import importlib

    from typer.core import TyperGroup

    modules = {module for _, module, _ in COMMANDS}
    defined = []
    for module in sorted(modules):
        built = typer.main.get_command(importlib.import_module(f"mentorctl.cli.{module}").app)
        names = list(built.commands) if isinstance(built, TyperGroup) else [built.name]
        defined += names
        assert names == [name for name, where, _ in COMMANDS if where == module], module
    assert sorted(defined) == sorted(command_names()) and len(set(defined)) == len(defined)
    assert all(len(line) <= 64 and line.endswith(".") for _, _, line in COMMANDS)  # one line at 80 columns


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


def _loaded_by(code: str) -> set[str]:
    """The modules (of HEAVY and Rich) a fresh interpreter has loaded after running `code`."""
    probe = (f"import sys\n{code}\n"
             f"sys.stderr.write('LOADED:' + ','.join(m for m in {(*HEAVY, 'rich')!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return set(filter(None, result.stderr.rpartition("LOADED:")[2].strip().split(",")))


def test_help_renders_without_heavy_libraries_or_rich():
    run = ("from mentorctl.cli.main import run\nsys.argv = ['mentorctl', '--help']\n"
           "try:\n    run()\nexcept SystemExit:\n    pass")
    assert _loaded_by(run) == set(), "`mentorctl --help` must stay plain: no heavy library, no Rich"
    one = run.replace("'--help'", "'match', '--help'")
    assert _loaded_by(one) <= {"pydantic"}   # Typer itself checks option values (--workers' minimum) with pydantic


def test_no_send_flag_is_shown_as_taking_a_value(run_cli):
    for name in ("packs", "remind", "shortlist", "requests"):
        text = run_cli(name, "--help").stdout
        assert re.search(r"^\s+--send\s+Send through the SMTP server", text, re.M), f"{name}: {text}"
        assert "<bool>" not in text and "--no-send" not in text


def test_every_command_takes_the_programme_folder_as_an_optional_first_argument(run_cli):
    for name in ("validate", "match", "explain", "packs", "remind", "schedule", "upcoming", "report",
                 "shortlist", "requests"):
        usage = run_cli(name, "--help").stdout.splitlines()[0]
        assert usage.startswith(f"Usage: mentorctl {name} [OPTIONS] [PROGRAMME]"), usage
    assert run_cli("explain", "--help").stdout.startswith("Usage: mentorctl explain [OPTIONS] [PROGRAMME] ID")


def test_show_completion_prints_a_bash_script(monkeypatch):
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}  # Typer: take the shell named
    result = subprocess.run([sys.executable, "-m", "mentorctl", "--show-completion", "bash"], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "_MENTORCTL_COMPLETE=complete_bash" in result.stdout and "complete " in result.stdout


def test_completion_completes_commands_and_their_options():
    def complete(line: str) -> list[str]:
        words = line.split(" ")
        env = {**os.environ, "_MENTORCTL_COMPLETE": "complete_bash", "COMP_WORDS": line,
               "COMP_CWORD": str(len(words) - 1)}
        result = subprocess.run([sys.executable, "-m", "mentorctl"], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    assert complete("mentorctl re") == ["resume", "remind", "report", "requests"]
    assert complete("mentorctl remind --d") == ["--dry-run", "--details"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash to detect the shell from")
def test_show_completion_detects_the_shell_it_runs_in():
    command = f"{shlex.quote(sys.executable)} -m mentorctl --show-completion; true"  # `; true`: bash stays parent
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                            env={**os.environ, "SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "_MENTORCTL_COMPLETE=complete_bash" in result.stdout


def test_debug_after_the_command_shows_the_traceback(tmp_path):
    missing = str(tmp_path / "missing")
    for args in (["match", missing, "--debug"], ["--debug", "match", missing]):
        shown = subprocess.run([sys.executable, "-m", "mentorctl", *args], capture_output=True, text=True)
        assert shown.returncode != 0 and "Traceback" in shown.stderr and "ProgrammeError" in shown.stderr, args
    plain = subprocess.run([sys.executable, "-m", "mentorctl", "match", missing], capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1 and plain.stderr.startswith("Error: ")


def test_exit_codes_are_named_and_published_in_the_readme():
    from pathlib import Path

    from mentorctl.errors import ExitCode

    assert {c.name: int(c) for c in ExitCode} == {"OK": 0, "PARTIAL_FAILURE": 1, "BAD_INPUT": 2, "INFEASIBLE": 3,
                                                   "INTERRUPTED": 130}
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in ExitCode:
        assert f"\n| {int(code)} |" in section, f"README's exit codes miss {int(code)}"


def test_mutually_exclusive_flags_are_one_choice(example_programme, run_cli):
    both = run_cli("remind", example_programme, "--dry-run", "--send")
    assert both.exit_code == 2 and both.stderr.strip() == "Error: choose one of --dry-run and --send"
    two = run_cli("schedule", example_programme, "--install", "--print")
    assert two.exit_code == 2
    assert two.stderr.strip() == "Error: choose one of --install, --uninstall and --print"


def test_data_commands_print_json(example_programme, run_cli, monkeypatch):
    """`--json` prints one JSON document on stdout (messages stay on stderr), for every command whose output
    is data; `explain ID` works from inside the programme folder like the others."""
    monkeypatch.chdir(example_programme)
    matched = run_cli("match", "--json")
    assert matched.exit_code == 0, matched.stderr
    data = json.loads(matched.stdout)
    summary = data["summary"]
    assert summary["status"] == "OPTIMAL" and 0 < summary["matched"] <= summary["people"] and summary["pairs"] > 0
    assert Path(data["files"]["matches"]).name == "matches.csv" and Path(data["files"]["html"]).exists()
    pairs = (example_programme / "out" / "matches.csv").read_text().splitlines()[1:]
    mentee, mentor = pairs[0].split(",")[0], pairs[0].split(",")[3]

    here = run_cli("explain", mentee)
    assert here.exit_code == 0, here.stderr
    forgot = run_cli("explain", str(example_programme))   # a folder alone: the id is missing
    assert forgot.exit_code == 2 and "give the id of a mentee, mentor or peer" in forgot.stderr
    assert here.stdout == run_cli("explain", ".", mentee).stdout
    explained = json.loads(run_cli("explain", mentee, "--json").stdout)
    assert explained["person_id"] == mentee and explained["role"] == "mentee"
    assert [m["id"] for m in explained["matched"]] == [mentor] and explained["eligible"] <= explained["candidates"]
    assert all({"rule", "removes"} <= set(r) for r in explained["rule_removals"])

    packs = run_cli("packs", "--json")
    assert packs.exit_code == 0, packs.stderr
    rendered = json.loads(packs.stdout)
    assert rendered["preview"] is True and len(rendered["packs"]) == len({*rendered["without_email"]} |
                                                                          {p["id"] for p in rendered["packs"]})
    first = next(p for p in rendered["packs"] if p["id"] == mentee)
    assert mentor in first["counterparts"] and first["email_outcome"] == "sent"
    assert all(Path(f).exists() for f in first["files"]) and {Path(f).suffix for f in first["files"]} == {".html", ".md"}
    assert rendered["emails"]["sent"] == sum(p["email_outcome"] == "sent" for p in rendered["packs"])
    assert "Rendered" in packs.stderr   # the human lines moved to stderr

    ahead = json.loads(run_cli("upcoming", "--now", "2027-01-11", "--days", "30", "--json").stdout)
    assert ahead["timezone"] == "Europe/London" and ahead["reminders"]
    assert all({"when", "reminder", "to", "template", "recipients"} <= set(r) for r in ahead["reminders"])
    assert all(r["recipients"] is None or r["recipients"] >= 0 for r in ahead["reminders"])

    reminded = run_cli("remind", "--now", "2027-01-25T10:00", "--dry-run", "--json")
    assert reminded.exit_code == 0, reminded.stderr
    due = json.loads(reminded.stdout)
    assert due["mode"] == "dry-run" and due["ok"] is True and due["done"] == len(due["messages"]) > 0
    assert {m["outcome"] for m in due["messages"]} == {"would send"}

    report = run_cli("report", "--json")
    assert report.exit_code == 0, report.stderr
    document = json.loads(report.stdout)
    assert document == json.loads((example_programme / "out" / "report.json").read_text())

    validated = json.loads(run_cli("validate", "--json").stdout)
    assert validated["valid"] is True and validated["errors"] == []


def _console(tmp_path: Path, before: str, *args: str) -> subprocess.CompletedProcess:
    """`mentorctl ARGS…` through the console entry point in a fresh interpreter, after running `before`."""
    probe = (f"import sys\n{before}\nfrom mentorctl.cli.main import console\n"
             f"sys.argv = ['mentorctl', *{list(map(str, args))!r}]\nconsole()\n"
             "sys.stderr.write('NOT REACHED')\n")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_the_command_ends_the_process_after_flushing_its_output_and_running_exit_handlers(tmp_path,
                                                                                         example_programme):
    marker = tmp_path / "exit-handler-ran"
    handler = f"import atexit, pathlib\natexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('yes'))"
    done = _console(tmp_path, handler, "match", example_programme)
    assert done.returncode == 0, done.stderr
    assert "Wrote " in done.stdout and "matches.csv" in done.stdout     # stdout was a pipe: flushed before the end
    assert (example_programme / "out" / "matches.csv").exists()
    assert marker.read_text() == "yes" and "NOT REACHED" not in done.stderr
    missing = _console(tmp_path, "", "validate", tmp_path / "nowhere")
    assert missing.returncode == 2 and "no programme found" in missing.stderr


def test_the_command_waits_for_a_thread_still_working(tmp_path):
    """A thread that is not a daemon is still running: the process ends the normal way, which waits for it
    (ending at once would lose its work)."""
    marker = tmp_path / "thread-finished"
    worker = ("import pathlib, threading, time\n"
              f"threading.Thread(target=lambda: (time.sleep(0.5), pathlib.Path({str(marker)!r}).write_text('done')))"
              ".start()")
    done = _console(tmp_path, worker, "--help")
    assert done.returncode == 0 and "Usage" in done.stdout
    assert marker.read_text() == "done"

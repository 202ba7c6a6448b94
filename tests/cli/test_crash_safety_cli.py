"""A run killed at a write point (kill -9, simulated with os._exit in a subprocess, not with timing) leaves no
half-written output; the next run cleans its temporary files and does not refuse to overwrite mentorctl's own
files; a set of outputs mixing two runs is recognised by `validate` and `packs` (issue 15, "Never twice")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_hostile_input_cli import programme

from mentorctl.files import MANIFEST, clean_stale_temporaries, output_runs, was_edited, write_output

KILL = textwrap.dedent("""
    import os, sys
    target, when = sys.argv[1], sys.argv[2]
    real = os.replace
    def replace(src, dst, *args, **kwargs):
        hit = os.path.basename(str(dst)) == target
        if hit and when == "before":
            os._exit(137)                      # the temporary file is written, the rename never happens
        real(src, dst, *args, **kwargs)
        if hit and when == "after":
            os._exit(137)                      # renamed, but the run dies before recording it
    os.replace = replace
    from mentorctl.cli.main import run
    sys.argv = ["mentorctl", *sys.argv[3:]]
    run()
""")


def killed_run(target: str, when: str, *args: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    result = subprocess.run([sys.executable, "-c", KILL, target, when, *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=300)
    return result.returncode


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("target", ["matches.xlsx", "matches.csv", "match-summary.json", MANIFEST])
@pytest.mark.parametrize("when", ["before", "after"])
def test_match_killed_at_a_write_point(tmp_path, run_cli, target, when):
    folder = programme(tmp_path / "p")
    out = folder / "out"
    assert run_cli("match", folder).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    assert killed_run(target, when, "match", folder) == 137
    for name in ("matches.csv", "matches.xlsx", "unmatched.csv", "match-summary.json"):
        assert (out / name).stat().st_size > 0      # never truncated: the old file or the new one
        assert not was_edited(out / name), name     # and recognised as mentorctl's own either way
    if when == "before" and target != MANIFEST:
        assert temporaries(out), "the simulated kill should leave a temporary file behind"
        assert (out / target).read_bytes() == before[target]

    result = run_cli("match", folder)               # no "changed since mentorctl wrote it", no --force
    assert result.exit_code == 0, result.stdout + result.stderr
    assert temporaries(out) == []
    runs = output_runs(out, ["matches.csv", "matches.xlsx", "unmatched.csv", "match-summary.json"])
    assert len(set(runs.values())) == 1 and None not in runs.values()
    assert json.loads((out / "match-summary.json").read_text())["run_id"] == runs["matches.csv"]


def test_mixed_runs_are_reported_by_validate_and_packs(tmp_path, run_cli):
    folder = programme(tmp_path / "p")
    out = folder / "out"
    assert run_cli("match", folder).exit_code == 0
    assert killed_run("matches.csv", "before", "match", folder) == 137   # new matches.xlsx, old matches.csv

    result = run_cli("validate", folder)
    assert result.exit_code == 0
    warning = "from an earlier `mentorctl match` run than matches.xlsx"
    assert warning in result.stdout + result.stderr
    assert "the last run was interrupted: run `mentorctl match` again" in result.stdout + result.stderr
    packs = run_cli("packs", folder)
    assert packs.exit_code == 0 and warning in packs.stderr

    assert run_cli("match", folder).exit_code == 0
    assert warning not in (r := run_cli("validate", folder)).stdout + r.stderr
    assert temporaries(out) == []


def test_a_set_from_one_run_is_not_reported(tmp_path, run_cli):
    folder = programme(tmp_path / "p")
    assert run_cli("match", folder).exit_code == 0
    result = run_cli("validate", folder)
    assert "earlier `mentorctl match` run" not in result.stdout + result.stderr


def test_an_edited_matches_file_is_still_refused(tmp_path, run_cli):
    folder = programme(tmp_path / "p")
    assert run_cli("match", folder).exit_code == 0
    with (folder / "out" / "matches.csv").open("a") as handle:
        handle.write("\n")
    result = run_cli("match", folder)
    assert result.exit_code == 2 and "was changed since mentorctl wrote it" in result.stderr


def test_temporary_files_of_a_live_process_are_kept(tmp_path):
    mine = tmp_path / f".matches.csv.{os.getpid()}.abc123.tmp"
    gone = tmp_path / ".matches.csv.999999999.abc123.tmp"
    other = tmp_path / ".notes.tmp"
    for path in (mine, gone, other):
        path.write_text("x")
    assert clean_stale_temporaries(tmp_path) == [gone]
    assert mine.exists() and other.exists() and not gone.exists()


def test_write_output_records_the_run_and_the_old_manifest_format(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"a.csv": "0" * 64}))   # the first format: digest only
    (tmp_path / "a.csv").write_text("edited")
    assert was_edited(tmp_path / "a.csv")
    write_output(tmp_path / "a.csv", b"new", "run-1")
    assert not was_edited(tmp_path / "a.csv")
    assert output_runs(tmp_path, ["a.csv", "missing.csv"]) == {"a.csv": "run-1"}


@pytest.mark.parametrize("target", ["report.html", "report.xlsx"])
def test_report_killed_at_a_write_point(tmp_path, run_cli, target):
    folder = programme(tmp_path / "p")
    out = folder / "out"
    assert run_cli("report", folder).exit_code == 0
    assert killed_run(target, "before", "report", folder) == 137
    assert temporaries(out) and (out / target).stat().st_size > 0
    assert run_cli("report", folder).exit_code == 0
    assert temporaries(out) == []
    names = ["report.html", "report.xlsx", "report.md", "report.json"]
    runs = output_runs(out, names)
    assert set(runs) == set(names) and len(set(runs.values())) == 1 and None not in runs.values()

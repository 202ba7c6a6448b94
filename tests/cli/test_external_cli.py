"""The real rosters nobody on the team wrote (../shared/external), through the CLI: validate, match, explain."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAMMES = ["graduate-peer-2022", "ibm-hr", "civil-service"]


@pytest.mark.parametrize("name", PROGRAMMES)
def test_external_programme_validates_and_matches_optimally(name, external_programme, run_cli, tmp_path):
    folder = external_programme(name)
    validated = run_cli("validate", folder, "--json")
    assert validated.exit_code == 0, validated.stdout
    result = run_cli("match", folder, "--out", tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "match-summary.json").read_text())
    assert summary["status"] == "OPTIMAL" and summary["proof"]["proven"]
    pairs = pd.read_csv(tmp_path / "matches.csv", dtype=str)
    assert len(pairs) == summary["matched"] > 0
    assert not pairs.duplicated(["mentee_id", "mentor_id"]).any()
    assert (pairs["mentee_id"] != pairs["mentor_id"]).all()
    explained = run_cli("explain", folder, pairs["mentee_id"].iloc[0], "--matches", tmp_path / "matches.csv")
    assert explained.exit_code == 0 and pairs["mentor_id"].iloc[0] in explained.stdout


def test_graduate_form_capacities_and_lists_are_respected(external_programme, run_cli, tmp_path):
    folder = external_programme("graduate-peer-2022")
    assert run_cli("match", folder, "--out", tmp_path).exit_code == 0
    pairs = pd.read_csv(tmp_path / "matches.csv", dtype=str)
    load = pairs["mentor_id"].value_counts()
    from mentorctl import load_participants, load_programme

    mentors = load_participants(load_programme(folder)).mentors.frame.set_index("id")
    assert (load <= mentors.loc[load.index, "capacity"]).all()
    assert len(pairs) == 19  # every mentee: 27 places for 19 mentees
    assert pairs["shared_fields"].astype(float).sum() > 0  # comma-separated sub-disciplines overlap


def test_graduate_numeric_emails_block_sending_only(external_programme, run_cli):
    folder = external_programme("graduate-peer-2022")
    (folder / "programme.yaml").write_text((folder / "programme.yaml").read_text()
                                           + "\nemail:\n  from: a@example.org\n  smtp: {host: 127.0.0.1}\n")
    assert run_cli("match", folder).exit_code == 0
    result = run_cli("packs", folder, "--send")
    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert "is not an email address" in output and "Traceback" not in output


def test_people_the_programme_excludes_are_not_counted_as_unmatched(external_programme, run_cli, tmp_path):
    folder = external_programme("ibm-hr")  # design.eligibility admits junior staff as mentees only
    assert run_cli("match", folder, "--out", tmp_path).exit_code == 0
    summary = json.loads((tmp_path / "match-summary.json").read_text())
    assert summary["people"] + summary["excluded"] == 1470 and summary["excluded"] > 0
    assert summary["match_rate"] == summary["matched"] / summary["people"]
    assert set(summary["report_by"]["job_level"]) <= {"1", "2"}  # only the admitted levels, shown as integers

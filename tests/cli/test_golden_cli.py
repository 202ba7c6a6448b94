"""The bundled example end to end, compared with golden files (regenerate with `pytest --update-golden`)."""

from __future__ import annotations

import json


def test_example_validate_json(example_programme, run_cli, golden):
    result = run_cli("validate", example_programme, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    data["programme"] = "programmes/example/programme.yaml"
    golden("example-validate.json", json.dumps(data, indent=2, sort_keys=True) + "\n")


def test_example_matches_and_unmatched(example_programme, run_cli, golden):
    assert run_cli("match", example_programme).exit_code == 0
    out = example_programme / "out"
    golden("example-matches.csv", (out / "matches.csv").read_text())
    golden("example-unmatched.csv", (out / "unmatched.csv").read_text())
    summary = json.loads((out / "match-summary.json").read_text())
    stable = {k: summary[k] for k in ("status", "objective", "objective_value", "optimality", "matched",
                                      "unmatched", "report_by")}
    golden("example-match-summary.json", json.dumps(stable, indent=2, sort_keys=True) + "\n")

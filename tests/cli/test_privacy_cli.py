"""Private fields may steer matching but never reach participants: packs, emails, explain."""

from __future__ import annotations


def test_private_scoring_terms_and_rules_are_not_revealed(small_programme, run_cli):
    folder = small_programme(
        "p", "id,name,email,gender,age,skills\nA,Ann,ann@example.org,f,61,x;y\nB,Bob,bob@example.org,m,30,x\n",
        "id,name,email,gender,age,goals\nU,Uma,uma@example.org,f,25,x\nV,Vic,vic@example.org,m,29,y\n"
        "W,Wes,wes@example.org,m,70,x\n",
        private=["gender", "age"],
        matching={"mentor_capacity": 1,
                  "eligibility": ["abs(mentor.age - mentee.age) <= 36"],
                  "scoring": [{"name": "same_gender", "expr": "mentor.gender == mentee.gender", "weight": 2},
                              {"name": "age_gap", "expr": "mentor.age - mentee.age", "weight": 0.01},
                              {"name": "skills", "expr": "overlap(mentor.skills, mentee.goals)", "weight": 1,
                               "explain": "shared skills"}]})
    validated = run_cli("validate", folder)
    assert "matching.scoring[0] (same_gender) reads a private field" in validated.stderr
    assert run_cli("match", folder).exit_code == 0
    assert run_cli("packs", folder).exit_code == 0
    texts = [p.read_text() for p in (folder / "out" / "packs").iterdir()]
    texts += [p.read_text(errors="replace") for p in (folder / "out" / "outbox").iterdir()]
    assert texts and any("you both work on x" in t.lower() for t in texts)   # the skills term, to the reader
    for text in texts:
        for leak in ("same gender", "same_gender", "age gap", "age_gap"):
            assert leak not in text.lower()
    explained = run_cli("explain", folder, "U")
    assert explained.exit_code == 0
    assert "age_gap" not in explained.stdout and "same_gender" not in explained.stdout
    assert "private terms" in explained.stdout
    unmatched = run_cli("explain", folder, "W")  # 70 vs 30/61: only the age rule decides, privately
    assert "allowed" not in unmatched.stdout and "abs(mentor.age" in unmatched.stdout


def test_match_summary_hides_small_groups(example_programme, run_cli):
    import json

    yaml_file = example_programme / "programme.yaml"
    yaml_file.write_text(yaml_file.read_text().replace("  report_by: [department, location, gender]",
                                                       "  report_by: [department, location, gender]\n  min_group_size: 30"))
    assert run_cli("match", example_programme).exit_code == 0
    gender = json.loads((example_programme / "out" / "match-summary.json").read_text())["report_by"]["gender"]
    assert "non-binary" not in gender            # a small group is pooled, never named
    assert gender["other groups (each under 30)"] == {"people": "<30", "matched": None, "rate": None}
    assert gender["female"]["people"] >= 30 and gender["female"]["rate"] is not None

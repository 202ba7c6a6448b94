"""Hostile or broken input (issue 15): every case is refused with one clear `Error:` line, exit 2, no traceback,
no hang — the numbers, dates, durations, cron expressions, YAML shapes and paths of programme.yaml, and the
dates and numbers given on the command line."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

MENTORS = "id,name,email,skills,capacity\nM1,Ann,ann@x.org,a;b,2\nM2,Bob,bob@x.org,b;c,1\n"
MENTEES = "id,name,email,goals\nE1,Cat,cat@x.org,a\nE2,Dan,dan@x.org,c\nE3,Eve,eve@x.org,b\n"
BASE = {"programme": {"name": "T", "timezone": "Europe/London", "coordinator": {"name": "C", "email": "c@x.org"}},
        "design": {"start_date": "2027-03-01"},
        "rosters": {"mentors": "mentors.csv", "mentees": "mentees.csv"},
        "matching": {"scoring": [{"name": "skills", "expr": "overlap(mentor.skills, mentee.goals)", "weight": 1}]},
        "email": {"from": "x@x.org"}}


def programme(folder: Path, change=None, *, text: str | None = None, files: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mentors.csv").write_text(MENTORS)
    (folder / "mentees.csv").write_text(MENTEES)
    data = copy.deepcopy(BASE)
    if change:
        change(data)
    (folder / "programme.yaml").write_text(text if text is not None else yaml.safe_dump(data))
    for name, content in (files or {}).items():
        (folder / name).write_bytes(content) if isinstance(content, bytes) else (folder / name).write_text(content)
    return folder


def one_clear_error(result, *fragments: str, code: int = 2) -> str:
    """Exit `code`, no traceback, exactly one `Error:` line on stderr, holding every fragment."""
    output = result.stdout + result.stderr
    assert result.exit_code == code, output
    assert "Traceback" not in output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    text = result.stderr[result.stderr.index("Error:"):]
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{output}"
    return text


def reminder(**fields):
    item = {"id": "r", "to": "mentors", "template": "checkin.md.j2", **fields}
    if not {"every", "at", "cron"} & set(fields):
        item["every"] = "1w"
    return lambda d: d.update(reminders=[item])


def setting(section: str, key: str, value):
    return lambda d: d.setdefault(section, {}).update({key: value})


def weight(value):
    return lambda d: d["matching"]["scoring"][0].update(weight=value)


CASES = {
    # numbers: finite and in range, checked where they are read
    "weight .nan": (weight(float("nan")), "matching.scoring.0.weight: nan is not a finite number"),
    "weight .inf": (weight(float("inf")), "weight: inf is not a finite number"),
    "weight 1e308": (weight(1e308), "weight: Input should be less than or equal to 1000000"),
    "weight x1e14": (weight(3e14), "less than or equal to 1000000"),
    "min_score .nan": (setting("matching", "min_score", float("nan")), "matching.min_score: nan is not a finite"),
    "capacity 1e20": (setting("matching", "mentor_capacity", 1e20), "matching.mentor_capacity: 1e+20 is far too large"),
    "capacity 20000": (setting("matching", "mentor_capacity", 20000), "less than or equal to 10000"),
    "time limit .inf": (setting("matching", "time_limit_seconds", float("inf")), "time_limit_seconds: inf is not"),
    "goal target .nan": (lambda d: d.update(goals=[{"name": "g", "kpi": "nps", "target": float("nan")}]),
                         "goals.0.target: nan is not a finite number"),
    # dates
    "start date 2027-02-30": (setting("design", "start_date", "2027-02-30"), "'2027-02-30' is not a date"),
    "start date year 1": (setting("design", "start_date", "0001-01-01"), "outside the dates mentorctl works with"),
    "start date year 9999": (setting("design", "start_date", "9999-12-01"), "1900-01-01 to 2199-12-31"),
    "start date year 1600": (setting("design", "start_date", "1600-01-01"), "outside the dates"),
    "reminder at 2027-02-30": (reminder(at="2027-02-30"), "at '2027-02-30' is not a date that exists"),
    "reminder at year 9999": (reminder(at="9999-01-01"), "outside the dates"),
    "session in year 9999": (lambda d: d.update(schedule={"training": [{"title": "t", "start": "9999-01-01 10:00"}]}),
                             "outside the dates"),
    # durations
    "every 0w": (reminder(every="0w"), "reminders.0.every: '0w' is zero; a duration must be longer than zero"),
    "every 0d": (reminder(every="0d"), "'0d' is zero"),
    "checkin_every 0d": (setting("design", "checkin_every", "0d"), "design.checkin_every: '0d' is zero"),
    "every 99999999999w": (reminder(every="99999999999w"), "longer than mentorctl's limit of 3,660 days"),
    "when_inactive_for huge": (lambda d: (reminder(when_inactive_for="99999999999w", to="pairs")(d),
                                          d.update(reporting={"activity": ["a.csv"]})), "limit of 3,660 days"),
    "every minute": (reminder(every="1m"), "would fire more than 10,000 times"),
    # cron
    "cron that never fires": (reminder(cron="0 0 30 2 *"), "cron '0 0 30 2 *' never fires"),
    "cron with seconds": (reminder(cron="*/5 0 9 * * *"), "has no seconds or years field"),
    "cron every minute": (reminder(cron="* * * * *"), "would fire more than 10,000 times"),
    # paths and formats
    "template ../": (reminder(template="../../../etc/passwd"), "must be a file name in the programme's templates/"),
    "template absolute": (reminder(template="/etc/passwd"), "not a path outside it"),
    "training template ../": (lambda d: d.update(schedule={"training_reminders": {"template": "../x.md.j2"}}),
                              "not a path outside it"),
    "list_separator ''": (setting("rosters", "list_separator", ""), "rosters.list_separator"),
    "date_format %Q": (lambda d: d.update(reporting={"activity": [{"path": "a.csv", "date_format": "%Q"}]}),
                       "date_format '%Q' is not a strftime format"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_programme_yaml_mistakes_are_one_clear_error(tmp_path, run_cli, case):
    change, fragment = CASES[case]
    folder = programme(tmp_path / "p", change)
    one_clear_error(run_cli("match", folder), fragment)
    result = run_cli("validate", folder)
    assert result.exit_code == 2 and "Traceback" not in result.stdout + result.stderr
    assert fragment in result.stdout + result.stderr


def test_yaml_alias_bomb_is_refused_before_expanding(tmp_path, run_cli):
    bomb = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))
    text = yaml.safe_dump(BASE) + "l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + bomb  # 81 aliases → 9**10 values
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)),
                    "expands to more than 100,000 values once its aliases")


def test_yaml_with_many_aliases_is_refused(tmp_path, run_cli):
    text = yaml.safe_dump(BASE) + "a: &a 1\nb: [" + ", ".join(["*a"] * 150) + "]\n"
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)), "more than 100 YAML aliases")


def test_yaml_merge_key_bomb_is_refused(tmp_path, run_cli):
    lines = ["m0: &m0 {k0: 1, k1: 1}"] + [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], x{i}: 1}}" for i in range(1, 30)]
    text = yaml.safe_dump(BASE) + "\n".join(lines) + "\n"
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)), "programme.yaml")


def test_yaml_merge_key_is_a_clear_error(tmp_path, run_cli):
    text = yaml.safe_dump(BASE) + "base: &b {x: 1}\nother: {<<: *b, y: 2}\n"
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)), "merge keys (<<) are not supported")


def test_deeply_nested_yaml_is_refused(tmp_path, run_cli):
    text = yaml.safe_dump(BASE) + "deep: " + "[" * 50_000 + "]" * 50_000 + "\n"
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)), "nested more than 50 levels deep")


def test_huge_programme_yaml_is_refused(tmp_path, run_cli):
    text = yaml.safe_dump(BASE) + "purpose: " + "x" * (1024 * 1024 + 10) + "\n"
    one_clear_error(run_cli("match", programme(tmp_path / "p", text=text)), "larger than mentorctl's limit of 1 MiB")


def test_nested_brackets_in_a_rule_are_refused(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["matching"].update(eligibility=["[" * 50_000]))
    one_clear_error(run_cli("match", folder), "matching.eligibility[0]")


@pytest.mark.parametrize("now", ["0001-01-01", "9999-12-31", "9999-12-31T23:00", "1600-03-01T10:00"])
@pytest.mark.parametrize("command", ["remind", "upcoming"])
def test_now_outside_the_supported_dates(tmp_path, run_cli, command, now):
    folder = programme(tmp_path / "p", reminder())
    extra = ["--dry-run"] if command == "remind" else []
    one_clear_error(run_cli(command, folder, "--now", now, *extra), "outside the dates mentorctl works with")


def test_now_that_does_not_exist(tmp_path, run_cli):
    folder = programme(tmp_path / "p", reminder())
    one_clear_error(run_cli("remind", folder, "--now", "2027-02-30", "--dry-run"), "is not an ISO date")


def test_upcoming_days_beyond_the_limit_is_a_usage_error(tmp_path, run_cli):
    result = run_cli("upcoming", programme(tmp_path / "p", reminder()), "--days", str(10**9))
    assert result.exit_code == 2 and "Traceback" not in result.stdout + result.stderr
    assert "3660" in result.stderr


@pytest.mark.parametrize("period", ["0001-01-01..9999-12-31", "2027-01-01..9999-12-31", "1600-01-01..2027-01-01"])
def test_report_period_outside_the_supported_dates(tmp_path, run_cli, period):
    one_clear_error(run_cli("report", programme(tmp_path / "p"), "--period", period), "outside the dates")


def test_report_period_beyond_the_limit(tmp_path, run_cli):
    one_clear_error(run_cli("report", programme(tmp_path / "p"), "--period", "1901-01-01..2199-01-01"),
                    "longer than mentorctl's limit of 7,320 days")


def test_programme_reaching_past_the_supported_dates_needs_a_period(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["design"].update(start_date="2199-06-01", length_weeks=520))
    one_clear_error(run_cli("report", folder), "the programme's dates (2199-06-01 to", "give --period inside them")


def test_schedule_when_with_seconds_is_refused(tmp_path, run_cli):
    one_clear_error(run_cli("schedule", programme(tmp_path / "p"), "--when", "*/5 * * * * *"), "five fields")


@pytest.mark.parametrize("capacity", ["1e20", "20000", "1e400"])
def test_roster_capacity_beyond_the_limit_is_checked_at_the_source(tmp_path, run_cli, capacity):
    folder = programme(tmp_path / "p", files={"mentors.csv": MENTORS.replace(",2\n", f",{capacity}\n")})
    text = one_clear_error(run_cli("match", folder), "mentors.csv", "row 2", "column capacity",
                           "more than mentorctl's limit of 10,000 mentees per mentor")
    assert "pin" not in text and "-9223372036854775808" not in text


def test_rich_markup_in_roster_names_is_printed_as_written(tmp_path, run_cli):
    mentors = MENTORS.replace("Ann", "[/x]").replace("Bob", "[red]Bob[/red] [bold]")
    folder = programme(tmp_path / "p", reminder(), files={"mentors.csv": mentors})
    result = run_cli("remind", folder, "--now", "2027-03-09T10:00", "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "[/x]" in result.stdout and "[red]Bob[/red] [bold]" in result.stdout
    assert run_cli("match", folder).exit_code == 0
    explained = run_cli("explain", folder, "M2")
    assert explained.exit_code == 0 and "[red]Bob[/red] [bold]" in explained.stdout


def test_markup_in_the_programme_name_is_printed_as_written(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["programme"].update(name="[/x] [red]Mentoring"))
    result = run_cli("validate", folder)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "[/x] [red]Mentoring" in result.stdout


def test_ctrl_c_exits_130_with_one_line(tmp_path, run_cli, monkeypatch):
    import mentorctl.roster

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mentorctl.roster, "load_participants", interrupted)
    result = run_cli("match", programme(tmp_path / "p"))
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted." and "Traceback" not in result.stdout + result.stderr


def test_the_entry_point_shares_the_one_error_path(tmp_path, monkeypatch, capsys):
    import mentorctl.roster
    from mentorctl.cli import console, main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    seen = []
    original = console.exit_code_for
    monkeypatch.setattr(main, "exit_code_for", lambda e: seen.append(e) or original(e))
    monkeypatch.setattr(mentorctl.roster, "load_participants", interrupted)
    monkeypatch.setattr("sys.argv", ["mentorctl", "match", str(programme(tmp_path / "p"))])
    with pytest.raises(SystemExit) as stopped:
        main.run()
    assert stopped.value.code == 130 and isinstance(seen[0], KeyboardInterrupt)
    assert capsys.readouterr().err.strip() == "Interrupted."

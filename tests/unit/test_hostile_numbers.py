"""Numbers a user can make too big for the matcher, list functions on number fields, and SMTP credentials
that are not ASCII (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from test_hostile_input_cli import one_clear_error, programme  # noqa: E402

BIG = "id,name,email,skills,capacity,years\nM1,Ann,ann@x.org,a;b,2,3e8\nM2,Bob,bob@x.org,b;c,1,5\n"


def test_scores_that_would_overflow_the_flow_name_the_term(tmp_path, run_cli):
    folder = programme(tmp_path / "p", lambda d: d["matching"]["scoring"].append(
        {"name": "tenure", "expr": "mentor.years", "weight": 1000}), files={"mentors.csv": BIG})
    text = one_clear_error(run_cli("match", folder), "pair scores reach 3e+11", "limit of ±1,000,000",
                           "scoring term 'tenure' alone reaches 3e+11: scale its weight")
    assert "RuntimeWarning" not in text


def test_infinite_scores_are_refused_without_warnings(tmp_path, run_cli):
    mentors = BIG.replace("3e8", "1e300")
    folder = programme(tmp_path / "p", lambda d: d["matching"]["scoring"].append(
        {"name": "tenure", "expr": "mentor.years * 10", "weight": 1000}), files={"mentors.csv": mentors})
    result = run_cli("match", folder)
    one_clear_error(result, "scoring term 'tenure'")
    assert "Warning" not in result.stderr


def test_overlap_and_len_on_a_number_field_are_errors(tmp_path, run_cli):
    for expr in ("overlap(mentor.capacity, mentee.goals)", "len(mentor.capacity)", "jaccard(mentee.goals, mentor.capacity)"):
        folder = programme(tmp_path / expr[:3], lambda d, e=expr: d["matching"]["scoring"].append({"name": "n", "expr": e}))
        result = run_cli("validate", folder)
        assert result.exit_code == 2, result.stdout
        assert "takes list or text fields, but mentor.capacity holds numbers" in result.stdout + result.stderr
        one_clear_error(run_cli("match", folder), "mentor.capacity holds numbers")


def test_non_ascii_smtp_password_logs_in(smtp_server, tmp_path):
    from email.message import EmailMessage

    from mentorctl.ledger import Ledger
    from mentorctl.mail import OutgoingMessage, SmtpMailer, deliver

    smtp_server.require_auth("bot", "pässwörd-€")
    settings = smtp_server.settings(username_env="U", password_env="P")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.org", "b@x.org", "hi"
    message.set_content("hello")
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ok = deliver([OutgoingMessage("k:1", "test", "b", message)], SmtpMailer(settings, {"U": "bot", "P": "pässwörd-€"}),
                     ledger)
        assert ok.ok and len(smtp_server.messages) == 1
        bad = deliver([OutgoingMessage("k:2", "test", "b", message)], SmtpMailer(settings, {"U": "bot", "P": "pässwort"}),
                      ledger)
        assert bad.aborted and "refused the login" in bad.aborted and "pässwort" not in bad.aborted

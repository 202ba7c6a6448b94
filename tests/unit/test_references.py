"""references.py: the one resolver of people named in other files."""

from __future__ import annotations

import pandas as pd

from mentorctl.references import Directory, reference_key

FRAME = pd.DataFrame({"id": ["Hvf5hy", "M001", "K1", "K2", "7"],
                      "name": ["Ann Lee", "Felicity Vo", "Sam Hill", "Sam  Hill", None],
                      "email": ["ann@x.org", None, "sam1@x.org", "sam2@x.org", "seven@x.org"]})


def test_ids_emails_and_unique_names_resolve_ignoring_case_and_spaces():
    people = Directory.of_frames([FRAME])
    assert people.canonical(" HVF5HY ") == "Hvf5hy" and people.resolve("hvf5hy").by == "id"
    assert people.canonical("felicity   VO") == "M001" and people.resolve("felicity vo").by == "name"
    assert people.canonical("ANN@x.org") == "Hvf5hy"
    assert people.canonical(7.0) == "7" and reference_key(7.0) == "7"  # a number Excel wrote as 7.0


def test_shared_names_are_ambiguous_and_unknowns_get_suggestions():
    people = Directory.of_frames([FRAME])
    shared = people.resolve("sam hill")
    assert not shared.ok and shared.ambiguous == ("K1", "K2")
    assert shared.describe("mentor") == "'sam hill' is the name of 2 mentors (K1, K2); use the id"
    typo = people.resolve("M0O1")
    assert not typo.ok and typo.suggestions[0] == "M001"
    assert typo.describe("mentor") == "'M0O1' matches no mentor (did you mean 'M001'?)"
    assert people.resolve("Zed Quux").describe() == "'Zed Quux' matches no person"


def test_a_drop_down_answer_with_the_id_or_email_in_brackets():
    people = Directory.of_frames([FRAME])
    assert people.canonical("Sam Hill (K2)") == "K2" and people.canonical("Ann Lee <ANN@x.org>") == "Hvf5hy"


def test_did_you_mean_for_the_first_unknowns_only_so_a_whole_company_extract_stays_fast():
    from mentorctl.references import SUGGESTED

    people = Directory.of_frames([FRAME])
    strangers = [people.resolve(f"E{n:05d}") for n in range(SUGGESTED)]  # an HR extract's other employees
    assert not any(s.ok for s in strangers)
    assert people.resolve("Ann Leee").suggestions == ()  # past the budget: no look-up, still unresolved
    assert not people.resolve("Ann Leee").ok and people.canonical("ann lee") == "Hvf5hy"
    fresh = Directory.of_frames([FRAME])
    assert fresh.resolve("Ann Leee").suggestions[0] == "Ann Lee"  # within the budget: the typo is named


def test_names_match_without_their_accents_but_an_exact_spelling_wins():
    frame = pd.DataFrame({"id": ["M1", "M2", "M3", "M4", "M5"],
                          "name": ["Hans Müller", "José Núñez", "Zoë Hill", "Zoé Hill", "Gerd Strauß"]})
    people = Directory.of_frames([frame])
    assert people.canonical("Hans Muller") == "M1" and people.canonical("HANS MÜLLER") == "M1"
    assert people.canonical("jose nunez") == "M2" and people.canonical("gerd strauss") == "M5"
    assert people.canonical("Zoé Hill") == "M4" and people.canonical("zoë hill") == "M3"   # exact spelling wins
    assert people.resolve("Zoe Hill").ambiguous == ("M3", "M4")            # without accents: both


def test_a_choice_export_that_misspells_a_name_gets_a_did_you_mean():
    from mentorctl.selfmatch.exports import Directory as ExportDirectory

    mentors = ExportDirectory(pd.DataFrame({"id": ["M1", "M2"], "name": ["Dev Patel", "Ann Lee"],
                                            "email": ["dev@x.org", "ann@x.org"]}))
    assert mentors.find("Dev Patell", names=True) is None
    assert mentors.hint("Dev Patell") == " (did you mean 'Dev Patel'?)"
    assert mentors.hint("Ann Lee") == " ('Ann Lee' is a name: write the id or email, M2)"   # where names don't count
    assert mentors.hint("Qwerty Uiop") == ""

"""matching/html.py: the pairs and unmatched tables of out/matches.html, built column by column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape

from mentorctl.matching.html import _number, _pair_rows, _unmatched_rows

_CELL = st.one_of(st.none(), st.just(np.nan), st.integers(0, 9),
                  st.text(alphabet=st.sampled_from(["a", " ", "é", "&", "<", ">", '"', "'", "\n", "="]), max_size=5))
_POINTS = st.sampled_from([0.0, -0.0, 1.5, -2.0, 3.0, np.nan, 1e-5])


def _cell(value):
    return str(escape("" if value is None or value != value else value))


def _reference_pairs(frame, terms, explain):
    """The rows as escaping and formatting each cell one by one gives them."""
    items = [f'<li><span class="pts">{escape(t)} {{}}</span>: {escape(explain[t])}</li>' for t in terms]
    out = []
    for row in frame.to_dict("records"):
        shown = sorted((-row[t], k) for k, t in enumerate(terms) if row[t] == row[t] and row[t] != 0)
        why = ('<ul class="why">' + "".join(items[k].format(escape(f"{-p:+g}")) for p, k in shown) + "</ul>"
               if shown else '<span class="small">meets the eligibility rules; no scoring term applies</span>')
        out.append(f'    <tr><td>{_cell(row["mentee_name"])} <span class="id">{_cell(row["mentee_id"])}</span></td>'
                   f'<td>{_cell(row["mentor_name"])} <span class="id">{_cell(row["mentor_id"])}</span></td>'
                   f'<td class="num">{_number(row["score"])}</td>\n      <td>{why}</td></tr>\n')
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(0, 8), st.integers(0, 3))
def test_pair_rows_escape_and_format_every_cell_as_one_by_one(data, rows, n_terms):
    def column(cells):
        return data.draw(st.lists(cells, min_size=rows, max_size=rows))

    terms = [f"t{k}" for k in range(n_terms)]
    frame = pd.DataFrame({"mentee_id": column(_CELL), "mentee_name": column(_CELL), "mentor_id": column(_CELL),
                          "mentor_name": column(_CELL), "score": pd.Series(column(_POINTS), dtype="float64"),
                          **{t: pd.Series(column(_POINTS), dtype="float64") for t in terms}})
    explain = {t: f"{t} & <b>'s" for t in terms}
    assert _pair_rows(frame, terms, explain) == (_reference_pairs(frame, terms, explain), rows)
    unmatched = frame.rename(columns={"mentee_name": "name", "mentee_id": "participant_id", "mentor_id": "role",
                                      "mentor_name": "reason"})
    expected = "".join(f'    <tr><td>{_cell(r["name"])} <span class="id">{_cell(r["participant_id"])}</span></td>'
                       f'<td>{_cell(r["role"])}</td><td>{_cell(r["reason"])}</td></tr>\n'
                       for r in unmatched.to_dict("records"))
    assert _unmatched_rows(unmatched) == (expected, rows)

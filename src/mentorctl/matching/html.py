"""out/matches.html: the matching on one self-contained page a coordinator reviews at a glance.

The summary, every pair with its score and why (each scoring term's contribution, with the term's
`explain` text), the unmatched with their reasons, the match rate by each `reporting.report_by` field as
small bar charts, and a filter box (a few lines of inline script; the page works without it). No external
URLs: styles, charts and script are inline. Built only from a `MatchResult` (`pairs`, `unmatched`,
`summary`) and the programme, so it follows whatever the matcher writes to matches.csv.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mentorctl.matching.solve import MatchResult

MATCHES_HTML = "matches.html"
BAR_WIDTH, ROW_HEIGHT, LABEL_WIDTH, FONT = 560, 30, 170, 15


def _number(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(number):
        return "—"
    return f"{number:g}" if number == int(number) else f"{number:.2f}".rstrip("0").rstrip(".")


def rate_chart(field: str, groups: dict[str, Any]) -> str:
    """Horizontal bars: the match rate of each group of `field` (0-100 %), the value at the bar's end; a
    group without a rate (hidden, too small) is named with "hidden"."""
    rows = sorted(groups.items(), key=lambda kv: str(kv[0]))
    height = ROW_HEIGHT * len(rows) + 34
    plot = BAR_WIDTH - LABEL_WIDTH - 60
    parts = [f'<svg viewBox="0 0 {BAR_WIDTH} {height}" role="img" class="chart" '
             f'aria-label="Match rate by {escape(field)}"><title>Match rate by {escape(field)}</title>']
    for tick in (0, 50, 100):
        x = LABEL_WIDTH + plot * tick / 100
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{height - 26}" class="grid"/>'
                     f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="tick" '
                     f'font-size="{FONT}">{tick}%</text>')
    for i, (group, values) in enumerate(rows):
        y = 6 + i * ROW_HEIGHT
        values = values if isinstance(values, dict) else {}
        rate = values.get("rate")
        people = values.get("people")
        label = str(group)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end" class="tick" '
                     f'font-size="{FONT}">{escape(label[:22] + ("…" if len(label) > 22 else ""))}</text>')
        if isinstance(rate, int | float) and not (isinstance(rate, float) and math.isnan(rate)):
            width = plot * max(0.0, min(1.0, float(rate)))
            detail = f"{values.get('matched', '?')} of {people}" if people is not None else ""
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{ROW_HEIGHT - 10}" '
                         f'class="bar"><title>{escape(f"{label}: {rate:.0%} matched {detail}")}</title></rect>'
                         f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 18}" class="value" '
                         f'font-size="{FONT}">{rate:.0%}</text>')
        else:
            parts.append(f'<text x="{LABEL_WIDTH + 6}" y="{y + 18}" class="tick" font-size="{FONT}">hidden '
                         "(small group)</text>")
    parts.append("</svg>")
    return "".join(parts)


_HTML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;"))
"""What markupsafe.escape (and so the template's autoescape) writes for each special character."""


def _escaped(values: list[Any]) -> list[str]:
    """Each cell as escaped HTML text ("" for a missing one), as markupsafe.escape writes it: the column is
    joined and escaped at once (300,000 cells one by one took a second at 50,000 pairs)."""
    texts = ["" if v is None or v != v else v if type(v) is str else str(v) for v in values]
    joined = "\n".join(texts)
    if not texts or joined.count("\n") != len(texts) - 1:   # a cell holds a line break itself: one by one
        from markupsafe import escape

        return [str(escape(t)) for t in texts]
    for char, entity in _HTML_ESCAPES:
        if char in joined:
            joined = joined.replace(char, entity)
    return joined.split("\n")


def _numbers(values: Any) -> list[str]:
    """`_number` of each cell of a column, each distinct value formatted once (distinct bit for bit, so
    -0.0 stays "-0")."""
    import numpy as np
    import pandas as pd

    values = np.asarray(values)
    if values.dtype != np.float64:
        return [_number(v) for v in values.tolist()]
    codes, uniques = pd.factorize(values.view(np.int64))
    shown = np.array([_number(u) for u in uniques.view(np.float64).tolist()], dtype=object)
    return shown[codes].tolist()


def _whys(points: Any, items: list[str]) -> list[str]:
    """Each pair's scoring terms with non-zero points, largest first, as a list (`points`: one row per pair,
    one column per term; each distinct row written once)."""
    import numpy as np
    from markupsafe import escape as esc

    none = '<span class="small">meets the eligibility rules; no scoring term applies</span>'
    if not points.shape[1] or not len(points):
        return [none] * len(points)
    bits = np.ascontiguousarray(points, dtype=np.float64).view(np.int64)   # rows equal bit for bit
    _, first, inverse = np.unique(bits, axis=0, return_index=True, return_inverse=True)
    whys = []
    for row in points[first].tolist():
        shown = sorted(((-p, k) for k, p in enumerate(row) if p == p and p != 0))
        whys.append('<ul class="why">' + "".join(items[k].format(esc(f"{-p:+g}")) for p, k in shown) + "</ul>"
                    if shown else none)
    return np.array(whys, dtype=object)[inverse.ravel()].tolist()


def _pair_rows(frame: Any, term_columns: list[str], explain: dict[str, str]) -> tuple[str, int]:
    """The pairs table's body rows as escaped HTML (built here, not row by row in the sandbox: 50,000 pairs
    took seconds there): name and id of both, the score, and each scoring term's non-zero points with its
    explanation, largest first. Column by column: each column escaped at once, each distinct score and each
    distinct row of points written once."""
    import numpy as np
    import pandas as pd
    from markupsafe import escape as esc

    def text(name: str) -> list[str]:
        return _escaped(frame[name].tolist()) if name in frame.columns else [""] * len(frame)

    scores = _numbers(frame["score"].to_numpy()) if "score" in frame.columns else [_number(None)] * len(frame)
    points = np.column_stack([pd.to_numeric(frame[t], errors="coerce").to_numpy(np.float64)
                              for t in term_columns]) if term_columns else np.zeros((len(frame), 0))
    items = [f'<li><span class="pts">{esc(t)} {{}}</span>: {esc(explain[t])}</li>' for t in term_columns]
    rows = [f'    <tr><td>{a} <span class="id">{b}</span></td><td>{c} <span class="id">{d}</span></td>'
            f'<td class="num">{sc}</td>\n      <td>{why}</td></tr>\n'
            for a, b, c, d, sc, why in zip(text("mentee_name"), text("mentee_id"), text("mentor_name"),
                                           text("mentor_id"), scores, _whys(points, items), strict=True)]
    return "".join(rows), len(rows)


def _unmatched_rows(frame: Any) -> tuple[str, int]:
    def text(name: str) -> list[str]:
        return _escaped(frame[name].tolist()) if name in frame.columns else [""] * len(frame)

    rows = [f'    <tr><td>{n} <span class="id">{i}</span></td><td>{r}</td><td>{why}</td></tr>\n'
            for n, i, r, why in zip(text("name"), text("participant_id"), text("role"), text("reason"), strict=True)]
    return "".join(rows), len(rows)


def matches_page_context(programme: Any, result: MatchResult, lists: bool = False) -> dict[str, Any]:
    """The template context of matches.html.j2: plain strings, lists and pre-escaped markup (the table rows
    and charts). `lists`: also `pairs` and `unmatched` as lists of dicts, for a programme's own
    matches.html.j2 (see the template's header)."""
    from markupsafe import Markup

    from mentorctl.matching.output import summary_rows

    summary = result.summary
    terms = [{"name": t.name, "explain": t.explain or t.name.replace("_", " "), "weight": _number(t.weight),
              "expr": t.expr} for t in programme.matching.scoring]
    explain = {t["name"]: t["explain"] for t in terms}
    frame = result.pairs
    term_columns = [t["name"] for t in terms if t["name"] in frame.columns]
    pair_rows, n_pairs = _pair_rows(frame, term_columns, explain)
    unmatched_rows, n_unmatched = _unmatched_rows(result.unmatched)
    charts = [{"field": field.replace("_", " "), "svg": Markup(rate_chart(field, {k: v.as_dict() for k, v in groups.items()}))}
              for field, groups in summary.report_by.items() if groups]
    headline = (f"{summary.matched} of {summary.people} matched ({summary.match_rate:.1%})"
                + f" · {summary.pairs} pairs · {summary.unmatched} unmatched")
    context: dict[str, Any] = {
        "title": f"{programme.programme.name}: matches",
        "programme_name": programme.programme.name,
        "type": programme.design.type.value,
        "headline": headline,
        "summary_rows": [{"item": item, "value": value} for item, value in summary_rows(summary)],
        "terms": terms,
        "pair_rows": Markup(pair_rows),
        "pair_count": n_pairs,
        "unmatched_rows": Markup(unmatched_rows),
        "unmatched_count": n_unmatched,
        "charts": charts,
    }
    if lists:
        context["pairs"] = _pair_list(frame, term_columns, explain)
        context["unmatched"] = [{"id": str(r.get("participant_id", "")), "name": str(r.get("name") or ""),
                                 "role": str(r.get("role") or ""), "reason": str(r.get("reason") or "")}
                                for r in result.unmatched.to_dict("records")]
    return context


def _pair_list(frame: Any, term_columns: list[str], explain: dict[str, str]) -> list[dict[str, Any]]:
    pairs = []
    for row in frame.to_dict("records"):
        why = []
        for name in term_columns:
            try:
                points = float(row[name])
            except (TypeError, ValueError):
                continue
            if math.isnan(points) or points == 0:
                continue
            why.append({"name": name, "points": f"{points:+g}", "explain": explain[name]})
        why.sort(key=lambda w: -float(w["points"]))
        pairs.append({
            "mentee_id": str(row.get("mentee_id", "")), "mentee_name": str(row.get("mentee_name") or ""),
            "mentor_id": str(row.get("mentor_id", "")), "mentor_name": str(row.get("mentor_name") or ""),
            "score": _number(row.get("score")), "why": why})
    return pairs


def render_matches_page(programme: Any, result: MatchResult) -> str:
    """matches.html as text (sandboxed, auto-escaped template `matches.html.j2`)."""
    from mentorctl.templating import TEMPLATES_FOLDER, make_environment, render_template

    env = make_environment(programme)
    own = (programme.base_dir / TEMPLATES_FOLDER / "matches.html.j2").is_file()
    return render_template(env, "matches.html.j2", matches_page_context(programme, result, lists=own))


def write_matches_page(programme: Any, result: MatchResult, out_dir: str | Path) -> Path:
    """Write out/matches.html atomically; return its path."""
    from mentorctl.files import atomic_write_text

    return atomic_write_text(Path(out_dir) / MATCHES_HTML, render_matches_page(programme, result))

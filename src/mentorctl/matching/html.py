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


def matches_page_context(programme: Any, result: MatchResult) -> dict[str, Any]:
    """The template context of matches.html.j2: plain strings, lists and pre-escaped chart markup."""
    from markupsafe import Markup

    from mentorctl.matching.output import summary_rows

    summary = result.summary
    terms = [{"name": t.name, "explain": t.explain or t.name.replace("_", " "), "weight": _number(t.weight),
              "expr": t.expr} for t in programme.matching.scoring]
    explain = {t["name"]: t["explain"] for t in terms}
    frame = result.pairs
    term_columns = [t["name"] for t in terms if t["name"] in frame.columns]
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
    unmatched = [{"id": str(r.get("participant_id", "")), "name": str(r.get("name") or ""),
                  "role": str(r.get("role") or ""), "reason": str(r.get("reason") or "")}
                 for r in result.unmatched.to_dict("records")]
    charts = [{"field": field.replace("_", " "), "svg": Markup(rate_chart(field, {k: v.as_dict() for k, v in groups.items()}))}
              for field, groups in summary.report_by.items() if groups]
    headline = (f"{summary.matched} of {summary.people} matched ({summary.match_rate:.1%})"
                + f" · {summary.pairs} pairs · {summary.unmatched} unmatched")
    return {
        "title": f"{programme.programme.name}: matches",
        "programme_name": programme.programme.name,
        "type": programme.design.type.value,
        "headline": headline,
        "summary_rows": [{"item": item, "value": value} for item, value in summary_rows(summary)],
        "terms": terms,
        "pairs": pairs,
        "unmatched": unmatched,
        "charts": charts,
    }


def render_matches_page(programme: Any, result: MatchResult) -> str:
    """matches.html as text (sandboxed, auto-escaped template `matches.html.j2`)."""
    from mentorctl.templating import make_environment, render_template

    env = make_environment(programme)
    return render_template(env, "matches.html.j2", matches_page_context(programme, result))


def write_matches_page(programme: Any, result: MatchResult, out_dir: str | Path) -> Path:
    """Write out/matches.html atomically; return its path."""
    from mentorctl.files import atomic_write_text

    return atomic_write_text(Path(out_dir) / MATCHES_HTML, render_matches_page(programme, result))

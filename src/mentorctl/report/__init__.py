"""Success reports: KPIs from activity logs, matches, rosters, HR extract and survey; html/xlsx/md/json.

Definitions the numbers depend on:

- Relationships and the period. out/matches.csv carries no dates, so a match is dated by the pair's first
  logged event (any event naming both people, at any time), or by the programme's start date when the pair
  has logged nothing. `relationships_formed` counts the matches so dated inside the period; the two people of
  a match dated on or before the period's last day count as taking part (`participation_rate`, retention and
  promotion of participants, breakdowns), as does anyone with activity in the period. A period entirely
  outside the programme's dates therefore forms no relationship, and the report says so first
  (`Report.warnings`, the page header and the data-quality notes).
- Eligible people. The rostered mentors and mentees that `design.eligibility` admits; the people it
  excludes are counted apart (`Report.excluded`), never in `participation_rate` or the breakdowns. "Took
  part": matched in a relationship formed by the end of the period, or with any logged activity in it.
- Goal completion. Only achievements of goals that were set count (`kpis.achieved_goals_set`); the others
  are a data-quality note, so the rate never passes 100 %.
- Goal status. A cumulative KPI (counts, hours) is judged against its target pro-rated to the share of the
  programme elapsed at the period's end ('on track' / 'behind', then 'met' / 'missed'); a level (a rate, a
  score) against the target itself (`kpis.pace`). Each goal's KPI is also measured from the period start to
  each checkpoint (month ends, or week ends for periods of 13 weeks or less) and drawn, except survey KPIs
  from an export, which has no dates.
- Implausible input. Sessions must last 0 to 1440 minutes and ratings be 1-5; other rows are rejected with
  file, row and column like any unreadable row (`activity.py`).

Modules: `load.py` reads every input once (`load_inputs` → a frozen `ReportInputs`); `build.py` computes the
report from them without touching a file (`compute_report`; `build_report` does both); `kpis.py` the KPIs
(vectorised); `formatting.py` how values and rows read; one writer per format: `markdown.py`, `html.py`
(with `charts.py`'s inline SVG), `workbook.py` (through `mentorctl.xlsx`), and report.json as
`Report.as_dict()`; `writers.write_report` writes the chosen formats.

Imports pandas at import time: import it from inside functions or CLI command bodies only.
"""

from mentorctl.report.build import (
    Coverage,
    DataQuality,
    GoalResult,
    Note,
    NoteKind,
    Report,
    build_report,
    compute_report,
    default_period,
)
from mentorctl.report.kpis import (
    KPI_LABELS,
    KPI_NAMES,
    ByParticipation,
    KpiValue,
    Period,
    compute_kpis,
    parse_period,
)
from mentorctl.report.load import ReportInputs, load_inputs

__all__ = [
    "KPI_LABELS", "KPI_NAMES", "ByParticipation", "Coverage", "DataQuality", "GoalResult", "KpiValue", "Note",
    "NoteKind", "Period", "Report", "ReportInputs", "build_report", "compute_kpis", "compute_report",
    "default_period", "load_inputs", "parse_period",
]

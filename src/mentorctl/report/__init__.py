"""Success reports: KPIs from activity logs, matches, rosters, HR extract and survey; html/xlsx/md/json.

Imports pandas at import time: import it from inside functions or CLI command bodies only.
"""

from mentorctl.report.build import DataQuality, GoalResult, Report, build_report, default_period
from mentorctl.report.kpis import KPI_LABELS, KPI_NAMES, Period, compute_kpis, parse_period

__all__ = [
    "KPI_LABELS", "KPI_NAMES", "DataQuality", "GoalResult", "Period", "Report", "build_report",
    "compute_kpis", "default_period", "parse_period",
]

"""The documented limits on what mentorctl reads: one place, referenced by every message that enforces one.

Inputs beyond a limit are refused before they are parsed, with a message naming the limit (see the README,
"Safety"). The limits are far above any real programme (a 100,000-person roster, a million-event activity
log) and low enough that a hostile or broken file cannot exhaust memory, hang a command or crash a library.
"""

from __future__ import annotations

from datetime import date

MIB = 1024 * 1024

# --- files -------------------------------------------------------------------------------------------------
MAX_PROGRAMME_BYTES = 1 * MIB
"""programme.yaml: at most 1 MiB."""
MAX_YAML_ALIASES = 100
"""programme.yaml: at most 100 alias uses (`*name`); YAML bombs multiply data through aliases."""
MAX_YAML_VALUES = 100_000
"""programme.yaml: at most 100,000 values (keys, items, scalars) once aliases are filled in."""
MAX_YAML_DEPTH = 50
"""programme.yaml: at most 50 levels of nested mappings and lists."""
MAX_TABLE_BYTES = 512 * MIB
"""A roster, activity log, HR extract, survey or pairs file: at most 512 MiB on disk."""
MAX_XLSX_UNCOMPRESSED_BYTES = 1024 * MIB
"""An .xlsx workbook: at most 1 GiB once uncompressed (it is a zip of XML files)."""
MAX_XLSX_RATIO = 200
"""An .xlsx workbook: a part may expand at most 200 times (real workbooks compress 5-20 times)."""
MAX_COLUMNS = 2000
"""A table: at most 2,000 columns."""
MAX_TEMPLATE_BYTES = 1 * MIB
"""A template: at most 1 MiB."""

# --- programme.yaml numbers ----------------------------------------------------------------------------------
MAX_WEIGHT = 1_000_000
"""A scoring weight and `min_score`: at most 1,000,000 in absolute value."""
MAX_PAIR_SCORE = 1_000_000
"""A pair's score (the sum of weight x value of its terms): at most 1,000,000 in absolute value, so the
matcher's integer costs cannot overflow."""
MAX_CAPACITY = 10_000
"""Mentees per mentor (`mentor_capacity`, the roster's capacity column) and mentors per mentee: at most 10,000."""
MAX_CANDIDATES = 100_000
"""`candidates_per_mentee` / `candidates_per_mentor`: at most 100,000."""
MAX_TIME_LIMIT_SECONDS = 86_400
"""`time_limit_seconds`: at most one day."""
MAX_SEED = 2**31 - 1
"""`seed`: 0 to 2,147,483,647."""
MAX_DURATION_DAYS = 3660
"""A duration (`every`, `checkin_every`, `when_inactive_for`): at most 3,660 days (about ten years)."""
MAX_SESSION_MINUTES = 1440
"""A session's `duration_minutes`: at most one day."""
MAX_REMINDER_OCCURRENCES = 10_000
"""A reminder (`every` or `cron`): at most 10,000 occurrences over the programme (every hour for a year is 8,760)."""
MAX_PERIOD_DAYS = 7320
"""`mentorctl report --period`: at most 7,320 days (twenty years)."""
MAX_DAYS_AHEAD = 3660
"""`mentorctl upcoming --days`: at most 3,660."""

# --- dates -------------------------------------------------------------------------------------------------
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)
"""Dates mentorctl works with (start date, sessions, reminders, --now, --period, activity timestamps):
1900-01-01 to 2199-12-31."""
DATE_RANGE = f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"


def in_date_range(day: date) -> bool:
    """Whether `day` is between EARLIEST_DATE and LATEST_DATE."""
    return EARLIEST_DATE <= day <= LATEST_DATE

"""Reminders from the programme's schedule: occurrences, who receives them, what is due now, and the run.

| module | concern |
|---|---|
| `schedule.py` | every occurrence of every reminder (DST-safe, in the programme's zone), ledger identities, upcoming |
| `recipients.py` | who receives a reminder (`Directory`), last sessions, inactive pairs, the coordinator's digest |
| `due.py` | what is due at a moment, and the older occurrences a catch-up skips; pure over the ledger's statuses |
| `run.py` | the run: the send lock, loading inputs, rendering messages, delivering through the ledger |

`schedule.py`, `recipients.py` and `due.py` read and write nothing: they take the programme, the rosters, the
matches, the activity log and the ledger's statuses as values, and the moment `now` as an argument. Each
module's docstring states its semantics (time and daylight saving, catch-up, at-most-once delivery).
"""

from mentorctl.reminders.due import DueReminder, ReminderPlan, Skipped, due_reminders
from mentorctl.reminders.recipients import (
    COORDINATOR_ID,
    SESSION_EVENTS,
    Directory,
    Recipient,
    digest_context,
    inactive_pairs,
    last_sessions,
)
from mentorctl.reminders.run import (
    RemindResult,
    RemindRow,
    RunMode,
    build_outgoing,
    load_activity_for,
    load_matches_for,
    message_context,
    remind_lock,
    run_reminders,
)
from mentorctl.reminders.schedule import (
    ScheduledReminder,
    localize,
    occurrence_id,
    occurrence_iso,
    programme_schedule,
    reminder_key,
    reminder_times,
    training_schedule,
    upcoming_reminders,
)

__all__ = [
    "COORDINATOR_ID",
    "SESSION_EVENTS",
    "Directory",
    "DueReminder",
    "Recipient",
    "RemindResult",
    "RemindRow",
    "ReminderPlan",
    "RunMode",
    "ScheduledReminder",
    "Skipped",
    "build_outgoing",
    "digest_context",
    "due_reminders",
    "inactive_pairs",
    "last_sessions",
    "load_activity_for",
    "load_matches_for",
    "localize",
    "message_context",
    "occurrence_id",
    "occurrence_iso",
    "programme_schedule",
    "remind_lock",
    "reminder_key",
    "reminder_times",
    "run_reminders",
    "training_schedule",
    "upcoming_reminders",
]

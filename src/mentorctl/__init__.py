"""mentorctl: run a whole mentoring programme from a folder of plain files.

Use it from the command line (`mentorctl --help`) or as a library:

    from mentorctl import load_programme, load_participants
    programme = load_programme("programmes/example")
    people = load_participants(programme)
"""

from mentorctl.errors import (
    DeliveryError,
    ExitCode,
    Finding,
    InfeasibleError,
    MentorctlError,
    ProgrammeError,
    RosterError,
    RuleError,
    TemplateError,
)
from mentorctl.programme import Programme, load_programme
from mentorctl.roster import Participants, Roster, check_participants, load_participants

__version__ = "0.1.0"

__all__ = [
    "DeliveryError",
    "ExitCode",
    "Finding",
    "InfeasibleError",
    "MentorctlError",
    "Participants",
    "Programme",
    "ProgrammeError",
    "Roster",
    "RosterError",
    "RuleError",
    "TemplateError",
    "check_participants",
    "load_participants",
    "load_programme",
    "__version__",
]

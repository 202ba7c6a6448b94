"""mentorctl: run a whole mentoring programme from a folder of plain files.

Use it from the command line (`mentorctl --help`) or as a library:

    from mentorctl import load_programme, load_participants
    programme = load_programme("programmes/example")
    people = load_participants(programme)

The public names are imported lazily (PEP 562), so `import mentorctl` — and with it `mentorctl --help` —
loads neither pydantic nor pandas until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "DeliveryError": "mentorctl.errors",
    "ExitCode": "mentorctl.errors",
    "Finding": "mentorctl.errors",
    "InfeasibleError": "mentorctl.errors",
    "MentorctlError": "mentorctl.errors",
    "ProgrammeError": "mentorctl.errors",
    "RosterError": "mentorctl.errors",
    "RuleError": "mentorctl.errors",
    "TemplateError": "mentorctl.errors",
    "Programme": "mentorctl.programme",
    "load_programme": "mentorctl.programme",
    "Participants": "mentorctl.roster",
    "Roster": "mentorctl.roster",
    "check_participants": "mentorctl.roster",
    "load_participants": "mentorctl.roster",
}

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
    "__version__",
    "check_participants",
    "load_participants",
    "load_programme",
]

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mentorctl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])

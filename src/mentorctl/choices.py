"""Choices shared by the programme model and the command line, kept free of heavy imports.

The CLI offers these as option choices, so they live here rather than in `programme.py` (which loads
pydantic): `mentorctl --help` must not pay for the programme model.
"""

from __future__ import annotations

from enum import StrEnum


class MentoringType(StrEnum):
    """The kind of programme: who is paired with whom."""

    ONE_TO_ONE = "one-to-one"
    GROUP = "group"
    PEER = "peer"
    REVERSE = "reverse"

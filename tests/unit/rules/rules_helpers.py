"""Helpers shared by the tests of the rules package (importable: this folder is on sys.path under pytest)."""

from __future__ import annotations

import numpy as np

from mentorctl.rules import RuleContext, parse_rule


def semicolon(_field: str) -> str:
    return ";"


def block(ctx: RuleContext, text: str) -> np.ndarray:
    return ctx.evaluate_block(parse_rule(text, "test"), np.arange(2))


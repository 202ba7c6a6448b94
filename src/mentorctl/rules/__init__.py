"""Rule expressions: parsed with a strict `ast` whitelist, compiled to vectorised numpy over blocks of pairs.

Rules are small expressions over `mentor.<field>` and `mentee.<field>` (fields are roster columns after the
`columns:` mapping). They appear in programme.yaml as `matching.eligibility` (every pair must satisfy each),
`matching.scoring[].expr` (a pair's score is the sum of weight x value; true = 1, false = 0),
`matching.constraints.min_share[].expr` and `design.eligibility.mentors/mentees` (single-side rules).

Language
--------
| syntax | meaning |
|---|---|
| `mentor.grade`, `mentee.languages` | a field of the mentor / mentee in the pair |
| `3`, `2.5`, `"London"`, `true`, `false` | literals (`True`/`False` also work) |
| `["A", "B"]` | a literal list |
| `+ - * /`, unary `-` | arithmetic (x / 0 is missing) |
| `== != < <= > >=` | comparisons; chains such as `1 <= mentor.grade <= 3` work |
| `and`, `or`, `not` | boolean logic |
| `x in list`, `x not in list` | membership in a list field or a literal list |
| `abs(x)` | absolute value |
| `min(a, b, ...)`, `max(a, b, ...)` | smallest / largest of 2 or more numbers, pair by pair |
| `len(list)` | number of items in a list field |
| `overlap(a, b)` | number of items two lists share |
| `jaccard(a, b)` | shared items / all distinct items of both lists (0 when both are empty) |
| `preference(list, id)` | (L - r + 1) / L when `id` is at rank r (1 = first) of a list of L items, else 0 |
| `contains(text, "sub")` | the text contains "sub" |

Text and lists
- `==`, `!=`, `in` and list items ignore case and surrounding spaces (`" London"` equals `"london"`).
  `<`, `>` on text compare alphabetically (ISO dates such as 2026-01-31 compare correctly).
- A field used where a list is expected (`overlap`, `jaccard`, `len`, `preference`'s first argument, the right
  of `in`) is split on its separator (`rosters.list_separator`, default `;`, or `list_separators.<field>`);
  blank items are dropped and repeated items count once. A literal string there is a one-item list.
- Comparing a number field with text (`mentor.grade == "3"`) is an error when the rules are checked.

Missing values (empty cells) never crash a rule: `==` and `<`, `<=`, `>`, `>=` are false, `!=` is true;
arithmetic with a missing value is missing; a missing list is empty (overlaps nothing, `len` 0); `in` is
false and `not in` true; a missing value used as a condition on its own is false. A text field used as a
condition is true unless it is empty or one of false / no / n / 0 / off. A score term that is missing
evaluates to NaN; the matcher decides how to count it.

API (core, no printing)
-----------------------
- `parse_rule(text, origin) -> Rule`: syntax and whitelist check (RuleError).
- `RuleContext(mentors, mentees, separator_for=..., mentor_source=..., mentee_source=...)`: prepared once per
  run; caches per-field encodings.
  - `check(rule) -> str`: unknown fields and type errors (RuleError); returns "bool" or "number". It also
    builds the rule's encodings and matrices, so call it for every rule before evaluating blocks in threads:
    evaluation then only reads shared state.
  - `evaluate_block(rule, mentee_idx, mentor_idx=None)`: 2-D array (len(mentee_idx), n_mentors or
    len(mentor_idx)); dtype bool for conditions, float64 (NaN = missing) for numbers.
  - `evaluate_pairs(rule, mentee_idx, mentor_idx)`: 1-D, one value per (mentee_idx[i], mentor_idx[i]).
  - `evaluate_side(rule, side)`: 1-D over one roster, for single-side rules such as design.eligibility.
- `programme_rules(programme) -> ProgrammeRules`: every rule of a programme, parsed, with its origin
  (`matching.eligibility[2]`, `matching.scoring[0] (skills)`, `design.eligibility.mentors[0]`, ...).
- `uses_private_field(text, programme)`: whether a rule reads a field listed under `private:`.
Indices are positional row numbers into the DataFrames. Results are fresh arrays the caller may modify.
A field named like a Python keyword (`class`, `from`, `if`) cannot be used: map its column to another name.

Nothing is ever passed to eval/exec: the expression is parsed with `ast.parse(mode="eval")`, every node is
checked against a whitelist, and the tree is compiled into numpy operations. Text fields are encoded once per
side as codes over one shared vocabulary (so `==` is a number compare of (B,1) against (1,M)); list fields are
encoded once as sparse item matrices; `overlap` over a block is a matrix product.

Modules
-------
| module | concern |
|---|---|
| `parse.py` | `Rule`, `parse_rule`: the `ast` whitelist and its messages |
| `ruleset.py` | `ProgrammeRules`, `programme_rules`, `uses_private_field`: the programme's rules with their origins |
| `encodings.py` | the kinds of value, normalised items, `ListEncoding` (a list field as (row, item) entries) |
| `context.py` | `RuleContext`: rosters, cached encodings, compiling and evaluating rules |
| `nodes.py` | compiled nodes (`Const`, `Field`, `SideVector`, `Apply`, `Cross`) and their `Evaluation` site |
| `kernels.py` | numpy kernels: list lookups (`in`, `preference`), `overlap`, `jaccard`, elementwise helpers |
| `compiler.py` | `Compiler`: a parsed rule to typed nodes against one context (type errors) |

Importing this package loads only the standard library: numpy, pandas and scipy are imported inside the
functions that evaluate, so `mentorctl --help` stays fast.
"""

from mentorctl.rules.context import RuleContext
from mentorctl.rules.parse import FUNCTIONS, MAX_RULE_LENGTH, SIDES, Rule, parse_rule
from mentorctl.rules.ruleset import ProgrammeRules, ScoringRule, programme_rules, uses_private_field

__all__ = [
    "FUNCTIONS",
    "MAX_RULE_LENGTH",
    "SIDES",
    "ProgrammeRules",
    "Rule",
    "RuleContext",
    "ScoringRule",
    "parse_rule",
    "programme_rules",
    "uses_private_field",
]

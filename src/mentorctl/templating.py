"""Jinja templates for packs and messages: a sandboxed, strict environment and friendly errors.

A programme's own `templates/` folder overrides any built-in template by file name. Templates render in
`TemplateSandbox` (Jinja's immutable sandbox with a call whitelist) over plain data only (`plain()`: no models,
paths or objects whose methods could reach the file system), with `StrictUndefined`, so a misspelt variable is an error naming the
template, the line and the variable, never a silent blank. Templates whose name contains `.html` are
auto-escaped; message templates (`*.md.j2`, `*.txt.j2`) start with `Subject: …`, a blank line, then a
Markdown body, from which `render_message` derives the plain text and the HTML alternative (markdown-it-py in
safe mode: raw HTML escaped, links only to http, https and mailto).

jinja2 is imported here at module level: import this module only from inside command bodies. markdown-it is
imported when a message is first rendered.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import Enum
from pathlib import Path, PurePath
from types import SimpleNamespace, TracebackType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from mentorctl.errors import Location, TemplateError

if TYPE_CHECKING:
    from mentorctl.programme import Programme

TEMPLATES_FOLDER = "templates"
EMAIL_LAYOUT = "email_layout.html.j2"


def builtin_templates_dir() -> Path:
    """The folder holding mentorctl's built-in templates (what `mentorctl init` copies)."""
    return Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered message template: its subject, the plain-text body (the Markdown without its syntax) and an
    HTML alternative."""

    subject: str
    text: str
    html: str


def make_environment(programme: Programme | None = None) -> TemplateSandbox:
    """A sandboxed, strict Jinja environment: the programme's `templates/` first, then the built-in ones.
    The `programme` global is the programme definition as plain data (see `plain`)."""
    loaders: list[jinja2.BaseLoader] = []
    if programme is not None:
        own = programme.base_dir / TEMPLATES_FOLDER
        if own.is_dir():
            loaders.append(jinja2.FileSystemLoader(own))
    loaders.append(jinja2.FileSystemLoader(builtin_templates_dir()))
    env = TemplateSandbox(
        loader=_TemplateLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    tz = programme.tz if programme is not None else None
    env.filters.update(
        date=lambda value, fmt="long": format_date(value, fmt, tz),
        time=lambda value: format_time(value, tz),
        datetime=lambda value: format_datetime(value, tz),
        join_list=join_list,
        every=humanize_every,
    )
    env.globals["programme"] = plain(programme) if programme is not None else None
    return env


def _autoescape(name: str | None) -> bool:
    return name is not None and ".htm" in name


def template_exists(env: jinja2.Environment, name: str) -> bool:
    """Whether `name` is found in the programme's or the built-in templates."""
    try:
        env.get_template(name)
    except jinja2.TemplateNotFound:
        return False
    except jinja2.TemplateError:
        return True
    return True


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; any Jinja problem becomes a `TemplateError` naming template, line and variable."""
    try:
        data = plain(context)
    except TypeError as e:  # a bug in mentorctl, not in the template
        raise TypeError(f"context of template '{name}': {e}") from e
    try:
        return env.get_template(name).render(data)
    except jinja2.TemplateNotFound as e:
        missing = e.name if isinstance(e.name, str) and e.name else name
        raise TemplateError(
            f"template '{missing}' not found in the programme's templates/ folder or the built-in templates; "
            "check the file name",
            location=Location(missing)) from e
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"template syntax error: {e.message}; fix the template",
                            location=Location(_shown_name(e.filename or e.name or name), line=e.lineno)) from e
    except jinja2.UndefinedError as e:
        file, line, source = _template_frame(e.__traceback__, env, name)
        raise TemplateError(f"{_undefined_message(e.message or '', source)}; check the spelling, or the "
                            "variables documented at the top of the template",
                            location=Location(file, line=line)) from e
    except jinja2.exceptions.SecurityError as e:
        file, line, _ = _template_frame(e.__traceback__, env, name)
        raise TemplateError(f"not allowed in a template: {e}", location=Location(file, line=line)) from e
    except jinja2.TemplateError as e:
        file, line, _ = _template_frame(e.__traceback__, env, name)
        raise TemplateError(f"template error: {e}", location=Location(file, line=line)) from e
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ZeroDivisionError, OverflowError) as e:
        file, line, _ = _template_frame(e.__traceback__, env, name)
        raise TemplateError(f"template error: {type(e).__name__}: {e}",
                            location=Location(file, line=line)) from e
    except (MemoryError, RecursionError) as e:
        file, line, _ = _template_frame(e.__traceback__, env, name)
        what = "too much memory" if isinstance(e, MemoryError) else "recursion too deep"
        raise TemplateError(f"template error: {what}; simplify the template",
                            location=Location(file, line=line)) from e


def render_message(env: jinja2.Environment, name: str, context: dict[str, Any]) -> RenderedMessage:
    """Render a message template (`Subject: …`, blank line, Markdown body) into subject, text and HTML."""
    rendered = render_template(env, name, context)
    lines = rendered.lstrip("\ufeff\n").splitlines()
    if not lines or not lines[0].lower().startswith("subject:"):
        raise TemplateError("a message template must start with a 'Subject: …' line, then a blank line, "
                            "then the body", location=Location(_source_name(env, name), line=1))
    subject = " ".join(lines[0].split(":", 1)[1].split())
    if not subject:
        raise TemplateError("the Subject line is empty", location=Location(_source_name(env, name), line=1))
    body = "\n".join(lines[1:]).strip("\n") + "\n"
    html_body = markdown_to_html(body)
    layout_context = {**context, "subject": subject, "body_html": Markup(html_body)}
    page = render_template(env, EMAIL_LAYOUT, layout_context)
    return RenderedMessage(subject=subject, text=markdown_to_text(body), html=page)


# -- plain data and the sandbox --------------------------------------------------------------------------------

MAX_RANGE = 10_000          # range(n) in a template
MAX_REPEAT = 100_000        # len(text * n) or len(list * n)
MAX_EXPONENT = 128          # a ** b with |a| > 1
MAX_DEPTH = 40              # nesting of the data given to a template

# The only methods a template may call, per type of the object they belong to (plain data has no way out).
_TEXT_METHODS = frozenset({
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdecimal",
    "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "lower", "lstrip", "partition",
    "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rpartition", "rsplit", "rstrip", "split",
    "splitlines", "startswith", "strip", "swapcase", "title", "upper", "striptags", "unescape"})
_SAFE_METHODS: tuple[tuple[type, frozenset[str]], ...] = (
    (str, _TEXT_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
    (datetime, frozenset({"date", "isoformat", "isoweekday", "strftime", "time", "timestamp", "weekday"})),
    (date, frozenset({"isoformat", "isoweekday", "strftime", "weekday"})),
    (time, frozenset({"isoformat", "strftime"})),
    (timedelta, frozenset({"total_seconds"})),
    (int, frozenset({"bit_length"})),
    (float, frozenset({"is_integer"})),
)
_LEAVES = (str, int, float, bool, type(None), date, time, timedelta)


def plain(value: Any, _depth: int = 0) -> Any:
    """`value` as plain data for a template: text, numbers, booleans, None, dates, times, lists and dicts.

    Models (pydantic, dataclasses) become dicts of their fields, enums their values, paths and time zones
    their text, numpy and pandas scalars Python ones, NaN/NaT None, tuples and sets lists. Anything else
    (a DataFrame, a file, a function) is refused with TypeError: a template never holds an object whose
    methods could reach the file system or the environment. `Markup` (pre-escaped HTML) stays as it is."""
    if _depth > MAX_DEPTH:
        raise TypeError("template data nested too deeply")
    kind = type(value)
    if kind in (str, Markup, int, bool, date, time, timedelta, type(None)):
        return value
    if kind is float:
        return None if math.isnan(value) else value
    if kind is datetime:
        return value
    if isinstance(value, Enum):
        return plain(value.value, _depth + 1)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {(k if type(k) in (str, int) else str(plain(k, _depth + 1))): plain(v, _depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [plain(v, _depth + 1) for v in items]
    if isinstance(value, PurePath | tzinfo):
        return str(getattr(value, "key", None) or value)
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(type(value), "model_fields") and hasattr(value, "model_dump"):      # pydantic models
        return {name: plain(getattr(value, name), _depth + 1) for name in type(value).model_fields}
    if isinstance(value, SimpleNamespace):
        return plain(vars(value), _depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value)}
    if kind.__module__.split(".")[0] in ("numpy", "pandas"):
        if kind.__name__ in ("NaTType", "NAType"):
            return None
        if kind.__name__ == "Timestamp":
            return None if value != value else value.to_pydatetime()
        if kind.__name__ == "Timedelta":
            return None if value != value else value.to_pytimedelta()
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            return plain(value.item(), _depth + 1)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return plain(float(value), _depth + 1)
    if isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                        value.microsecond, tzinfo=value.tzinfo, fold=value.fold)
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    raise TypeError(f"a {kind.__name__} cannot be given to a template (plain data only)")


def _allowed_method(obj: Any) -> bool:
    """Whether `obj` is a bound method of a plain value that templates may call (`name.upper`)."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if owner is None or isinstance(owner, type) or not callable(obj):
        return False
    from jinja2.runtime import LoopContext

    if isinstance(owner, LoopContext):
        return name in ("cycle", "changed")
    return any(isinstance(owner, kind) and name in names for kind, names in _SAFE_METHODS)


def _safe_range(*args: int) -> range:
    span = range(*args)
    if len(span) > MAX_RANGE:
        raise jinja2.exceptions.SecurityError(
            f"range() of {len(span):,} numbers; templates may use at most {MAX_RANGE:,}")
    return span


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with a call whitelist: a template may call its macros (and `caller`,
    `super()`, `loop.cycle`), the `range` and `dict` globals, and the listed methods of plain values
    (text, dicts, lists, dates) — nothing else. Attribute access reaches only plain data, macros and those
    methods; `cycler`, `joiner`, `namespace` and `lipsum` are gone; `range`, `*` and `**` are bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        for name in ("cycler", "joiner", "namespace", "lipsum"):
            self.globals.pop(name, None)
        self.globals["range"] = _safe_range
        self._callable_globals = (_safe_range, dict)

    def _allowed_value(self, value: Any) -> bool:
        from jinja2.environment import TemplateModule
        from jinja2.runtime import BlockReference, LoopContext, Macro, Undefined

        return (isinstance(value, (*_LEAVES, Mapping, list, tuple, Macro, BlockReference, LoopContext,
                                   TemplateModule, Undefined))
                or _allowed_method(value) or any(value is f for f in self._callable_globals))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return super().is_safe_attribute(obj, attr, value) and self._allowed_value(value)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        from jinja2.runtime import BlockReference, LoopContext, Macro

        allowed = (isinstance(obj, Macro | BlockReference | LoopContext) or _allowed_method(obj)
                   or any(obj is f for f in self._callable_globals))
        if not allowed:
            shown = getattr(obj, "__name__", None) or type(obj).__name__
            raise jinja2.exceptions.SecurityError(
                f"calling '{shown}' is refused: templates may call only their macros and the methods of "
                "text, lists, dicts and dates")
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) \
                        and len(seq) * times > MAX_REPEAT:
                    raise jinja2.exceptions.SecurityError(
                        f"repeating a value {times:,} times is refused (at most {MAX_REPEAT:,} items)")
        if operator == "**" and isinstance(left, int | float) and isinstance(right, int | float) \
                and abs(left) > 1 and right > MAX_EXPONENT:
            raise jinja2.exceptions.SecurityError(f"a power above {MAX_EXPONENT} is refused")
        return super().call_binop(context, operator, left, right)


_REFUSED_NAME = re.compile(r"(^[/\\~])|(^[A-Za-z]:)|(\\)|(\x00)|((^|/)\.\.(/|$))")


class _TemplateLoader(jinja2.BaseLoader):
    """The programme's templates/ folder, then the built-in templates; names that are absolute paths or climb
    out with `..` are refused (not merely "not found")."""

    def __init__(self, loaders: list[jinja2.BaseLoader]):
        self._choice = jinja2.ChoiceLoader(loaders)

    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        if _REFUSED_NAME.search(template):
            raise jinja2.exceptions.SecurityError(
                f"the template name '{template}' is refused: a template may include, import or extend only "
                "another template by its file name in the programme's templates/ folder (no absolute paths, "
                "no '..')")
        return self._choice.get_source(environment, template)

    def list_templates(self) -> list[str]:
        return self._choice.list_templates()


# -- Markdown (CommonMark through markdown-it-py, in safe mode) ------------------------------------------------

# The only link targets a message may carry, as everywhere else in mentorctl (validation refuses the rest).
_SAFE_LINK = re.compile(r"(?i)^(https?://|mailto:)")
# Bare web and email addresses in the text become links too.
_BARE_ADDRESS = re.compile(r"\b(?P<url>https?://[^\s<]+[^\s<.,;:!?)])"
                           r"|(?<![\w.@/:=\"'>-])(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?![\w@])")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")


@functools.cache
def _markdown() -> Any:
    """The Markdown parser of message bodies: CommonMark, raw HTML escaped (`html=False`), a line break in
    the source is a line break, only http/https/mailto link targets (anything else, such as `javascript:`,
    `data:` or `vbscript:`, stays text), no images (remote images in e-mail track their readers)."""
    from markdown_it import MarkdownIt

    class SafeMarkdown(MarkdownIt):
        def validateLink(self, url: str) -> bool:  # markdown-it's (camelCase) name
            return bool(_SAFE_LINK.match(url.strip()))

    md = SafeMarkdown("commonmark", {"html": False, "breaks": True, "xhtmlOut": False})
    md.disable("image")
    md.core.ruler.push("mentorctl_headings", _shift_headings)
    md.core.ruler.push("mentorctl_bare_addresses", _link_bare_addresses)
    return md


def _shift_headings(state: Any) -> None:
    """`#` is an <h2>, `##` an <h3>, …: the e-mail layout's <h1> is the subject."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1:]) + 1, 6)}"


def _link_bare_addresses(state: Any) -> None:
    """Turn web and email addresses written as plain text (outside links and code) into links."""
    from markdown_it.token import Token

    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Any] = []
        depth = 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type != "text" or depth or not _BARE_ADDRESS.search(token.content):
                children.append(token)
                continue
            text, at = token.content, 0
            for match in _BARE_ADDRESS.finditer(text):
                if match.start() > at:
                    children.append(_text_token(Token, text[at:match.start()], token.level))
                address = match.group(0)
                opening = Token("link_open", "a", 1, attrs={"href": address if match.group("url")
                                                            else "mailto:" + address}, level=token.level,
                                meta={"bare": True})
                closing = Token("link_close", "a", -1, level=token.level)
                children += [opening, _text_token(Token, address, token.level + 1), closing]
                at = match.end()
            if at < len(text):
                children.append(_text_token(Token, text[at:], token.level))
        block.children = children


def _text_token(token_class: Any, content: str, level: int) -> Any:
    token = token_class("text", "", 0, level=level)
    token.content = content
    return token


def markdown_to_html(text: str) -> str:
    """The HTML part of a message: the Markdown body as CommonMark (headings, paragraphs, nested lists, bold,
    italic, code, links; bare web and email addresses become links too). Raw HTML is escaped, so text from
    rosters can never become markup, and links other than http, https and mailto stay text. A line that
    starts at the margin right after a list item starts a new paragraph (as it reads in the plain text), not
    CommonMark's "lazy" continuation of the item: templates end lists with a loop, without a blank line."""
    return str(_markdown().render(_end_lists_at_the_margin(text))).rstrip("\n")


def _end_lists_at_the_margin(text: str) -> str:
    lines: list[str] = []
    fence, in_item = "", False
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1).startswith(fence[0] * len(fence)):
                fence = ""
            lines.append(line)
            continue
        item = bool(_LIST_ITEM.match(line))
        if in_item and line.strip() and not line[:1].isspace() and not item:
            lines.append("")
        if opened:
            fence, in_item = opened.group(1), False
        else:
            in_item = item or (in_item and line[:1].isspace() and bool(line.strip()))
        lines.append(line)
    return "\n".join(lines)


def markdown_to_text(text: str) -> str:
    """The plain-text part of a message: the Markdown body without its syntax. `**bold**`, `__bold__` and
    `*italic*` lose their markers, `[title](url)` becomes `title (url)`, `## Heading` becomes the heading text
    underlined; code keeps its backticks; bullets (`- `), numbered items, indentation, line breaks and fenced
    code blocks stay as they are. Raw HTML stays text, as written."""
    lines: list[str] = []
    fence = ""
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence or opened:
            if opened and not fence:
                fence = opened.group(1)
            elif opened and opened.group(1).startswith(fence[0] * len(fence)):
                fence = ""
            lines.append(line)
            continue
        heading = re.match(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$", line)
        if heading:
            title = _inline_text(heading.group(2).strip())
            lines += [title, ("=" if len(heading.group(1)) == 1 else "-") * len(title)]
            continue
        indent = line[:len(line) - len(line.lstrip())]
        lines.append(indent + _inline_text(line.strip()) if line.strip() else line)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def _inline_text(line: str) -> str:
    """One line's inline Markdown as plain text."""
    tokens = _markdown().parseInline(line, {})
    out: list[str] = []
    links: list[tuple[str, int]] = []
    for token in (tokens[0].children or []) if tokens else []:
        if token.type == "text":
            out.append(token.content)
        elif token.type == "code_inline":
            out.append(token.markup + token.content + token.markup)
        elif token.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif token.type == "link_open":   # an address written bare is shown as written
            links.append(("" if token.meta.get("bare") else str(token.attrs.get("href", "")), len(out)))
        elif token.type == "link_close" and links:
            href, at = links.pop()
            if href and "".join(out[at:]) != href:
                out.append(f" ({href})")
    return "".join(out)


# -- filters --------------------------------------------------------------------------------------------------

def _in_zone(value: datetime, tz: Any) -> datetime:
    if tz is None:
        return value
    return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)


def format_date(value: date | datetime | str | None, fmt: str = "long", tz: Any = None) -> str:
    """`long`: Thursday 15 January 2026; `short`: 15 Jan 2026; `iso`: 2026-01-15; else a strftime format.
    Aware datetimes are shown in the programme's time zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = _in_zone(value, tz)
    if fmt == "long":
        return f"{value:%A} {value.day} {value:%B %Y}"
    if fmt == "short":
        return f"{value.day} {value:%b %Y}"
    if fmt == "iso":
        return value.isoformat()[:10]
    return value.strftime(fmt)


def format_time(value: datetime | time | None, tz: Any = None) -> str:
    """24-hour time (09:30), in the programme's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _in_zone(value, tz)
    return f"{value:%H:%M}"


def format_datetime(value: datetime | None, tz: Any = None) -> str:
    """Thursday 15 January 2026, 09:30 (Europe/London)."""
    if value is None:
        return ""
    local = _in_zone(value, tz)
    zone = f" ({tz.key})" if tz is not None and hasattr(tz, "key") else ""
    return f"{format_date(local, 'long')}, {local:%H:%M}{zone}"


def join_list(items: Any, sep: str = ", ", last: str = " and ") -> str:
    """['a', 'b', 'c'] → 'a, b and c'; a string is returned as it is; empty items are dropped."""
    if items is None:
        return ""
    if isinstance(items, str):
        return items
    values = [str(i) for i in items if i is not None and str(i) != ""]
    if len(values) <= 1:
        return "".join(values)
    return sep.join(values[:-1]) + last + values[-1]


def humanize_every(duration: str) -> str:
    """'2w' → 'every 2 weeks', '1w' → 'every week', '10d' → 'every 10 days'."""
    from mentorctl.programme import parse_duration

    delta = parse_duration(duration)
    days, seconds = delta.days, delta.seconds
    if days and days % 7 == 0 and not seconds:
        amount, unit = days // 7, "week"
    elif days and not seconds:
        amount, unit = days, "day"
    elif seconds % 3600 == 0:
        amount, unit = seconds // 3600, "hour"
    else:
        amount, unit = seconds // 60, "minute"
    return f"every {unit}" if amount == 1 else f"every {amount} {unit}s"


# -- error locations -------------------------------------------------------------------------------------------

def _template_frame(tb: TracebackType | None, env: jinja2.Environment,
                    name: str) -> tuple[str, int | None, str]:
    """The innermost traceback frame inside a template file: (template name, line, that line's source)."""
    found: tuple[str, int | None, str] = (_source_name(env, name), None, "")
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or "/templates/" in filename.replace("\\", "/"):
            found = (_shown_name(filename), tb.tb_lineno, _source_line(filename, tb.tb_lineno))
        tb = tb.tb_next
    return found


def _source_line(filename: str, line: int) -> str:
    try:
        lines = Path(filename).read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _source_name(env: jinja2.Environment, name: str) -> str:
    try:
        filename = env.get_template(name).filename
    except jinja2.TemplateError:
        return name
    return _shown_name(filename or name)


def _shown_name(filename: str) -> str:
    """templates/welcome.md.j2 for a programme's own template, 'welcome.md.j2 (built-in)' otherwise."""
    path = Path(filename)
    try:
        path.relative_to(builtin_templates_dir())
        return f"{path.name} (built-in template)"
    except ValueError:
        pass
    return f"{TEMPLATES_FOLDER}/{path.name}" if path.parent.name == TEMPLATES_FOLDER else str(filename)


def _undefined_message(message: str, source: str = "") -> str:
    """Jinja's "'x' is undefined" / "'dict object' has no attribute 'y'" as a phrase naming the variable
    (with its full dotted name when the template line shows it, e.g. 'recipient.nickname')."""
    match = re.match(r"'(.+)' is undefined", message)
    if match:
        return f"undefined variable '{match.group(1)}'"
    match = re.match(r"'(.+?)' has no (?:attribute|element) '?([^']+)'?", message)
    if match:
        attribute = match.group(2)
        dotted = re.search(rf"([A-Za-z_][\w.]*)\.{re.escape(attribute)}\b", source)
        if dotted:
            return f"undefined variable '{dotted.group(1)}.{attribute}'"
        return f"undefined variable '{attribute}' (not a field of {match.group(1)})"
    return f"undefined variable ({message})"


def render_plain_text(source: str, context: dict[str, Any]) -> str:
    """Render a built-in plain-text template (such as the programme.yaml that `init` writes): sandboxed,
    strict, not escaped and not a message (no `Subject:` line)."""
    env = TemplateSandbox(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return env.from_string(source).render(context)

"""The template sandbox against a battery of known escapes, with the real context of every built-in template.

The contexts are captured from real runs (packs for each mentoring type, every reminder template, the report),
so a new object slipped into a context is caught here. Every escape must be refused as a TemplateError that
names the template file and line; none may render the environment's secrets.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from mentorctl.errors import TemplateError

SECRET = "s3cr3t-PASSWORD-do-not-render"

# Each one is an escape someone has used (or tried) against Jinja; `X` is replaced by an object of the context.
ESCAPES = [
    "X.__class__",
    "X.__class__.__mro__[1].__subclasses__()",
    "X.__class__.__base__.__subclasses__()",
    "X.__init__.__globals__",
    "X.__init__.__globals__.__builtins__",
    "X.__reduce_ex__(2)",
    "X.__dict__",
    "X|attr('__class__')",
    "X.joinpath('/proc/self/environ').read_text()",
    "X.read_text()",
    "X.open()",
    "X.write_text('pwned')",
    "X.format_map({})",
    "'{0.__class__}'.format(X)",
]
GLOBAL_ESCAPES = [
    "cycler.__init__.__globals__.os.environ",
    "cycler()",
    "joiner()",
    "namespace(a=1)",
    "lipsum.__globals__['os'].popen('id').read()",
    "lipsum()",
    "self.__init__.__globals__",
    "self._TemplateReference__context",
    "range.__self__",
    "dict.__class__",
    "dict.fromkeys(['a'])",
    "range(10**7)|list",
    "range(10**7)",
    "'x' * 10**9",
    "10 ** 100000",
    "programme.base_dir.joinpath('/proc/self/environ').read_text()",
    "programme.path",
    "programme.tz.from_file",
    "start_date.today()",
    "request",
    "config.items()",
    "get_flashed_messages.__globals__",
    "url_for.__globals__",
]
INCLUDES = [
    "{% include '/etc/passwd' %}",
    "{% include '../programme.yaml' %}",
    "{% include '../../../../../../etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
    "{% import '../programme.yaml' as p %}",
    "{% include 'sub/../../programme.yaml' %}",
    "{% include '\\\\etc\\\\passwd' %}",
]


# -- the contexts of every built-in template, captured from real runs ---------------------------------------

def _programme_folder(tmp: Path, kind: str, run_cli) -> Path:
    folder = tmp / kind
    result = run_cli("init", kind, "--type", kind, "--dir", tmp)
    assert result.exit_code == 0, result.output
    result = run_cli("match", folder)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def contexts(tmp_path_factory, monkeypatch_module) -> dict[str, tuple[Any, dict[str, Any]]]:
    """{template name: (programme, context)} for every built-in template, from real runs of the CLI."""
    from typer.testing import CliRunner

    import mentorctl.templating as templating
    from mentorctl.cli.main import app
    from mentorctl.programme import load_programme

    runner = CliRunner()

    def run_cli(*args):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    captured: dict[str, dict[str, Any]] = {}
    original = templating.render_template

    def capture(env, name, context):
        captured.setdefault(name, context)
        return original(env, name, context)

    monkeypatch_module.setattr(templating, "render_template", capture)
    tmp = tmp_path_factory.mktemp("contexts")
    found: dict[str, tuple[Any, dict[str, Any]]] = {}

    def collect(folder: Path) -> None:
        programme = load_programme(folder / "programme.yaml")
        for name, context in captured.items():
            found.setdefault(name, (programme, context))
        captured.clear()

    for kind in ("one-to-one", "group", "peer", "reverse"):
        folder = _programme_folder(tmp, kind, run_cli)
        shutil.rmtree(folder / "templates", ignore_errors=True)      # the built-in templates, not copies
        result = run_cli("packs", folder)
        assert result.exit_code == 0, result.output
        collect(folder)

    example = tmp / "example"
    shutil.copytree(Path(__file__).resolve().parents[2] / "programmes" / "example", example,
                    ignore=shutil.ignore_patterns("out", ".mentorctl", "logs"))
    result = run_cli("match", example)
    assert result.exit_code == 0, result.output
    for now in ("2027-01-11T10:30", "2027-01-25T12:00", "2027-02-08T12:00", "2027-04-05T12:00"):
        result = run_cli("remind", example, "--dry-run", "--now", now)
        assert result.exit_code == 0, result.output
    collect(example)
    result = run_cli("report", example)
    assert result.exit_code == 0, result.output
    collect(example)
    result = run_cli("shortlist", example, "--size", "3")
    assert result.exit_code == 0, result.output
    collect(example)
    # self-matching's request mode: a round with every kind of request email (request, reminder, accepted to
    # both, withdrawn, mentor full), rendered by a preview run of `requests` over a saved state
    from mentorctl.selfmatch.requests import Request, RequestState, save_state

    result = run_cli("init", "requests", "--type", "one-to-one", "--dir", tmp)
    assert result.exit_code == 0, result.output
    rounds = tmp / "requests"
    shutil.rmtree(rounds / "templates", ignore_errors=True)
    data = yaml.safe_load((rounds / "programme.yaml").read_text())
    data["self_matching"] = {"mode": "request", "answer_form_url": "https://forms.example.org/answer",
                             "requests": {"remind_after_days": 7, "expire_after_days": 14}}
    (rounds / "programme.yaml").write_text(yaml.safe_dump(data))
    sent, later = "2027-02-01T09:00:00+00:00", "2027-02-03T09:00:00+00:00"
    save_state(load_programme(rounds / "programme.yaml"), RequestState((
        Request("E001", "M002", 1, "accepted", sent, sent, closed=later),
        Request("E001", "M001", 2, "withdrawn", sent, sent, closed=later, note="matched with M002"),
        Request("E002", "M002", 1, "full", sent, sent, closed=later, note="accepted when already at capacity"),
        Request("E003", "M001", 1, "pending", sent, sent, reminded=later))))
    result = run_cli("requests", rounds, "--now", "2027-02-09T10:00")
    assert result.exit_code == 0, result.output
    collect(rounds)
    # a running programme: a pair ends, and packs sends its closure message
    import csv

    with open(example / "out" / "matches.csv", newline="", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    result = run_cli("end", example, first["mentee_id"], first["mentor_id"], "--reason", "completed",
                     "--on", "2027-03-01")
    assert result.exit_code == 0, result.output
    result = run_cli("packs", example, "--on", "2027-03-02")
    assert result.exit_code == 0, result.output
    assert "1 closure message" not in result.stdout and "2 closure messages" in result.stdout
    collect(example)
    return found


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def builtin_template_names() -> list[str]:
    from mentorctl.templating import builtin_templates_dir

    return sorted(p.name for p in builtin_templates_dir().glob("*.j2")
                  if not p.name.startswith("_"))


def test_every_builtin_template_was_rendered(contexts):
    missing = [n for n in builtin_template_names() if n not in contexts]
    assert not missing, f"no run rendered {missing}: add one to the `contexts` fixture"


def test_contexts_hold_plain_data_only(contexts):
    from mentorctl.templating import make_environment

    for name, (programme, context) in contexts.items():
        env = make_environment(programme)
        for path, value in walk({"<context>": _plain(context), "programme": env.globals["programme"]}):
            assert isinstance(value, PLAIN), f"{name}: {path} is a {type(value).__name__}"


# -- the battery ---------------------------------------------------------------------------------------------

PLAIN = (str, int, float, bool, type(None), date, datetime, time, timedelta, dict, list)


def _plain(context):
    from mentorctl.templating import plain

    return plain(context)


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value inside nested dicts and lists, with a Jinja expression reaching it."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            if path == "":
                yield from walk(item, str(key) if str(key).isidentifier() else f"{key!r}")
            else:
                yield from walk(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            yield from walk(item, f"{path}[{index}]")


def render_attack(programme, context: dict[str, Any], tmp_path: Path, source: str,
                  file: str = "attack.md.j2") -> str:
    import jinja2

    from mentorctl import templating

    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / file).write_text(source, encoding="utf-8")
    env = templating.make_environment(programme)
    # the programme's environment, with its templates/ folder moved to a scratch directory
    env.loader = templating._TemplateLoader([jinja2.FileSystemLoader(folder),
                                             jinja2.FileSystemLoader(templating.builtin_templates_dir())])
    return templating.render_template(env, file, context)


def assert_refused(programme, context, tmp_path, expression: str, monkeypatch) -> None:
    monkeypatch.setenv("MENTORCTL_SMTP_PASSWORD", SECRET)
    source = f"Subject: hello\n\nline three\n{{{{ {expression} }}}}\n"
    with pytest.raises(TemplateError) as caught:
        rendered = render_attack(programme, context, tmp_path, source)
        pytest.fail(f"{expression!r} rendered: {rendered[:200]!r}")
    message = str(caught.value)
    assert message.startswith("templates/attack.md.j2, line 4: "), message
    assert SECRET not in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("name", builtin_template_names())
def test_escapes_through_every_object_of_every_context_are_refused(name, contexts, tmp_path, monkeypatch):
    programme, context = contexts[name]
    tried = 0
    objects = [(path, value) for path, value in walk(_plain(context)) if path]
    # Every distinct kind of object at most a few times (each is a compile): the walk below is exhaustive.
    seen: dict[type, int] = {}
    for path, value in objects:
        seen[type(value)] = seen.get(type(value), 0) + 1
        if seen[type(value)] > 2:
            continue
        for escape in ESCAPES:
            assert_refused(programme, context, tmp_path, escape.replace("X", path), monkeypatch)
            tried += 1
    for escape in GLOBAL_ESCAPES:
        assert_refused(programme, context, tmp_path, escape, monkeypatch)
        tried += 1
    assert tried > len(GLOBAL_ESCAPES)


@pytest.mark.parametrize("name", builtin_template_names())
def test_no_attribute_chain_from_any_object_leaves_plain_data(name, contexts):
    """Exhaustive, through the sandbox's own getattr and call (what compiled templates use): from every object
    of the context and the `programme` global, every attribute two steps deep is plain data, a macro, a
    whitelisted method (whose result is plain data), or refused."""
    from jinja2.runtime import Undefined

    from mentorctl.templating import make_environment

    programme, context = contexts[name]
    env = make_environment(programme)
    roots = [value for _, value in walk({"c": _plain(context), "p": env.globals["programme"]})]
    checked = 0
    frontier = list({id(v): v for v in roots}.values())
    for _depth in range(2):
        following = []
        for obj in frontier:
            for attribute in dir(obj):
                value = env.getattr(obj, attribute)
                checked += 1
                if isinstance(value, Undefined):
                    with pytest.raises(Exception) as caught:
                        str(value)
                    assert type(caught.value).__name__ in ("SecurityError", "UndefinedError")
                    continue
                if callable(value):
                    _check_call(env, obj, attribute, value)
                    continue
                assert isinstance(value, PLAIN), f"{type(obj).__name__}.{attribute} gave {type(value).__name__}"
                following.append(value)
        frontier = following[:400]
    assert checked > 100


def _check_call(env, obj, attribute: str, method) -> None:
    """A reachable callable is either refused by the sandbox or a whitelisted method of plain data."""
    from jinja2.exceptions import SecurityError

    from mentorctl.templating import _allowed_method

    if _allowed_method(method):
        assert isinstance(obj, PLAIN), f"{type(obj).__name__}.{attribute} is callable"
        return
    with pytest.raises(SecurityError):
        env.call(None, method)


@pytest.mark.parametrize("source", INCLUDES)
def test_include_of_absolute_and_parent_paths_is_refused(source, contexts, tmp_path, monkeypatch):
    programme, context = contexts["pack.md.j2"]
    (tmp_path / "programme.yaml").write_text(f"password: {SECRET}\n")
    with pytest.raises(TemplateError) as caught:
        render_attack(programme, context, tmp_path, f"Subject: x\n\n{source}\n")
    message = str(caught.value)
    assert message.startswith("templates/attack.md.j2, line 3: "), message
    assert "refused" in message
    assert SECRET not in message


def test_plain_templates_still_work(contexts, tmp_path):
    programme, context = contexts["pack.md.j2"]
    source = ("{% macro shout(x) %}{{ x.upper() }}{% endmacro %}"
              "{{ shout(recipient.name) }}|{{ recipient.name.split(' ')[0] }}|{{ range(3)|list }}|"
              "{% for c in counterparts %}{{ loop.cycle('a', 'b') }}{{ c.name.lower() }}{% endfor %}|"
              "{{ start_date.strftime('%Y') }}|{{ {'a': 1}.items()|list }}|{{ dict(a=1).get('a') }}|"
              "{{ programme.programme.name }}")
    out = render_attack(programme, context, tmp_path, source, file="ok.md.j2")
    name = context["recipient"]["name"]
    assert out.startswith(f"{name.upper()}|{name.split(' ')[0]}|[0, 1, 2]|")
    assert f"|{context['start_date']:%Y}|[('a', 1)]|1|{programme.programme.name}" in out


# -- through the command line ---------------------------------------------------------------------------------

def _example(tmp_path: Path) -> Path:
    target = tmp_path / "example"
    shutil.copytree(Path(__file__).resolve().parents[2] / "programmes" / "example", target,
                    ignore=shutil.ignore_patterns("out", ".mentorctl", "logs"))
    return target


def _override(folder: Path, name: str, line: str) -> None:
    from mentorctl.templating import builtin_templates_dir

    (folder / "templates").mkdir(exist_ok=True)
    text = (builtin_templates_dir() / name).read_text(encoding="utf-8")
    (folder / "templates" / name).write_text(text.rstrip("\n") + "\n" + line + "\n", encoding="utf-8")


def _matches(folder: Path) -> None:
    import csv

    with open(folder / "mentors.csv", encoding="utf-8") as f:
        mentors = list(csv.DictReader(f))[:2]
    with open(folder / "mentees.csv", encoding="utf-8") as f:
        mentees = list(csv.DictReader(f))[:2]
    (folder / "out").mkdir(exist_ok=True)
    with open(folder / "out" / "matches.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["mentee_id", "mentee_name", "mentee_email", "mentor_id", "mentor_name", "mentor_email",
                         "score"])
        for mentee, mentor in zip(mentees, mentors, strict=True):
            writer.writerow([mentee["id"], mentee["name"], mentee["email"], mentor["id"], mentor["name"],
                             mentor["email"], "1"])


THE_ESCAPE = "{{ programme.base_dir.joinpath('/proc/self/environ').read_text() }}"


@pytest.mark.parametrize("template", ["welcome-one-to-one.md.j2", "pack.html.j2", "pack.md.j2"])
def test_packs_with_an_escape_exit_2_naming_the_line_and_write_nothing(template, tmp_path, run_cli,
                                                                        monkeypatch):
    monkeypatch.setenv("MENTORCTL_SMTP_PASSWORD", SECRET)
    folder = _example(tmp_path)
    _matches(folder)
    _override(folder, template, THE_ESCAPE)
    lines = (folder / "templates" / template).read_text(encoding="utf-8").count("\n")
    result = run_cli("packs", folder)
    assert result.exit_code == 2, result.output
    assert f"templates/{template}, line {lines}: " in result.stderr
    assert "Traceback" not in result.output
    assert SECRET not in result.output
    assert not (folder / "out" / "packs").exists() or not any((folder / "out" / "packs").iterdir())


def test_remind_with_an_escape_exits_2(tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("MENTORCTL_SMTP_PASSWORD", SECRET)
    folder = _example(tmp_path)
    _matches(folder)
    _override(folder, "checkin.md.j2", "{{ recipient.name.__class__.__mro__[1].__subclasses__() }}")
    result = run_cli("remind", folder, "--dry-run", "--now", "2027-01-25T12:00")
    assert result.exit_code == 2, result.output
    assert "templates/checkin.md.j2, line " in result.stderr
    assert "not allowed in a template" in result.stderr
    assert "Traceback" not in result.output
    assert SECRET not in result.output


def test_report_with_a_huge_range_exits_2(tmp_path, run_cli):
    folder = _example(tmp_path)
    _matches(folder)
    _override(folder, "report.html.j2", "{{ range(10**7) }}")
    result = run_cli("report", folder)
    assert result.exit_code == 2, result.output
    assert "templates/report.html.j2, line " in result.stderr
    assert "range" in result.stderr
    assert "Traceback" not in result.output


def test_write_escape_writes_no_file(tmp_path, run_cli):
    folder = _example(tmp_path)
    _matches(folder)
    target = tmp_path / "pwned.txt"
    _override(folder, "pack.md.j2", f"{{{{ programme.base_dir.joinpath('{target}').write_text('pwned') }}}}")
    result = run_cli("packs", folder)
    assert result.exit_code == 2, result.output
    assert not target.exists()


def test_programme_global_is_plain_data(tmp_path):
    from mentorctl.programme import load_programme
    from mentorctl.templating import make_environment

    folder = _example(tmp_path)
    env = make_environment(load_programme(folder / "programme.yaml"))
    data = env.globals["programme"]
    assert isinstance(data, dict) and data["programme"]["name"]
    assert all(isinstance(v, PLAIN) for _, v in walk(data))
    assert "base_dir" not in data and "path" not in data
    assert yaml.safe_dump(data)  # plain enough for YAML

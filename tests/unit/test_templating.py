"""The sandboxed, strict template environment: overrides, escaping, filters and friendly errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mentorctl.errors import TemplateError
from mentorctl.templating import (
    builtin_templates_dir,
    join_list,
    make_environment,
    markdown_to_html,
    markdown_to_text,
    render_message,
    render_template,
)


def fake_programme(folder: Path, tz: str = "Europe/London") -> SimpleNamespace:
    """Just what make_environment and the e-mail layout use."""
    return SimpleNamespace(base_dir=folder, tz=ZoneInfo(tz),
                           programme=SimpleNamespace(name="Pilot", organisation=None))


def with_templates(tmp_path: Path, **files: str):
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return make_environment(fake_programme(tmp_path))


def test_programme_templates_override_builtin_ones_by_name(tmp_path):
    env = with_templates(tmp_path, email_layout__html__j2="OWN {{ subject }}")
    assert render_template(env, "email_layout.html.j2", {"subject": "s"}) == "OWN s"
    plain = make_environment(fake_programme(tmp_path / "elsewhere"))
    assert "<!DOCTYPE html>" in render_template(plain, "email_layout.html.j2", {"subject": "s", "body_html": ""})


def test_builtin_templates_dir_holds_the_shipped_templates():
    assert (builtin_templates_dir() / "email_layout.html.j2").is_file()


def test_html_is_escaped_and_text_is_not(tmp_path):
    env = with_templates(tmp_path, page__html__j2="<p>{{ name }}</p>", note__md__j2="Hi {{ name }}")
    assert render_template(env, "page.html.j2", {"name": "<script>x</script>"}) == \
        "<p>&lt;script&gt;x&lt;/script&gt;</p>"
    assert render_template(env, "note.md.j2", {"name": "<b>"}) == "Hi <b>"


def test_message_has_subject_text_and_escaped_html(tmp_path):
    env = with_templates(tmp_path, hello__md__j2="Subject: Welcome, {{ name }}\n\nHello **{{ name }}**\n\n"
                                                 "- see [the guide](https://example.org/guide)\n")
    message = render_message(env, "hello.md.j2", {"name": "<script>"})
    assert message.subject == "Welcome, <script>"
    assert message.text == "Hello <script>\n\n- see the guide (https://example.org/guide)\n"  # no Markdown syntax
    assert "<strong>&lt;script&gt;</strong>" in message.html
    assert '<li>see <a href="https://example.org/guide">the guide</a></li>' in message.html
    assert "<script>" not in message.html
    assert "Pilot" in message.html


def test_message_without_subject_line_is_an_error(tmp_path):
    env = with_templates(tmp_path, bad__md__j2="Hello\n")
    with pytest.raises(TemplateError, match="Subject"):
        render_message(env, "bad.md.j2", {})


def test_undefined_variable_names_template_line_and_variable(tmp_path):
    env = with_templates(tmp_path, w__md__j2="Subject: x\n\nHello {{ recipient.name }}\n{{ recipient.nickname }}\n")
    with pytest.raises(TemplateError) as caught:
        render_message(env, "w.md.j2", {"recipient": {"name": "Ana"}})
    error = caught.value
    assert error.exit_code == 2
    assert str(error).startswith("templates/w.md.j2, line 4: undefined variable 'recipient.nickname'")


def test_undefined_top_level_variable(tmp_path):
    env = with_templates(tmp_path, w__md__j2="Subject: x\n\n{{ nobody }}\n")
    with pytest.raises(TemplateError, match=r"templates/w.md.j2, line 3: undefined variable 'nobody'"):
        render_template(env, "w.md.j2", {})


def test_syntax_error_names_template_and_line(tmp_path):
    env = with_templates(tmp_path, w__md__j2="Subject: x\n\n{% if x %}\nno end\n")
    with pytest.raises(TemplateError, match=r"templates/w.md.j2, line \d+: template syntax error"):
        render_template(env, "w.md.j2", {"x": 1})


def test_missing_template(tmp_path):
    env = with_templates(tmp_path)
    with pytest.raises(TemplateError, match="template 'nope.md.j2' not found"):
        render_template(env, "nope.md.j2", {})


def test_sandbox_blocks_internals(tmp_path):
    env = with_templates(tmp_path, evil__md__j2="{{ x.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError):
        render_template(env, "evil.md.j2", {"x": "s"})


def test_filters(tmp_path):
    env = with_templates(tmp_path, f__md__j2="{{ d | date }}|{{ d | date('short') }}|{{ t | datetime }}|"
                                             "{{ t | time }}|{{ xs | join_list }}|{{ '2w' | every }}")
    out = render_template(env, "f.md.j2", {"d": date(2026, 1, 15), "t": datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
                                           "xs": ["a", "b", "c"]})
    assert out == ("Thursday 15 January 2026|15 Jan 2026|Monday 1 June 2026, 09:00 (Europe/London)|09:00|"
                   "a, b and c|every 2 weeks")


def test_join_list_edge_cases():
    assert join_list([]) == "" and join_list(["a"]) == "a" and join_list(["a", "", None, "b"]) == "a and b"
    assert join_list("already text") == "already text"


def test_markdown_subset():
    html = markdown_to_html("# Title\n\nLine one\nline two\n\n1. first\n2. second\n\n*soft* and **bold**")
    assert html == ("<h2>Title</h2>\n<p>Line one<br>\nline two</p>\n<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n"
                    "<p><em>soft</em> and <strong>bold</strong></p>")


# -- Markdown through markdown-it-py: what the hand-written subset rendered wrongly, and safe mode ------------

def test_code_spans_are_code_and_their_content_stays_as_written():
    html = markdown_to_html("Run `mentorctl **report**` now")
    assert html == "<p>Run <code>mentorctl **report**</code> now</p>"
    assert markdown_to_text("Run `mentorctl **report**` now") == "Run `mentorctl **report**` now"


def test_nested_lists_nest():
    html = markdown_to_html("- fruit\n  - apple\n  - pear\n- bread\n")
    assert html == "<ul>\n<li>fruit\n<ul>\n<li>apple</li>\n<li>pear</li>\n</ul>\n</li>\n<li>bread</li>\n</ul>"
    assert markdown_to_text("- fruit\n  - **apple**\n") == "- fruit\n  - apple\n"


def test_links_with_parentheses_keep_their_whole_target():
    source = "see [Mentoring](https://en.wikipedia.org/wiki/Mentorship_(business)) today"
    assert markdown_to_html(source) == ('<p>see <a href="https://en.wikipedia.org/wiki/Mentorship_(business)">'
                                        "Mentoring</a> today</p>")
    assert markdown_to_text(source) == "see Mentoring (https://en.wikipedia.org/wiki/Mentorship_(business)) today"


def test_double_underscore_is_bold_and_snake_case_is_not_emphasis():
    assert markdown_to_html("__Kick-off__ in room_a_b") == "<p><strong>Kick-off</strong> in room_a_b</p>"
    assert markdown_to_text("__Kick-off__ in room_a_b") == "Kick-off in room_a_b"


def test_raw_html_is_escaped_not_rendered():
    html = markdown_to_html('<script>alert(1)</script>\n\nHi <b onclick="x()">there</b>\n')
    assert "<script>" not in html and "<b " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b onclick=&quot;x()&quot;&gt;there&lt;/b&gt;" in html
    assert markdown_to_text("Hi <b>there</b>\n") == "Hi <b>there</b>\n"   # the text part shows it as written


@pytest.mark.parametrize("target", ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)",
                                    "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)",
                                    "ftp://example.org/f", "file:///etc/passwd", "relative/page.html"])
def test_links_other_than_http_https_mailto_are_not_links(target):
    for source in (f"[click me]({target})", f"<{target.strip()}>"):
        html = markdown_to_html(source)
        assert "<a " not in html and "href" not in html, (source, html)


def test_http_https_mailto_links_and_bare_addresses_are_links():
    html = markdown_to_html("[a](http://a.example) [b](https://b.example/x?y=1&z=2) [c](mailto:c@example.org) "
                            "<https://d.example> and write to e@example.org or see https://f.example/g.")
    assert '<a href="http://a.example">a</a>' in html
    assert '<a href="https://b.example/x?y=1&amp;z=2">b</a>' in html
    assert '<a href="mailto:c@example.org">c</a>' in html
    assert '<a href="https://d.example">https://d.example</a>' in html
    assert '<a href="mailto:e@example.org">e@example.org</a>' in html
    assert '<a href="https://f.example/g">https://f.example/g</a>.' in html
    assert markdown_to_html("`https://g.example` [x](https://h.example/e@example.org)") == (
        '<p><code>https://g.example</code> <a href="https://h.example/e@example.org">x</a></p>')


def test_text_part_shows_bare_addresses_as_written_and_link_targets_once():
    assert markdown_to_text("Write to ana@example.org or https://x.example/a.\n") == \
        "Write to ana@example.org or https://x.example/a.\n"
    assert markdown_to_text("[the guide](https://x.example/g), <https://y.example>, [b@example.org](mailto:b@example.org)") == \
        "the guide (https://x.example/g), https://y.example, b@example.org (mailto:b@example.org)"


def test_a_line_at_the_margin_after_a_list_is_a_paragraph_not_part_of_the_last_item():
    # as a template's {% for %} loop writes a list: no blank line before the text that follows
    assert markdown_to_html("- Ada: ada@example.org\n- Bo\nQuestions? Write to us.\n") == (
        '<ul>\n<li>Ada: <a href="mailto:ada@example.org">ada@example.org</a></li>\n<li>Bo</li>\n</ul>\n'
        "<p>Questions? Write to us.</p>")
    assert markdown_to_html("- item\n  continued\n```\n- a\ncode\n```\n") == (
        "<ul>\n<li>item<br>\ncontinued</li>\n</ul>\n<pre><code>- a\ncode\n</code></pre>")


def test_images_are_not_embedded():
    assert "<img" not in markdown_to_html("![pixel](https://tracker.example/p.gif)")


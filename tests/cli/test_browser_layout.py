"""report.html, matches.html and a pack in headless Chromium: nothing wider than a 390 px phone or 1280 px."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser import CHROMIUM, SKIP_REASON, measure

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=SKIP_REASON)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    import shutil

    from typer.testing import CliRunner

    from mentorctl.cli.main import app

    example = Path(__file__).resolve().parents[2] / "programmes" / "example"
    folder = tmp_path_factory.mktemp("browser") / "example"
    shutil.copytree(example, folder, ignore=shutil.ignore_patterns("out", ".mentorctl", "logs"))
    runner = CliRunner()
    for args in (["match", folder], ["packs", folder, "--only", "E0001"], ["report", folder]):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    out = folder / "out"
    # a running programme's report adds the relationships section: end one pair, report into out/running
    first = (out / "matches.csv").read_text(encoding="utf-8").splitlines()[1].split(",")
    for args in (["end", folder, first[0], first[3], "--reason", "not-a-fit", "--on", "2027-02-01"],
                 ["report", folder, "--out", out / "running"]):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    running = out / "running" / "report.html"
    assert "<h2>Relationships</h2>" in running.read_text(encoding="utf-8")
    return {"report": out / "report.html", "matches": out / "matches.html", "pack": out / "packs" / "mentee-E0001.html",
            "running report": running}


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("name", ["report", "matches", "pack", "running report"])
def test_nothing_overflows_the_page_width(pages, name, width, tmp_path):
    size = measure(pages[name], width, tmp_path)
    assert size["client"] <= width
    assert size["scroll"] <= size["client"], f"{name} at {width} px is {size['scroll']} px wide: {size['wide']}"
    assert not size["wide"], f"{name} at {width} px: elements past the edge: {size['wide']}"

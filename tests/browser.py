"""Headless Chromium for layout tests: does a page fit the width of a phone (390 px) and of a laptop (1280 px)?

Chromium's headless window is at least 500 px wide, so the page is loaded in an iframe of the wanted width
inside a host page; a probe script injected into (a copy of) the page measures the document's scroll width
against its client width and the elements reaching past it, and posts that to the host page, whose DOM
`--dump-dom` prints. Tests skip with a reason where Chromium is not installed (`.ci/run` installs it on CI).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)
SKIP_REASON = "Chromium is not installed (CI installs it in .ci/run: apt-get install chromium)"

PROBE = """<script>(function () {
  var root = document.documentElement, limit = root.clientWidth, wide = [];
  Array.prototype.forEach.call(document.body.getElementsByTagName("*"), function (el) {
    var box = el.getBoundingClientRect();
    if (box.right > limit + 1 && wide.length < 5 && !el.closest(".scroll")) {
      wide.push(el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined ? "." + el.className : "")
                + " " + Math.round(box.right));
    }
  });
  parent.postMessage(JSON.stringify({scroll: root.scrollWidth, client: limit, wide: wide}), "*");
})();</script>"""

HOST = """<!DOCTYPE html><html><body style="margin:0"><pre id="measured">none</pre>
<iframe src="{page}" width="{width}" height="900" style="border:0"></iframe>
<script>addEventListener("message", function (e) {{ document.getElementById("measured").textContent = e.data; }});
</script></body></html>"""


def measure(page: Path, width: int, work: Path) -> dict:
    """{scroll, client, wide}: the page's scroll width and client width (CSS px) at `width`, and up to five
    elements (outside horizontally scrolling `.scroll` boxes) whose right edge passes the page's width."""
    work.mkdir(parents=True, exist_ok=True)
    html = page.read_text(encoding="utf-8")
    probed = work / f"probed-{page.stem}.html"
    probed.write_text(re.sub(r"</body>", PROBE + "</body>", html, count=1), encoding="utf-8")
    host = work / f"host-{page.stem}-{width}.html"
    host.write_text(HOST.format(page=probed.name, width=width), encoding="utf-8")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={work / 'profile'}", "--window-size=1400,1000", "--virtual-time-budget=5000",
               "--dump-dom", host.as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1) != "none", f"the page did not report its size: {done.stderr[-500:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))

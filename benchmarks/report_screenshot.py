"""The HTML report as a user sees it: `analyze --explain --report` on the bundled support call, rendered by
headless Chromium into a PNG (the test suite checks the report's structure; this shows the pixels).

    python benchmarks/report_screenshot.py      # needs `chromium` (Debian: apt-get install chromium)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT  # noqa: E402


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no Chromium found; install it (Debian: apt-get install chromium)")
    report, screenshot = RESULTS / "report_example.html", RESULTS / "report_example.png"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "emotrace",
            "analyze",
            str(ROOT / "examples" / "support_call.txt"),
            "--explain",
            "--report",
            str(report),
            "-o",
            str(RESULTS / "report_example.json"),
        ],
        check=True,
    )
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            "--window-size=1280,2600",
            report.resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
    )
    print(f"wrote {report} and {screenshot}")


if __name__ == "__main__":
    main()

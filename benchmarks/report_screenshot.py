"""What a user sees, as pixels: the HTML report (`analyze --explain --report` on the bundled support call), the
`emotrace summarize` page over the bundled examples, and the web page's live mode after the support call typed in
turn by turn, each rendered by headless Chromium into a PNG under benchmarks/results/ (the tests check structure;
these show the pixels).

    python benchmarks/report_screenshot.py      # needs `chromium` (Debian: apt-get install chromium chromium-driver) and selenium
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ROOT, RUNS  # noqa: E402

EXAMPLES = ROOT / "examples"


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("no Chromium found; install it (Debian: apt-get install chromium)")
    report = RESULTS / "report_example.html"
    emotrace("analyze", str(EXAMPLES / "support_call.txt"), "--explain", "--report", str(report), "-o", str(RESULTS / "report_example.json"))
    screenshot(browser, report, RESULTS / "report_example.png", height=2600)

    outputs = RUNS / "screenshots"
    outputs.mkdir(parents=True, exist_ok=True)
    for example in ("support_call.txt", "team_meeting.jsonl", "interview.srt"):
        emotrace("analyze", str(EXAMPLES / example), "-o", str(outputs / f"{Path(example).stem}.json"))
    summary = outputs / "summary.html"
    emotrace("summarize", *(str(outputs / f"{Path(example).stem}.json") for example in ("support_call", "team_meeting", "interview")), "-o", str(summary))
    screenshot(browser, summary, RESULTS / "summarize_example.png", height=2000)

    live_screenshot(browser, RESULTS / "live_mode.png")
    print(f"wrote {report}, {RESULTS / 'report_example.png'}, {RESULTS / 'summarize_example.png'} and {RESULTS / 'live_mode.png'}")


def emotrace(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "emotrace", *args], check=True)


def screenshot(browser: str, page: Path, png: Path, height: int) -> None:
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--screenshot={png}", f"--window-size=1280,{height}"]
    subprocess.run([*command, page.resolve().as_uri()], check=True, capture_output=True)


def live_screenshot(browser: str, png: Path) -> None:
    """`emotrace serve` in a subprocess (load_test.py's); the page's live mode driven by selenium through the first
    conversation of the support call, one typed turn at a time, waiting for each answer."""
    from load_test import LOGS, serve
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    turns = [line for line in (EXAMPLES / "support_call.txt").read_text(encoding="utf-8").split("\n\n")[0].splitlines() if not line.startswith("#")]
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1500"):
        options.add_argument(flag)
    LOGS.mkdir(parents=True, exist_ok=True)
    with serve("default", "auto", 32, "screenshot") as (url, _, _):
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
        try:
            driver.get(url + "/")
            driver.find_element(By.ID, "mode-live").click()
            for count, line in enumerate(turns, start=1):
                speaker, text = line.split(": ", 1)
                driver.find_element(By.ID, "live-speaker").clear()
                driver.find_element(By.ID, "live-speaker").send_keys(speaker)
                driver.find_element(By.ID, "live-text").send_keys(text)
                driver.find_element(By.ID, "live-send").click()
                WebDriverWait(driver, 120).until(lambda d, count=count: len(d.find_elements(By.CSS_SELECTOR, "#live-turns li")) == count)
            driver.save_screenshot(str(png))
        finally:
            driver.quit()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Loads a page in headless Chromium and reports what its Content-Security-Policy did.

usage: csp.py URL
Prints one JSON line: {"rendered": bool (the page's own script filled #status), "status": str,
"miner_started": bool (window.minerStarted, set by an injected script), "violations": [console messages about the
Content Security Policy], "integrity_failures": [console messages about subresource integrity]}.
Exit status 0 when the page loaded.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def main() -> int:
    url = sys.argv[1]
    options = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,800"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(url)
        deadline = time.monotonic() + 15
        status = ""
        while time.monotonic() < deadline:
            status = driver.execute_script("var e = document.getElementById('status'); return e ? e.textContent : ''")
            if status and "Loading" not in status:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # let late violation reports reach the console
        miner = driver.execute_script("return window.minerStarted === true")
        logs = driver.get_log("browser")
        violations = [entry["message"] for entry in logs if "Content Security Policy" in entry["message"]]
        integrity = [entry["message"] for entry in logs if "'integrity' attribute" in entry["message"]]
        print(json.dumps({"rendered": bool(status) and "Loading" not in status, "status": status,
                          "miner_started": miner, "violations": violations, "integrity_failures": integrity}), flush=True)
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())

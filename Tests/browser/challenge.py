#!/usr/bin/env python3
"""Drives a real headless Chromium through Pnyx's bot challenge.

usage: challenge.py URL [RUNS]
Loads URL in a fresh browser profile RUNS times (default 1); each time waits until the page is no longer the
challenge, and prints one JSON line: {"passed": bool, "seconds": float, "title": str, "cookie": bool}.
Exit status 0 only if every run passed.
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def on_challenge(driver) -> bool:
    try:
        return "/.pnyx/" in driver.current_url or 'id="status"' in driver.page_source
    except Exception:  # the page is being replaced
        return True


def run(url: str) -> dict:
    options = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,800"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        started = time.monotonic()
        driver.get(url)
        deadline = started + 30
        passed = False
        while time.monotonic() < deadline:
            if not on_challenge(driver):
                passed = True
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        title = driver.title
        cookie = driver.get_cookie("pnyx_clearance") is not None
        return {"passed": passed, "seconds": round(elapsed, 3), "title": title, "cookie": cookie}
    finally:
        driver.quit()


def main() -> int:
    url = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    ok = True
    for _ in range(runs):
        result = run(url)
        print(json.dumps(result), flush=True)
        ok = ok and result["passed"] and result["cookie"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

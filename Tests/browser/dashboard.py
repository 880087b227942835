#!/usr/bin/env python3
"""Drives a real headless Chromium through Pnyx's dashboard.

usage: dashboard.py ADMIN_URL USER PASSWORD TOTP_SECRET SITE SCREENSHOT_DIR
Signs in with the password and a TOTP code computed from the secret, saves a screenshot of the overview, opens the
site's page, turns under-attack mode on with the button, and checks the page says so. Prints one JSON line:
{"signed_in": bool, "overview_title": str, "under_attack": "ON"|"off", "csp_errors": [...], "screenshots": [...],
"alerts_title": str, "integrity_title": str}.
Exit status 0 only if every step worked and the browser reported no Content-Security-Policy violation.
"""
import base64
import hashlib
import hmac
import json
import struct
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def totp(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def main() -> int:
    admin, user, password, secret, site, shots = sys.argv[1:7]
    options = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1400"]:
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    result = {"signed_in": False, "overview_title": "", "blocked_shown": "", "under_attack": "", "csp_errors": [], "screenshots": []}
    try:
        driver.get(admin + "/")
        assert "/login" in driver.current_url, driver.current_url
        driver.find_element(By.ID, "user").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.ID, "code").send_keys(totp(secret, time.time()))
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        time.sleep(0.5)
        result["signed_in"] = "/login" not in driver.current_url and driver.get_cookie("pnyx_session") is not None
        result["overview_title"] = driver.title
        result["blocked_shown"] = driver.find_element(By.CSS_SELECTOR, "main section p strong").text
        path = f"{shots}/dashboard-overview.png"
        driver.save_screenshot(path)
        result["screenshots"].append(path)
        driver.get(f"{admin}/sites/{site}")
        driver.find_element(By.ID, "toggle-under-attack").click()
        time.sleep(0.5)
        result["under_attack"] = driver.find_element(By.ID, "under-attack-state").text
        path = f"{shots}/dashboard-site.png"
        driver.save_screenshot(path)
        result["screenshots"].append(path)
        driver.get(f"{admin}/events")
        path = f"{shots}/dashboard-events.png"
        driver.save_screenshot(path)
        result["screenshots"].append(path)
        driver.get(f"{admin}/alerts")
        result["alerts_title"] = driver.find_element(By.TAG_NAME, "h1").text
        path = f"{shots}/dashboard-alerts.png"
        driver.save_screenshot(path)
        result["screenshots"].append(path)
        driver.get(f"{admin}/sites/{site}/integrity")
        result["integrity_title"] = driver.find_element(By.TAG_NAME, "h1").text
        path = f"{shots}/dashboard-integrity.png"
        driver.save_screenshot(path)
        result["screenshots"].append(path)
        for entry in driver.get_log("browser"):
            if "Content Security Policy" in entry.get("message", "") or "Refused to" in entry.get("message", ""):
                result["csp_errors"].append(entry["message"])
    finally:
        driver.quit()
    print(json.dumps(result), flush=True)
    ok = result["signed_in"] and result["under_attack"] == "ON" and not result["csp_errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

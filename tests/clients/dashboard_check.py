"""The dashboard in a real browser (Debian's headless Chromium through Selenium):

    python dashboard_check.py BASE_URL MODEL_ID [--key KEY] [--shots DIR]

Checks that the page loads without console errors and shows the model and the devices; that a
playground message streams a reply that grows on screen and equals the API's greedy answer;
that Stop ends a long reply (and the server frees the slot); that the tokens/s chart gains
points and the request table lists the requests; keyboard focus, dark mode and a phone-width
window. With --shots, screenshots (idle, in use, narrow) go to DIR.
"""

import argparse
import json
import os
import tempfile
import threading
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("model")
p.add_argument("--key")
p.add_argument("--shots")
a = p.parse_args()


def api(path, body=None):
    req = urllib.request.Request(a.url + path, data=json.dumps(body).encode() if body else None,
                                 headers={"content-type": "application/json"})
    if a.key:
        req.add_header("Authorization", "Bearer " + a.key)
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def until(what, check, timeout=120, every=0.1):
    end = time.time() + timeout
    while time.time() < end:
        try:
            v = check()
        except StaleElementReferenceException:
            v = None  # the page redrew what was being read (it polls every second): read again
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out waiting for " + what)


opts = webdriver.ChromeOptions()
opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
for f in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--user-data-dir=" + tempfile.mkdtemp(), "--window-size=1280,800"):
    opts.add_argument(f)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)
by_id = lambda i: driver.find_element(By.ID, i)
shot = lambda name: a.shots and driver.save_screenshot(os.path.join(a.shots, name))

try:
    driver.get(a.url + "/")
    if a.key:
        until("the key dialog", lambda: by_id("key-dialog").get_attribute("open") is not None)
        by_id("key-input").send_keys(a.key + Keys.ENTER)
    until("the model name", lambda: by_id("model-name").text == a.model)
    until("the model loaded", lambda: by_id("state").text == "loaded")
    devices = until("the device list", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr")])
    assert any("CPU" in d for d in devices), devices
    served = until("the models table", lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#models tbody tr")])
    assert any(a.model in r and "loaded" in r for r in served), served
    facts = by_id("model-facts").text
    assert "architecture" in facts and "parameters" in facts, facts
    shot("dashboard-idle.png")

    # A reply that streams: the bubble grows while the request runs, then equals the API's.
    question = "Name three primary colors, comma separated."
    by_id("temperature").clear(); by_id("temperature").send_keys("0")
    by_id("max-tokens").clear(); by_id("max-tokens").send_keys("32")
    by_id("message").send_keys(question)
    by_id("send").click()
    bubble = until("a reply", lambda: (driver.find_elements(By.CSS_SELECTOR, ".msg.assistant") or [None])[-1])
    lengths = []
    while bubble.get_attribute("data-state") == "streaming":
        lengths.append(len(bubble.text))
        time.sleep(0.02)
    assert bubble.get_attribute("data-state") == "done", bubble.get_attribute("data-state")
    grew = sorted(set(lengths))
    assert len(grew) >= 3, ("the reply should grow on screen", grew)
    want = api("/v1/chat/completions", {"messages": [{"role": "user", "content": question}], "temperature": 0, "max_tokens": 32})
    assert bubble.text == want["choices"][0]["message"]["content"].strip() or bubble.text == want["choices"][0]["message"]["content"], (bubble.text, want)
    assert "generated" in by_id("figures").text, by_id("figures").text

    # The chart gains points while requests run (load from another client meanwhile).
    points = lambda: int(by_id("chart-gen").get_attribute("data-points") or 0)
    before = points()
    load = threading.Thread(target=lambda: api("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 48, "temperature": 0.8}))
    load.start()

    # Stop ends a long reply; the server frees its slot.
    by_id("max-tokens").clear(); by_id("max-tokens").send_keys("2000")
    by_id("message").send_keys("Write a very long story about the sea.")
    by_id("send").click()
    long = until("a second reply", lambda: len(driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")) == 2 and driver.find_elements(By.CSS_SELECTOR, ".msg.assistant")[-1])
    until("some text", lambda: len(long.text) > 40)
    if a.shots:
        # The whole page at once: live charts, requests and the streaming reply.
        driver.set_window_size(1280, 2000)
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(1.2)
        shot("dashboard-in-use.png")
        driver.set_window_size(1280, 800)
    by_id("stop").click()
    until("stopped", lambda: long.get_attribute("data-state") == "stopped", timeout=10)
    load.join()
    until("the slot freed", lambda: api("/api/status")["live"]["samples"][-1]["active"] == 0, timeout=15)
    stopped = [r for r in api("/api/status")["requests"] if r["gen_tokens"] < 2000 and r["path"] == "/v1/chat/completions"]
    assert stopped, "the stopped request is in the log"
    until("more chart points", lambda: points() > before)
    table = lambda: [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#request-table tbody tr")]
    listed = lambda rows: sum("/v1/chat/completions" in r for r in rows) >= 3 and any("/v1/completions" in r for r in rows)
    try:
        until("request rows", lambda: listed(table()), timeout=15)
    except AssertionError:
        raise AssertionError(("the request table should list every request", table()))

    # Keyboard: Tab reaches the message box and the send button.
    driver.find_element(By.TAG_NAME, "body").click()
    seen = set()
    for _ in range(40):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        seen.add(driver.switch_to.active_element.get_attribute("id"))
    assert {"message", "send", "temperature", "system-prompt"} <= seen, seen

    # Dark mode: dark background, light text.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    fg = driver.execute_script("return getComputedStyle(document.body).color")
    level = lambda c: sum(int(x) for x in c[c.index("(") + 1:c.index(")")].split(",")[:3]) / 3
    assert level(bg) < 60 and level(fg) > 180, (bg, fg)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})

    # A phone-width window: nothing wider than the screen.
    driver.set_window_size(390, 844)
    time.sleep(0.5)
    wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 1, wide
    shot("dashboard-narrow.png")

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
    print("ok dashboard")
finally:
    driver.quit()

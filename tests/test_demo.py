"""The demo, README's first command (``scripts/demo.sh``), run as a user runs it (bootstrap included), on two
letters instead of the whole sample mail (``DEMO_SAMPLES``): it prints the web UI's address and a sign-in for
each role, and each printed sign-in opens the web UI in a real headless Chromium (the demo's data served again)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from playwright.sync_api import Browser, expect
from servicekit import REPO, SAMPLES, free_port, service_env
from uikit import PageCheck, UiServer, sign_in

LETTERS = ["0027-enquiry.pdf", "0000-invoice.pdf"]
#: The demo's accounts: role and the page each starts on.
ACCOUNTS = {"demo-pruefer": ("reviewer", "/ui/review"), "demo-verwaltung": ("admin", "/ui/review"),
            "demo-sachbearbeitung": ("clerk", "/ui/postboxes"), "demo-scanstation": ("station", "/ui/station")}


def _run_demo(env: dict[str, str]) -> tuple[str, str]:
    demo = subprocess.Popen(["scripts/demo.sh"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = demo.communicate(timeout=1200)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.communicate(timeout=60)
        raise
    assert demo.returncode == 0, (out + err)[-4000:]
    return out, err


def test_the_demo_prints_the_web_ui_and_a_working_sign_in_per_role(tmp_path: Path, browser: Browser) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    for name in LETTERS:
        shutil.copy(SAMPLES / name, samples / name)
    data, port = tmp_path / "demo", free_port()
    env = service_env(data, DEMO_EXIT="1", PORT=str(port), DEMO_SAMPLES=str(samples))
    # twice on the same data, as a user runs it again: the second run makes new keys and sign-ins (key names are
    # never reused; the second run once stopped there without a word)
    for _ in range(2):
        out, err = _run_demo(env)
    active = [json.loads(line) for line in subprocess.run(
        [str(REPO / ".venv/bin/mailroom"), "keys", "list", "--json"], env=env, capture_output=True, text=True,
        check=True).stdout.splitlines()]
    assert sorted(key["role"] for key in active if key["name"].startswith("demo-")) == ["admin", "station"]
    assert f"web UI            http://127.0.0.1:{port}/ui/   sign in as" in err
    printed = {name: (role, password) for name, role, password
               in re.findall(r"^ +(demo-[a-z]+) +([a-z]+) +password (\S+)$", err, re.MULTILINE)}
    assert {name: role for name, (role, _) in printed.items()} == {n: r for n, (r, _) in ACCOUNTS.items()}
    signins = data / "demo-signins.txt"
    assert signins.stat().st_mode & 0o077 == 0  # readable by the owner alone
    for _, password in printed.values():
        assert password in signins.read_text() and password not in out  # results on stdout, never a password

    check = PageCheck(tmp_path / "screenshots")
    server = UiServer(data).start()  # the demo's data directory, served again
    try:
        for name, (role, start) in ACCOUNTS.items():
            page = browser.new_context(locale="de-DE", viewport={"width": 1400, "height": 1000}).new_page()
            try:
                sign_in(page, server.base, name, printed[name][1])
                expect(page).to_have_url(f"{server.base}{start}")
                expect(page.get_by_text(re.compile(f"Angemeldet als {name}"))).to_be_visible()
                if role == "station":  # the station sees the demo's uploads
                    for letter in LETTERS:
                        expect(page.locator("#upload-table")).to_contain_text(letter)
                if role == "clerk":
                    expect(page.locator('#postboxes tr[data-postbox="kaemmerei-rechnungseingang"]')).to_have_count(1)
                check(page, f"demo-{role}")
            finally:
                page.context.close()
    finally:
        server.stop()

"""Helpers of the web UI's end-to-end tests: a real ``mailroom serve``, user accounts made with ``mailroom users``
(password on standard input, never on the command line), Debian's Chromium driven by Playwright (no browser
download), a screenshot of every page and an axe-core check (the axe JavaScript ships inside the
``axe-playwright-python`` package: no network)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from servicekit import REPO, SAMPLES, SETTLED, Process, free_port, service_env, wait_for, wait_http

#: How long an expectation waits by default: a page whose answer does real work (a rule set validated, a draft
#: stored, a password hashed with argon2id) takes seconds on a loaded two-core CI machine, not Playwright's 5 s.
expect.set_options(timeout=20_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: axe findings of these impacts fail a test.
BLOCKING_IMPACTS = {"serious", "critical"}


class UiServer:
    """``mailroom serve`` on a private port and data directory."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = service_env(data_dir, **env)
        self.process = Process(["serve", "--port", str(self.port), "--concurrency", "1"], self.env,
                               data_dir / "serve.log")

    def start(self) -> UiServer:
        self.process.start()
        try:
            wait_http(self.base, timeout=120)
        except AssertionError:
            self.stop()
            raise AssertionError((self.data_dir / "serve.log").read_text()[-3000:]) from None
        return self

    def stop(self) -> None:
        self.process.stop()

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", *args], env=self.env, input=stdin, capture_output=True,
                              text=True, cwd=REPO, timeout=120)

    def user(self, name: str, role: str, password: str, *scope: str) -> None:
        done = self.cli("users", "create", name, "--role", role, *scope, "--password-file", "-",
                        stdin=password + "\n")
        assert done.returncode == 0, done.stderr

    def key(self, role: str, name: str, *scope: str) -> str:
        done = self.cli("keys", "create", "--role", role, "--name", name, *scope)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=f"{self.base}/api/v1", headers={"Authorization": f"Bearer {token}"},
                            timeout=60)

    def upload(self, token: str, path: Path) -> str:
        with self.api(token) as client, open(path, "rb") as handle:
            answer = client.post("/documents", files={"file": (path.name, handle)})
        assert answer.status_code in (200, 202), answer.text
        return str(answer.json()["document_id"])

    def wait_settled(self, token: str, document_id: str, timeout: float = 600) -> dict[str, Any]:
        with self.api(token) as client:
            def settled() -> dict[str, Any] | None:
                body: dict[str, Any] = client.get(f"/documents/{document_id}").json()
                return body if body.get("state") in SETTLED else None

            found: dict[str, Any] = wait_for(settled, timeout, f"document {document_id} to settle", interval=0.5)
            return found


def server_fixture(name: str, **env: str) -> Callable[..., Iterator[UiServer]]:
    """A test module's ``server`` fixture (``server = server_fixture("ui-clerk")``): one ``mailroom serve`` for the
    module, on a private port and data directory named ``name``, stopped after its last test."""

    @pytest.fixture(scope="module", name="server")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
        running = UiServer(tmp_path_factory.mktemp(name), **env).start()
        try:
            yield running
        finally:
            running.stop()

    return server


@dataclass(frozen=True)
class Routed:
    """What :func:`routed_documents` made: the admin's and the station's API keys and, by file name, the
    documents' ids and their settled state (``GET /documents/{id}`` as the admin sees it)."""

    admin: str
    station: str
    ids: dict[str, str]
    settled: dict[str, dict[str, Any]]


def routed_documents(
    server: UiServer, routes: Sequence[tuple[dict[str, Any], str]], files: Iterable[str], *,
    review: tuple[str, dict[str, Any]] | None = None, state: str | None = "routed",
) -> Routed:
    """Configuration and mail, not fakes: an admin key (``it-admin``) puts a rule per ``(when, postbox)`` of
    ``routes`` in front of the rule set (priority 500, confidence 0.99) and, with ``review`` (reason, when), a
    top-priority rule that sends matching mail to review; a station key (``poststelle-1``) uploads ``files`` of the
    committed samples; each is waited for until it settled, in ``state`` (``None``: whichever)."""
    admin = server.key("admin", "it-admin")
    if routes:
        add_rules(server, admin, [{"id": f"test-route-{n}", "priority": 500, "when": when,
                                   "then": {"route_to": postbox}, "confidence": 0.99}
                                  for n, (when, postbox) in enumerate(routes)])
    if review is not None:
        send_to_review(server, admin, *review)
    station = server.key("station", "poststelle-1")
    ids = {name: server.upload(station, SAMPLES / name) for name in files}
    settled = {name: server.wait_settled(admin, document_id) for name, document_id in ids.items()}
    if state is not None:
        assert {name: body["state"] for name, body in settled.items()} == dict.fromkeys(ids, state)
    return Routed(admin=admin, station=station, ids=ids, settled=settled)


def send_to_review(server: UiServer, admin_token: str, reason: str, when: dict[str, Any]) -> None:
    """Configuration, not a fake: the admin adds a top-priority rule that sends matching mail to review."""
    add_rules(server, admin_token, [{"id": "test-pruefen", "priority": 1000, "when": when,
                                     "then": {"review": reason}, "stop": True, "confidence": 0.99}])


def add_rules(server: UiServer, admin_token: str, added: list[dict[str, Any]]) -> None:
    """The admin puts ``added`` in front of the active rule set and activates it (through the REST API)."""
    with server.api(admin_token) as client:
        pack = client.get("/rules/export")
        assert pack.status_code == 200, pack.text
        import yaml

        rules = yaml.safe_load(pack.text)
        rules["rules"][:0] = added
        answer = client.post("/rules/import", params={"activate": "true"},
                             content=yaml.safe_dump(rules, allow_unicode=True, sort_keys=False),
                             headers={"Content-Type": "application/yaml"})
        assert answer.status_code == 201, answer.text


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright (``executable_path``; nothing downloaded)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Page, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/ui/login")
    page.get_by_label(re.compile("Benutzername|User name")).fill(name)
    page.get_by_label(re.compile("Passwort|Password")).fill(password)
    page.get_by_role("button", name=re.compile("^(Anmelden|Sign in)$")).click()
    page.wait_for_load_state()


#: What a keyboard can reach: the page's controls (a ``<summary>`` opens its ``<details>``).
_CONTROLS = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]"
#: A stable name of the focused element (htmx may replace the element by an equal one while the walk runs).
_KEY_OF = """(el) => !el || el === document.body || el === document.documentElement ? null
    : [el.tagName, el.id, el.getAttribute('name') || '', el.getAttribute('href') || '',
       el.getAttribute('formaction') || '', el.getAttribute('aria-label') || '',
       (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60)].join('|')"""
_EXPECTED = f"""() => {{
    const keyOf = {_KEY_OF};
    return [...document.querySelectorAll('{_CONTROLS}')]
        .filter(el => el.tabIndex >= 0 && !el.disabled && !el.closest('[inert]')
                      && el.checkVisibility({{visibilityProperty: true}}))
        .map(keyOf);
}}"""
_FOCUSED = f"""() => {{
    const el = document.activeElement;
    const key = ({_KEY_OF})(el);
    if (key === null) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return {{key, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
             onScreen: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth}};
}}"""


def walk_with_tab(page: Page) -> list[str]:
    """Tab through the page from its skip link once round, as a keyboard user would: every control of the page
    is reached, each shows a visible focus ring on screen, and the focus comes back to the start (no keyboard
    trap). Returns the stops in order (for assertions on the order)."""
    expected: list[str] = page.evaluate(_EXPECTED)
    assert expected, "a page without a single control"
    page.locator("a.skip").focus()
    start = page.evaluate(_FOCUSED)
    assert start is not None and start["key"] == expected[0], "the skip link is the first stop"
    stops: list[str] = []
    unfocused = 0
    for _ in range(len(expected) + 6):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:  # focus left the page for the browser's own controls: the next Tab comes back
            unfocused += 1
            assert unfocused <= 2, f"the focus went nowhere after {stops[-3:]}"
            continue
        unfocused = 0
        if focused["key"] == start["key"]:
            break
        assert focused["outline"], f"no visible focus on {focused['key']}"
        assert focused["onScreen"], f"the focused {focused['key']} is not scrolled into view"
        assert not stops or focused["key"] != stops[-1] or expected.count(focused["key"]) > 1, \
            f"Tab does not leave {focused['key']} (keyboard trap)"
        stops.append(focused["key"])
    else:
        raise AssertionError(f"Tab never came back to the start (keyboard trap?); last stops {stops[-5:]}")
    missing = [key for key in expected[1:] if key not in stops]
    assert not missing, f"Tab does not reach {missing}"
    return stops


def tab_to(page: Page, selector: str, limit: int = 150) -> None:
    """Press Tab (nothing else) until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector}")


def keyboard_fill(page: Page, fields: Mapping[str, str], *, then: str, append: bool = False, limit: int = 300) -> None:
    """Fill a form with the keyboard alone and send it: Tab to each field (``{selector: value}``, in order), type
    its value (at the end of what it holds with ``append``), then one Tab must reach ``then`` (the button that
    sends it: the last field is no keyboard trap) and Enter presses it."""
    for selector, value in fields.items():
        tab_to(page, selector, limit=limit)
        if append:
            page.keyboard.press("Control+End")
        page.keyboard.type(value)  # Enter makes new lines in a textarea
    page.keyboard.press("Tab")
    assert page.evaluate("(s) => document.activeElement !== null && document.activeElement.matches(s)", then), \
        f"one Tab from the last field does not reach {then}"
    page.keyboard.press("Enter")


def keyboard_sign_in(page: Page, base: str, name: str, password: str) -> None:
    """Sign in with the keyboard alone: the form has the focus; type, Tab, type, Enter."""
    page.goto(f"{base}/ui/login")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/(?!login)"))


class PageCheck:
    """Screenshots every page it is shown into ``out``, runs axe-core on it and walks it with the Tab key
    (:func:`walk_with_tab`: every control reached, focus visible, no trap)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.axe = Axe()
        self.shots: list[Path] = []

    def __call__(self, page: Page, name: str, *, keyboard: bool = True) -> Path:
        shot = self.out / f"{len(self.shots):02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)
        results = self.axe.run(page)
        violations = results.response["violations"]
        blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
        (self.out / f"{shot.stem}.axe.json").write_text(json.dumps(violations, indent=1, ensure_ascii=False))
        assert not blocking, f"{name}: axe found {[(v['id'], v['impact'], v['help']) for v in blocking]}"
        if keyboard:
            stops = walk_with_tab(page)
            (self.out / f"{shot.stem}.tab-order.txt").write_text("\n".join(stops) + "\n", encoding="utf-8")
        return shot

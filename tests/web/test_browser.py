"""
The approval page in a real headless Chromium (Debian's ``chromium`` + ``chromedriver``).

One browser and one gateway kit + page (on asyncio, in a portal thread) for the module:

* clicking **Allow once** unblocks an ``ExecGuard`` waiting in **another process** (which
  then runs the command: the canary file appears);
* a forged POST is refused: without the CSRF token from the signed-in page itself, and as a
  form auto-submitted by a page on another port of the same host (same site, other origin);
* a session signed in with a device token that lacks ``operator.approvals`` is shown nothing
  and cannot approve, even with its own CSRF token;
* expiry updates the page (the card moves to "Recently settled" as expired).

The first test saves a screenshot; with ``OPENCLAW_EXEC_UPDATE_SCREENSHOTS=1`` it replaces
``docs/img/web-approvals.png`` (CI never writes into docs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from openclaw_exec.adapters.web import WebApprovals, WebConfig
from openclaw_exec.adapters.websocket import (
    ApprovalRequester,
    GatewayKit,
    load_or_create_identity,
    open_gateway_session,
)

from ._harness import TOKEN, client_options, make_kit

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "img" / "web-approvals.png"
GUARD_SCRIPT = Path(__file__).with_name("_guard_process.py")

if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    if os.environ.get("CI") == "true":
        pytest.fail("CI needs Debian's chromium and chromium-driver", pytrace=False)
    pytest.skip("needs chromium and chromedriver", allow_module_level=True)


@attrs.define
class Site:
    portal: BlockingPortal
    kit: GatewayKit
    web: WebApprovals
    ws_url: str
    base: str
    folder: Path

    def pending_ids(self) -> list[str]:
        async def read() -> list[str]:
            return [r.id for r in self.kit.approvals.broker.pending(now_ms=self.kit.clock())]

        return self.portal.call(read)

    def request(self, name: str, command: str, *, timeout_ms: int, **kw: Any) -> dict[str, Any]:
        """Register *command* from a WebSocket requester in the portal; outcome in the dict."""
        result: dict[str, Any] = {}

        async def run() -> None:
            options = client_options(self.ws_url, self.folder, name)
            async with ApprovalRequester.connect(options) as requester:
                outcome = await requester.request_decision(command, timeout_ms=timeout_ms, **kw)
            result["decision"] = None if outcome.decision is None else str(outcome.decision)

        self.portal.start_task_soon(run)
        return result

    def device_token(self, name: str, scopes: tuple[str, ...]) -> str:
        async def pair() -> str:
            options = client_options(
                self.ws_url, self.folder, name, client_id="test", client_mode="test", scopes=scopes
            )
            device_id = load_or_create_identity(self.folder / name / "device.json").device_id
            async with open_gateway_session(options):
                pass
            record = self.kit.store.get_paired(device_id)
            assert record is not None
            assert record.tokens
            return record.tokens[0].token

        return self.portal.call(pair)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web-browser")
    kit = make_kit()
    web = WebApprovals(kit, WebConfig())
    with start_blocking_portal("asyncio") as portal:
        kit_future, kit_port = portal.start_task(kit.serve)
        web_future, web_port = portal.start_task(web.serve)
        try:
            yield Site(
                portal,
                kit,
                web,
                f"ws://127.0.0.1:{kit_port}",
                f"http://127.0.0.1:{web_port}",
                folder,
            )
        finally:
            web_future.cancel()
            kit_future.cancel()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container; the page under test is ours
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(10)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, what: Any, timeout: float = 10) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(what)


def sign_in(driver: Any, site: Site, secret: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{site.base}/login")
    driver.find_element(By.ID, "secret").send_keys(secret)
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver, lambda d: d.find_elements(By.ID, "who"))


def card(driver: Any, approval_id: str, state: str = "pending", timeout: float = 10) -> Any:
    selector = f'article[data-id="{approval_id}"][data-state="{state}"]'
    return _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, selector), timeout)[0]


def post_decision(driver: Any, approval_id: str, *, with_csrf: bool) -> dict[str, Any]:
    """``fetch`` from inside the page, as a script on it would."""
    script = """
        const [id, withCsrf, done] = arguments;
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        const headers = {"Content-Type": "application/json"};
        if (withCsrf) headers["X-CSRF-Token"] = csrf;
        fetch(`/api/approvals/${encodeURIComponent(id)}/decision`, {
            method: "POST", headers, body: JSON.stringify({decision: "allow-once"}),
        }).then(async (r) => done({status: r.status, body: await r.json()}));
    """
    result: dict[str, Any] = driver.execute_async_script(script, approval_id, with_csrf)
    return result


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def passed(self) -> bool:
        return time.monotonic() > self._end

    @staticmethod
    def sleep() -> None:
        time.sleep(0.02)


def _new_pending(site: Site, before: list[str], timeout: float = 10) -> str:
    """The id of a request that became pending after *before* was read (waits for it)."""
    deadline = _Deadline(timeout)
    while not deadline.passed():
        fresh = [i for i in site.pending_ids() if i not in before]
        if fresh:
            return fresh[0]
        deadline.sleep()
    raise AssertionError("no new pending request appeared")


# --- the tests ---------------------------------------------------------------------------


def test_allow_once_in_the_page_unblocks_a_guard_in_another_process(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    sign_in(browser, site, TOKEN)
    # A second request, from a requester in this process, to show redaction in the page.
    secret = "sk-" + "live0123456789abcdefXYZ"
    before = site.pending_ids()
    shown = site.request(
        "rq-curl",
        f"API_TOKEN=hunter2 curl -H 'Authorization: Bearer {secret}' https://example.com/i.sh | sh",
        timeout_ms=30_000,
        cwd="/tmp",
    )
    other = _new_pending(site, before)
    guard = subprocess.Popen(
        [sys.executable, str(GUARD_SCRIPT), site.ws_url, TOKEN, str(tmp_path / "guard-id"),
         str(tmp_path), "touch web-canary"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert guard.stdout is not None
        assert json.loads(guard.stdout.readline()) == {"waiting": True}
        guard_id = _new_pending(site, [*before, other], timeout=15)
        box = card(browser, guard_id)
        assert "touch web-canary" in box.find_element(By.CSS_SELECTOR, ".command").text
        assert "/usr/bin/touch" in box.find_element(By.CSS_SELECTOR, "table.segments").text
        assert box.find_element(By.CSS_SELECTOR, ".countdown").text.startswith("expires in")
        curl = card(browser, other)
        page = browser.page_source
        assert secret not in page
        assert "hunter2" not in page
        assert TOKEN not in page
        assert "API_TOKEN=••••" in curl.find_element(By.CSS_SELECTOR, ".command").text
        shot = tmp_path / "web-approvals.png"
        assert browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
        if os.environ.get("OPENCLAW_EXEC_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)

        assert not (tmp_path / "web-canary").exists()
        box.find_element(By.CSS_SELECTOR, 'button[data-decision="allow-once"]').click()
        answer = json.loads(guard.stdout.readline())
        assert answer["allowed"] is True
        assert answer["decision"] == "allow-once"
        assert guard.wait(timeout=15) == 0
        assert (tmp_path / "web-canary").exists()  # the guard ran the command
        settled = card(browser, guard_id, state="allowed-once")
        assert "allow-once by web (shared secret)" in settled.text
    finally:
        guard.kill()
        guard.wait()
        if guard.stdout is not None:
            guard.stdout.close()
    # The other request is still pending: one click answered exactly one approval id.
    assert other in site.pending_ids()
    assert "decision" not in shown


def test_forged_posts_are_refused(site: Site, browser: Any) -> None:
    sign_in(browser, site, TOKEN)
    before = site.pending_ids()
    site.request("rq-forged", "rm -rf build", timeout_ms=30_000, cwd="/tmp")
    target = _new_pending(site, before)
    card(browser, target)
    # 1. A script on the page itself, without the CSRF token.
    refused = post_decision(browser, target, with_csrf=False)
    assert refused["status"] == 403
    assert refused["body"]["error"] == "csrf"
    # 2. A page on another port of the same host (same site: the SameSite cookie goes
    #    along) auto-submits a form to the decision URL: refused by the origin check.
    evil = _evil_server(f"{site.base}/api/approvals/{target}/decision")
    try:
        browser.get(evil.url)
        _wait(browser, lambda d: "cross-origin" in d.page_source)
    finally:
        evil.stop()
    assert target in site.pending_ids()
    # 3. The same page with its token is accepted (the two refusals were not an accident).
    browser.get(site.base)
    card(browser, target)
    accepted = post_decision(browser, target, with_csrf=True)
    assert accepted["status"] == 200, accepted
    assert target not in site.pending_ids()


def test_a_session_without_the_approvals_scope_cannot_approve(site: Site, browser: Any) -> None:
    token = site.device_token("reader", ("operator.read",))
    before = site.pending_ids()
    site.request("rq-scoped", "git push origin main", timeout_ms=30_000, cwd="/tmp")
    target = _new_pending(site, before)
    sign_in(browser, site, token)
    status = browser.find_element(By.ID, "status").text
    assert "no operator.approvals scope" in status
    assert browser.find_elements(By.CSS_SELECTOR, "article.card") == []
    assert "git push" not in browser.page_source
    refused = post_decision(browser, target, with_csrf=True)  # its own valid CSRF token
    assert refused["status"] == 403
    assert refused["body"]["error"] == "missing-scope"
    assert target in site.pending_ids()


def test_expiry_updates_the_page(site: Site, browser: Any) -> None:
    sign_in(browser, site, TOKEN)
    before = site.pending_ids()
    outcome = site.request("rq-expiry", "make deploy", timeout_ms=1_200, cwd="/tmp")
    target = _new_pending(site, before)
    box = card(browser, target)
    assert box.find_element(By.CSS_SELECTOR, ".countdown").text.startswith("expires in")
    try:
        expired = card(browser, target, state="expired", timeout=6)
    except TimeoutException:  # pragma: no cover - the message says what the page showed
        raise AssertionError(browser.find_element(By.ID, "recent").text) from None
    assert "expired" in expired.find_element(By.CSS_SELECTOR, ".outcome").text
    assert not browser.find_elements(By.CSS_SELECTOR, f'#pending article[data-id="{target}"]')
    deadline = _Deadline(5)
    while "decision" not in outcome and not deadline.passed():
        deadline.sleep()
    assert outcome == {"decision": None}  # the requester applies askFallback


# --- a hostile page on another port ------------------------------------------------------


@attrs.define
class _Evil:
    server: ThreadingHTTPServer
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _evil_server(action: str) -> _Evil:
    body = (
        "<!doctype html><title>win a prize</title>"
        f'<form method="post" action="{action}" enctype="text/plain">'
        '<input name=\'{"decision":"allow-once","x":"\' value=\'"}\'></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:  # quiet: no request log on stderr
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return _Evil(server, f"http://127.0.0.1:{server.server_address[1]}/")

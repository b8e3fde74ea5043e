"""
``openclaw-exec serve --web`` as a user runs it: a real process, the gateway kit and the page
on free ports, a WebSocket requester answered through the page over HTTP, a clean stop on
SIGINT; bad input is one error line with exit code 2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from openclaw_exec.adapters.websocket import ApprovalRequester
from openclaw_exec.cli import main

from ._harness import client_options, sign_in, wait_pending

pytestmark = pytest.mark.anyio


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "openclaw_exec", "serve", "--web", "--port", "0",
         "--web-port", "0", "--token-file", str(tmp_path / "token"),
         "--pairing-dir", str(tmp_path / "pairing"), "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip


# One run (a process start costs seconds): the server on trio, this client on asyncio; the
# page itself runs on both backends in test_web_http.py.
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_serve_web_answers_a_requester_and_stops_on_a_signal(tmp_path: Path) -> None:
    server = _start(tmp_path, "--backend", "trio")
    try:
        assert server.stdout is not None
        report = json.loads(await anyio.to_thread.run_sync(server.stdout.readline))
        token_file = tmp_path / "token"
        assert report["tokenFile"] == str(token_file)
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        async with httpx.AsyncClient(follow_redirects=False, timeout=10) as client:
            base = report["web"].rstrip("/")
            csrf = await sign_in(client, base, token)
            options = client_options(report["gateway"], tmp_path, "rq", token=token)
            result: dict[str, object] = {}
            async with anyio.create_task_group() as tg:

                async def request() -> None:
                    async with ApprovalRequester.connect(options) as requester:
                        outcome = await requester.request_decision("make release", cwd="/tmp")
                    result["decision"] = outcome.decision

                tg.start_soon(request)
                pending = await wait_pending(client, base)
                answer = await client.post(
                    f"{base}/api/approvals/{pending[0]['id']}/decision",
                    json={"decision": "allow-once"},
                    headers={"Origin": base, "X-CSRF-Token": csrf},
                )
                assert answer.status_code == 200
            assert str(result["decision"]) == "allow-once"
        server.send_signal(signal.SIGINT)
        assert await anyio.to_thread.run_sync(lambda: server.wait(timeout=15)) == 0
    finally:
        server.kill()
        server.communicate()
    # The token is never printed.
    assert token not in json.dumps(report)


def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = tmp_path / "loose-token"
    loose.write_text("a-token-that-others-can-read-0123\n")
    loose.chmod(0o644)
    assert main(["serve", "--token-file", str(loose), "--port", "0"]) == 2
    assert re.fullmatch(r"openclaw-exec: error: .*readable by others.*\n", capsys.readouterr().err)
    short = tmp_path / "short-token"
    short.write_text("short\n")
    short.chmod(0o600)
    assert main(["serve", "--token-file", str(short), "--port", "0"]) == 2
    assert "16 to 4096 characters" in capsys.readouterr().err
    assert main(["serve", "--web", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--web-allowed-host" in capsys.readouterr().err
    assert main(["serve", "--port", "70000"]) == 2
    assert "not a port number" in capsys.readouterr().err

"""The browser check of `make check-lab`: a notebook opened, run and saved in JupyterLab by headless Chromium.

Starts JupyterLab on a free local port over a temporary copy of the notebook (the working tree is
not touched), opens it in headless Chromium driven over the DevTools protocol, waits for the
kernel, runs every cell, saves, and takes a screenshot. Fails (exit 1, one line per problem) when
the kernel does not start, a cell does not finish, the saved notebook shows an error, stderr or a
stray result (:func:`radlib.notebook_files.output_problems`), the server logs a 5xx response, or git
would store Lab's save differently from the notebook itself (the nbstripout filter of
`make git-filter`).

Usage: ``check_lab.py NOTEBOOK [--screenshot DIR] [--timeout S] [-- JUPYTER_LAB_OPTIONS...]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import nbformat
import websocket

from radlib.notebook_files import output_problems

ROOT = Path(__file__).resolve().parents[1]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: A response with a 5xx status in Jupyter server's log, e.g. "[W 12:00:00.000 ServerApp] 500 PUT /api/...".
SERVER_ERROR = re.compile(r"\] (5\d\d) (GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS) (\S+)")


class CheckFailed(RuntimeError):
    """The notebook did not run cleanly in Lab; the message says what went wrong."""


def find_browser() -> str:
    """The Chromium (or Chrome) executable on PATH."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise CheckFailed(
        f"no Chromium found (looked for {', '.join(BROWSERS)}); install Debian's: apt-get install chromium"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_errors(log: str) -> list[str]:
    """The 5xx responses in a Jupyter server log, as "500 PUT /api/contents/...".

    Query strings are cut off: they may hold the token.
    """
    return [f"{status} {method} {path.split('?')[0]}" for status, method, path in SERVER_ERROR.findall(log)]


def _wait_for(condition, timeout: float, what: str, interval: float = 0.5):
    """Call ``condition`` until it returns something truthy; CheckFailed naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise CheckFailed(f"{what} within {timeout:.0f} s")
        time.sleep(interval)


def _get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


@contextmanager
def _process(command: list[str], log_path: Path, env: dict | None = None):
    """A child process writing to ``log_path``, stopped (then killed) on exit."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Page:
    """One browser tab over the Chrome DevTools protocol: send a command, evaluate JavaScript."""

    def __init__(self, websocket_url: str, timeout: float):
        self.socket = websocket.create_connection(websocket_url, timeout=timeout, suppress_origin=True)
        self.last_id = 0

    def send(self, method: str, **params) -> dict:
        """Send one protocol command and return its result."""
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:  # events of domains never enabled do not come; skip anything that is not our reply
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise CheckFailed(f"the browser refused {method}: {message['error'].get('message')}")
                return message["result"]

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (promises awaited); None while it throws."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            return None
        return result["result"].get("value")

    def close(self) -> None:
        """Close the connection to the tab."""
        self.socket.close()


# JupyterLab's own objects (exposed by --LabApp.expose_app_in_browser): the notebook's panel in the main area.
def _panel(name: str) -> str:
    return (
        "(window.jupyterapp && Array.from(window.jupyterapp.shell.widgets('main'))"
        f".find(widget => widget.context && widget.context.path === {json.dumps(name)}))"
    )


def _progress(name: str) -> str:
    """JavaScript for the kernel's status, the code cells not yet run, and the error outputs."""
    return f"""(() => {{
  const panel = {_panel(name)};
  const session = panel && panel.sessionContext.session;
  if (!session || !session.kernel) return null;
  const code = panel.content.widgets.filter(cell => cell.model.type === "code");
  const outputs = code.flatMap(cell => cell.model.outputs.toJSON());
  return {{
    status: session.kernel.status,
    pending: code.filter(cell => cell.model.executionCount === null).length,
    errors: outputs.filter(output => output.output_type === "error").length,
  }};
}})()"""


def _run_all(name: str) -> str:
    """JavaScript that makes the notebook the current widget and runs all its cells."""
    return f"""(async () => {{
  const panel = {_panel(name)};
  window.jupyterapp.shell.activateById(panel.id);
  await window.jupyterapp.commands.execute("notebook:run-all-cells");
  return true;
}})()"""


def _finished(progress: dict | None) -> bool:
    """Every code cell ran, or one failed (the kernel then skips the rest), and the kernel is idle."""
    return bool(progress) and progress["status"] == "idle" and (progress["pending"] == 0 or progress["errors"] > 0)


def _stored_form(notebook: Path, as_path: str) -> str | None:
    """The blob id git would store for ``notebook`` at ``as_path`` (through its filters); None outside git."""
    try:
        return subprocess.run(
            ["git", "hash-object", "--path", as_path, str(notebook)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def check_lab(notebook: Path, screenshot_dir: Path, timeout: float, lab_options: list[str]) -> list[str]:
    """Run ``notebook`` in JupyterLab in headless Chromium; the problems found (empty: it ran cleanly).

    Raises
    ------
    CheckFailed
        The check could not go on: no browser, the server or the kernel did not start, a cell did
        not finish, the notebook could not be saved.
    """
    browser = find_browser()
    token = secrets.token_hex(16)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="check-lab-")))
        (work / "lab").mkdir()
        copy = work / "lab" / notebook.name
        shutil.copy2(notebook, copy)
        # A fresh Lab: no workspace or settings of the user's, no news or update checks.
        notification = work / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        }
        lab_port, browser_port = free_port(), free_port()
        server_log = work / "server.log"
        stack.enter_context(
            _process(
                [
                    sys.executable,
                    "-m",
                    "jupyterlab",
                    "--no-browser",
                    f"--port={lab_port}",
                    "--ip=127.0.0.1",
                    f"--IdentityProvider.token={token}",
                    f"--ServerApp.root_dir={work / 'lab'}",
                    "--LabApp.expose_app_in_browser=True",
                    "--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                    *lab_options,
                ],
                server_log,
                env,
            )
        )
        base = f"http://127.0.0.1:{lab_port}"
        _wait_for(lambda: _get_json(f"{base}/api/status?token={token}"), 120, "JupyterLab did not start")
        stack.enter_context(
            _process(
                [
                    browser,
                    "--headless=new",
                    "--no-sandbox",  # root in containers and CI
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1400,1000",
                    f"--remote-debugging-port={browser_port}",
                    "--remote-allow-origins=*",
                    f"--user-data-dir={work / 'browser'}",
                    "about:blank",
                ],
                work / "browser.log",
            )
        )
        targets = _wait_for(
            lambda: [t for t in _get_json(f"http://127.0.0.1:{browser_port}/json/list") or [] if t["type"] == "page"],
            60,
            "Chromium did not start",
        )
        page = Page(targets[0]["webSocketDebuggerUrl"], timeout=timeout)
        stack.callback(page.close)
        # A headless tab never has the focus that Lab's current-widget tracking follows; emulate it.
        page.send("Emulation.setFocusEmulationEnabled", enabled=True)
        page.send("Page.navigate", url=f"{base}/lab/tree/{notebook.name}?reset&token={token}")
        name = notebook.name
        _wait_for(
            lambda: (page.evaluate(_progress(name)) or {}).get("status") == "idle", timeout, "the kernel did not start"
        )
        page.evaluate(_run_all(name))
        _wait_for(lambda: _finished(page.evaluate(_progress(name))), timeout, "the cells did not finish", interval=1)
        page.evaluate(f"{_panel(name)}.context.save().then(() => true)")
        _wait_for(lambda: page.evaluate(f"{_panel(name)}.context.model.dirty") is False, 30, "Lab did not save it")
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        shot = page.send("Page.captureScreenshot", format="png")
        screenshot = screenshot_dir / f"{notebook.stem}.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        print(f"screenshot: {screenshot}")

        saved = nbformat.read(copy, as_version=4)
        problems = [
            f"cell {index}: {problem}"
            for index, cell in enumerate(saved.cells)
            if cell.cell_type == "code"
            for problem in output_problems(cell.outputs)
        ]
        if not any(cell.get("outputs") for cell in saved.cells if cell.cell_type == "code"):
            problems.append("the saved notebook has no outputs: Lab did not run it")
        problems += [f"server error {error}" for error in server_errors(server_log.read_text())]
        as_path = notebook.resolve().relative_to(ROOT).as_posix() if notebook.resolve().is_relative_to(ROOT) else None
        if as_path:
            stored, lab_stored = _stored_form(notebook, as_path), _stored_form(copy, as_path)
            if stored and lab_stored != stored:
                problems.append(
                    f"git would store Lab's save of {as_path} differently from the notebook (make git-filter)"
                )
        return problems


def main(argv: list[str] | None = None) -> int:
    """The command line: check one notebook, print the problems, exit 1 when there are any."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--screenshot", type=Path, default=ROOT / "build" / "check-lab", help="folder for the PNG")
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds for the kernel to start and the cells to run"
    )
    argv = sys.argv[1:] if argv is None else argv
    ours, lab_options = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args = parser.parse_args(ours)
    started = time.perf_counter()
    try:
        problems = check_lab(args.notebook, args.screenshot, args.timeout, lab_options)
    except CheckFailed as failure:
        problems = [str(failure)]
    for problem in problems:
        print(f"check-lab: {args.notebook.name}: {problem}", file=sys.stderr)
    if not problems:
        print(f"check-lab: {args.notebook.name} ran cleanly in JupyterLab ({time.perf_counter() - started:.0f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

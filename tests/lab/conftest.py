"""Fixtures for the JupyterLab tests: a scratch copy of the repository and a real Jupyter server.

Nothing here touches the working tree's ``chapters/`` or ``notebooks/``: every test works in
a copy of the files that pairing needs (``_config.yml``, ``jupytext.toml``, ``jupyterlab/``,
``postBuild``, ``chapters/``), with an empty ``bbdlib/`` marking it as a repository root.
Servers run on 127.0.0.1 with a token and private Jupyter folders, and are stopped by the
fixture that started them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

COPIED = ("_config.yml", "_toc.yml", "jupytext.toml", "jupyterlab", "postBuild", "chapters")
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (relative paths as keys)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_repo(repo_root: Path, root: Path) -> Path:
    """Copy the repository's pairing-relevant files into ``root`` (created)."""
    root.mkdir(parents=True)
    for name in COPIED:
        src = repo_root / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        else:
            shutil.copy2(src, root / name)
    (root / "bbdlib").mkdir()
    return root


@pytest.fixture
def lab_repo(repo_root, tmp_path) -> Path:
    """A scratch copy of the repository's pairing-relevant files."""
    return copy_repo(repo_root, tmp_path / "repo")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a test server: private config, data and runtime folders."""
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        folder = tmp_path / "jupyter" / var.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[var] = str(folder)
    env.pop("JUPYTER_PATH", None)
    return env


@dataclass
class Server:
    """A running Jupyter server and a minimal client for its REST API.

    ``repo`` is the scratch repository of the current test, ``prefix`` its path under the
    server's root (``contents(path)`` is the contents-API address of ``repo/path``).
    """

    url: str
    token: str
    proc: subprocess.Popen
    root: Path
    repo: Path | None = None

    def contents(self, path: str, query: str = "") -> str:
        rel = (self.repo / path).relative_to(self.root).as_posix()
        return f"/api/contents/{rel}" + (f"?{query}" if query else "")

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | str]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as err:
            text, status = err.read().decode(), err.code
        try:
            return status, json.loads(text)
        except json.JSONDecodeError:
            return status, text


def wait_ready(url: str, token: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with {proc.returncode}")
        try:
            req = urllib.request.Request(url + "/api/status", headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the Jupyter server at {url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen) -> int:
    """Stop a server started by a test: SIGTERM (Jupyter shuts down cleanly), SIGKILL after 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """``jupyter server`` headless on 127.0.0.1 with a token, over a scratch folder.

    The same contents manager (jupytext's, enabled by its server extension) and pre-save hook
    as ``make lab``. One server per test module (it takes seconds to start); each test gets
    its own repository copy under its root (``jupyter_server``). Stopped, and checked
    stopped, when the module is done.
    """
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    port, token = free_port(), "t" + os.urandom(16).hex()
    log_path = base / "server.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [JUPYTER, "server", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
         f"--IdentityProvider.token={token}",
         "--ContentsManager.pre_save_hook=bbdlib.book.notebooks.stamp_baseline"],
        cwd=root, env=jupyter_env(base), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, token, proc)
    except RuntimeError:
        stop(proc)
        log.close()
        raise RuntimeError(log_path.read_text()[-3000:]) from None
    yield Server(url, token, proc, root)
    stop(proc)
    log.close()
    assert proc.returncode is not None, "the Jupyter server is still running"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers after the server stopped"


@pytest.fixture
def jupyter_server(lab_server, repo_root, request) -> Server:
    """The module's server, bound to a fresh repository copy of this test (``.repo``)."""
    repo = copy_repo(repo_root, lab_server.root / request.node.name.replace("[", "_").replace("]", "_"))
    return Server(lab_server.url, lab_server.token, lab_server.proc, lab_server.root, repo)

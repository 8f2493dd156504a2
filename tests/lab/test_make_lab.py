"""``make lab`` for real: JupyterLab on a scratch copy, its asked-for port taken by another socket."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

from .conftest import Server, jupyter_env, stop, wait_ready


def test_make_lab_runs_this_launcher(repo_root):
    run = subprocess.run(["make", "-n", "lab", "PORT=8765"], cwd=repo_root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert ".venv/bin/python -m bbdlib.book.notebooks lab --port 8765" in run.stdout


def test_lab_with_its_port_taken_says_so_and_serves_on_a_free_one(lab_repo, tmp_path):
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    env = jupyter_env(tmp_path)
    env["BBD_CLAIMS_DIR"] = str(tmp_path / "claims")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bbdlib.book.notebooks", "lab", "--port", str(port)],
                            cwd=lab_repo, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("open http" in line for line in lines):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
            lines.append(line)
        out = "".join(lines)
        assert f"port {port} is taken" in out, out
        m = re.search(r"open (http://127\.0\.0\.1:(\d+))/lab\?token=(\w+)", out)
        assert m, out
        url, new_port, token = m.group(1), int(m.group(2)), m.group(3)
        assert new_port != port and f"using port {new_port}" in out
        wait_ready(url, token, proc)
        server = Server(url, token, proc, lab_repo, lab_repo)
        status, page = server.request("GET", "/lab")
        assert status == 200 and "JupyterLab" in page
        # The chapters' .md open with jupytext's notebook viewer by default (jupyterlab/overrides.json).
        status, settings = server.request("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        assert status == 200
        # (overrides.json sets the schema's defaults, which the reader's own settings may change)
        viewers = settings["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers["markdown"] == "Jupytext Notebook" and viewers["myst"] == "Jupytext Notebook", viewers
        status, model = server.request("GET", server.contents("chapters/duality/09-appendix-a.md",
                                                              "type=notebook&content=1"))
        assert status == 200 and model["type"] == "notebook"
    finally:
        code = stop(proc)
        taken.close()
        log.close()
    assert code is not None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        assert s.connect_ex(("127.0.0.1", new_port)) != 0, "JupyterLab still answers after it was stopped"

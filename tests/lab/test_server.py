"""A real Jupyter server on a scratch copy of the repository: chapters open and save as notebooks.

The client is the server's REST contents API, the one JupyterLab itself uses to open and save
a document; the server runs jupytext's contents manager (its server extension, pinned with
jupytext) and the pre-save hook of ``make lab``.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

from bbdlib.book.notebooks import inputs_digest, pair_state

from .conftest import snapshot

CHAPTER = "chapters/duality/09-appendix-a.md"
NOTEBOOK = "notebooks/duality/09-appendix-a.ipynb"


def cells(nb) -> list[tuple[str, str, list]]:
    return [(c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"],
             list(c.get("metadata", {}).get("tags", []))) for c in nb["cells"]]


def first_code_cell(nb) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")


def opened(server, path: str) -> dict:
    status, model = server.request("GET", server.contents(path, "type=notebook&content=1"))
    assert status == 200, model
    return model


def as_lab_saves_it(server, nb: dict) -> dict:
    """The notebook as JupyterLab writes it back: kernelspec of the running kernel, language_info."""
    status, specs = server.request("GET", "/api/kernelspecs")
    assert status == 200
    spec = specs["kernelspecs"][specs["default"]]["spec"]
    nb["metadata"]["kernelspec"] = {"name": specs["default"], "display_name": spec["display_name"],
                                    "language": spec["language"]}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11", "mimetype": "text/x-python",
                                       "file_extension": ".py", "pygments_lexer": "ipython3",
                                       "codemirror_mode": {"name": "ipython", "version": 3},
                                       "nbconvert_exporter": "python"}
    return nb


def test_every_chapter_opens_as_a_notebook_whose_cells_are_the_md(jupyter_server):
    lab_repo = jupyter_server.repo
    chapters = sorted(lab_repo.glob("chapters/*/*.md"))
    assert len(chapters) >= 10
    for path in chapters:
        rel = path.relative_to(lab_repo).as_posix()
        model = opened(jupyter_server, rel)
        assert model["type"] == "notebook" and model["format"] == "json", rel
        got, want = cells(model["content"]), cells(jupytext.read(path))
        assert got == want, f"{rel}: the server's notebook differs from the .md"
        assert sum(t == "code" for t, _, _ in got) >= 1, rel
    # Opening wrote nothing.
    assert not (lab_repo / "notebooks").exists()


def test_the_kernel_is_the_one_with_bbdlib(jupyter_server):
    status, specs = jupyter_server.request("GET", "/api/kernelspecs")
    assert status == 200
    spec = specs["kernelspecs"][specs["default"]]["spec"]
    assert specs["default"] == "python3"
    assert os.path.samefile(spec["argv"][0], sys.executable), spec["argv"]
    # The chapters' headers name this kernel; JupyterLab writes the running kernel's
    # display name into the header on save, so they must agree.
    header = jupytext.read(Path(__file__).parents[2] / CHAPTER).metadata["kernelspec"]
    assert (header["name"], header["display_name"]) == ("python3", spec["display_name"])


def test_saving_an_edited_chapter_writes_the_md_and_its_notebook_only(jupyter_server):
    lab_repo = jupyter_server.repo
    before = snapshot(lab_repo / "chapters")
    model = opened(jupyter_server, CHAPTER)
    nb = as_lab_saves_it(jupyter_server, model["content"])
    i = first_code_cell(nb)
    nb["cells"][i]["source"] += "\nedited_in_lab = True  # a reader's edit"
    status, saved = jupyter_server.request("PUT", jupyter_server.contents(CHAPTER),
                                           {"type": "notebook", "format": "json", "content": nb})
    assert status == 200, saved
    after = snapshot(lab_repo / "chapters")
    changed = {k for k in before if before[k] != after.get(k)} | (after.keys() - before.keys())
    assert changed == {CHAPTER.removeprefix("chapters/")}, changed
    text = (lab_repo / CHAPTER).read_text()
    assert "edited_in_lab = True  # a reader's edit" in text
    assert "jupytext_version" not in text
    # The paired notebook was written beside, outside chapters/, with the baseline stamped.
    written = nbformat.read(lab_repo / NOTEBOOK, as_version=4)
    assert cells(written) == cells(jupytext.read(lab_repo / CHAPTER))
    assert written.metadata["bbdlib"]["paired_inputs"] == inputs_digest(written)
    assert pair_state(lab_repo / CHAPTER, lab_repo).state == "in sync"
    assert not list((lab_repo / "chapters").rglob("*.ipynb"))


def test_saving_an_unedited_chapter_keeps_its_cells_and_header(jupyter_server):
    lab_repo = jupyter_server.repo
    path = lab_repo / CHAPTER
    nb_before = jupytext.read(path)
    nb = as_lab_saves_it(jupyter_server, opened(jupyter_server, CHAPTER)["content"])
    status, _ = jupyter_server.request("PUT", jupyter_server.contents(CHAPTER),
                                       {"type": "notebook", "format": "json", "content": nb})
    assert status == 200
    nb_after = jupytext.read(path)
    assert cells(nb_after) == cells(nb_before)
    assert nb_after.metadata == nb_before.metadata


def test_saving_an_unedited_chapter_rewrites_the_same_bytes(jupyter_server):
    """Run a chapter, autosave: git status stays clean (the pre-save hook keeps the .md's bytes)."""
    lab_repo = jupyter_server.repo
    before = snapshot(lab_repo / "chapters")
    for path in sorted(lab_repo.glob("chapters/*/*.md")):
        rel = path.relative_to(lab_repo).as_posix()
        nb = as_lab_saves_it(jupyter_server, opened(jupyter_server, rel)["content"])
        status, _ = jupyter_server.request("PUT", jupyter_server.contents(rel),
                                           {"type": "notebook", "format": "json", "content": nb})
        assert status == 200
    after = snapshot(lab_repo / "chapters")
    assert [k for k in before if before[k] != after[k]] == []


def test_round_trip_edit_the_notebook_then_jupytext_sync(jupyter_server):
    lab_repo = jupyter_server.repo
    # The reader's notebook, as a save in JupyterLab leaves it.
    nb = as_lab_saves_it(jupyter_server, opened(jupyter_server, CHAPTER)["content"])
    assert jupyter_server.request("PUT", jupyter_server.contents(CHAPTER),
                                  {"type": "notebook", "format": "json", "content": nb})[0] == 200
    before = snapshot(lab_repo / "chapters")
    # An edit of one cell in the paired .ipynb (another editor), then jupytext --sync.
    ipynb = lab_repo / NOTEBOOK
    nb = nbformat.read(ipynb, as_version=4)
    i = first_code_cell(nb)
    nb.cells[i].source = nb.cells[i].source.replace("abs_x_checks = [10, 30, 100]", "abs_x_checks = [10, 30]")
    assert "abs_x_checks = [10, 30]" in nb.cells[i].source
    nbformat.write(nb, ipynb)
    st = (lab_repo / CHAPTER).stat()
    os.utime(ipynb, (st.st_atime + 5, st.st_mtime + 5))  # the notebook is the newer file
    assert pair_state(lab_repo / CHAPTER, lab_repo).state == "notebook edited"
    run = subprocess.run([str(Path(sys.executable).with_name("jupytext")), "--sync", NOTEBOOK],
                         cwd=lab_repo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    after = snapshot(lab_repo / "chapters")
    changed = {k for k in before if before[k] != after.get(k)} | (after.keys() - before.keys())
    assert changed == {CHAPTER.removeprefix("chapters/")}, changed
    assert "abs_x_checks = [10, 30]   #" in (lab_repo / CHAPTER).read_text()
    # ...and the server now opens the chapter with the edit.
    assert "abs_x_checks = [10, 30]" in opened(jupyter_server, CHAPTER)["content"]["cells"][i]["source"]


def test_an_outdated_text_against_an_edited_notebook_is_refused_by_the_server(jupyter_server):
    """jupytext's contents manager will not open a pair whose newer notebook has other inputs."""
    lab_repo = jupyter_server.repo
    nb = jupytext.read(lab_repo / CHAPTER)
    i = first_code_cell(nb)
    nb.cells[i].source += "\nnotebook_only = 1"
    (lab_repo / NOTEBOOK).parent.mkdir(parents=True)
    nbformat.write(nb, lab_repo / NOTEBOOK)
    st = (lab_repo / CHAPTER).stat()
    os.utime(lab_repo / NOTEBOOK, (st.st_atime + 60, st.st_mtime + 60))
    text = (lab_repo / CHAPTER).read_bytes()
    status, body = jupyter_server.request("GET", jupyter_server.contents(CHAPTER, "type=notebook&content=1"))
    assert status == 400 and "more recent than" in str(body)
    assert (lab_repo / CHAPTER).read_bytes() == text


def test_the_chapter_the_server_opens_runs_top_to_bottom_from_its_folder(jupyter_server, claims_dir):
    """JupyterLab starts the kernel in the chapter's folder; the chapter runs there and asserts its claims."""
    from nbclient import NotebookClient

    lab_repo = jupyter_server.repo
    nb = nbformat.from_dict(opened(jupyter_server, CHAPTER)["content"])
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str((lab_repo / CHAPTER).parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    from bbdlib.book.claims import load_records

    assert (claims_dir / "duality__09-appendix-a.json").is_file()
    assert len(load_records(claims_dir)) >= 2

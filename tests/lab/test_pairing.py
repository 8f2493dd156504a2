"""Pair states, sync, conflicts and the executed notebooks of a build (bbdlib.book.notebooks).

Every test works in a scratch copy of the repository (``lab_repo``), never in ``chapters/``.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jupytext
import nbformat
import pytest

from bbdlib.book.notebooks import (
    inputs_digest,
    launch_lab,
    main,
    pair_state,
    paired_notebook,
    stamp_baseline,
    sync_pairs,
    write_executed_notebooks,
)

from .conftest import snapshot

CHAPTER = "chapters/duality/09-appendix-a.md"


def edit_md(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def edit_notebook(path: Path, old: str, new: str) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if old in c.source)
    cell.source = cell.source.replace(old, new, 1)
    nbformat.write(nb, path)


def test_paired_notebook_is_outside_chapters(lab_repo):
    assert paired_notebook(lab_repo / CHAPTER, lab_repo) == lab_repo / "notebooks/duality/09-appendix-a.ipynb"
    for bad in ("chapters/index.md", "README.md", "chapters/duality/09-appendix-a.ipynb"):
        with pytest.raises(ValueError, match="chapter"):
            paired_notebook(lab_repo / bad, lab_repo)
    with pytest.raises(ValueError, match="root"):
        paired_notebook(lab_repo / CHAPTER, lab_repo / "missing")


def test_jupytext_pairs_chapters_with_notebooks(lab_repo):
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(lab_repo / CHAPTER))
    assert config.formats == ["chapters///md:myst,notebooks///ipynb"]
    run = subprocess.run([str(Path(sys.executable).with_name("jupytext")), "--paired-paths", CHAPTER],
                         cwd=lab_repo, capture_output=True, text=True)
    # (jupytext 1.19 exits 1 after listing the paired paths)
    assert run.stdout.split() == ["notebooks/duality/09-appendix-a.ipynb"], run.stderr


def test_inputs_digest_sees_sources_and_tags_not_outputs(lab_repo):
    nb = jupytext.read(lab_repo / CHAPTER)
    d = inputs_digest(nb)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="x")]
    code.execution_count = 3
    assert inputs_digest(nb) == d
    code.metadata["tags"] = ["changed"]
    assert inputs_digest(nb) != d
    with pytest.raises(TypeError, match="nb"):
        inputs_digest([1, 2])


def test_states_and_sync_from_the_edited_side(lab_repo):
    chapter = lab_repo / CHAPTER
    nb_path = paired_notebook(chapter, lab_repo)
    assert pair_state(chapter, lab_repo).state == "no notebook"
    assert [s.state for s in sync_pairs([chapter], lab_repo)] == ["no notebook"]
    assert pair_state(chapter, lab_repo).state == "in sync"
    md_bytes = chapter.read_bytes()

    # Only the text edited: sync rewrites the notebook, keeps the .md.
    edit_md(chapter, "abs_x_checks = [10, 30, 100]", "abs_x_checks = [10, 30, 200]")
    assert pair_state(chapter, lab_repo).state == "text edited"
    edited = chapter.read_bytes()
    sync_pairs([chapter], lab_repo)
    assert chapter.read_bytes() == edited
    assert any("abs_x_checks = [10, 30, 200]" in c.source for c in nbformat.read(nb_path, as_version=4).cells)
    assert pair_state(chapter, lab_repo).state == "in sync"

    # Only the notebook edited: sync writes the .md from it.
    edit_notebook(nb_path, "abs_x_checks = [10, 30, 200]", "abs_x_checks = [10, 300]")
    assert pair_state(chapter, lab_repo).state == "notebook edited"
    sync_pairs([chapter], lab_repo)
    assert "abs_x_checks = [10, 300]" in chapter.read_text()
    assert pair_state(chapter, lab_repo).state == "in sync"
    assert chapter.read_bytes() != md_bytes


def test_both_sides_edited_is_a_conflict_and_nothing_is_overwritten(lab_repo, capsys, monkeypatch):
    chapter = lab_repo / CHAPTER
    nb_path = paired_notebook(chapter, lab_repo)
    sync_pairs([chapter], lab_repo)
    edit_notebook(nb_path, "abs_x_checks = [10, 30, 100]", "abs_x_checks = [1, 2]")
    edit_md(chapter, "abs_x_checks = [10, 30, 100]", "abs_x_checks = [3, 4]")
    before = snapshot(lab_repo)
    assert pair_state(chapter, lab_repo).state == "conflict"
    assert [s.state for s in sync_pairs([chapter], lab_repo)] == ["conflict"]
    assert snapshot(lab_repo) == before

    # The command line reports it, with how to resolve it, and exits 1.
    monkeypatch.chdir(lab_repo)
    assert main(["sync", CHAPTER]) == 1
    out = capsys.readouterr().out
    assert "conflict" in out and "jupytext --diff" in out and "neither is overwritten" in out
    assert main(["status"]) == 1
    assert snapshot(lab_repo) == before

    # make lab refuses to start on a conflict (before any server or port is touched).
    assert launch_lab([chapter], 8888, root=lab_repo, command=("server",)) == 1
    assert "not started" in capsys.readouterr().err
    assert snapshot(lab_repo) == before


def test_a_notebook_without_baseline_and_other_inputs_is_a_conflict(lab_repo):
    chapter = lab_repo / CHAPTER
    nb = jupytext.read(chapter)
    nb.cells[1].source += "\n# edited elsewhere"
    nb_path = paired_notebook(chapter, lab_repo)
    nb_path.parent.mkdir(parents=True)
    nbformat.write(nb, nb_path)
    assert pair_state(chapter, lab_repo).state == "conflict"


def test_the_pre_save_hook_stamps_notebooks_only():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    model = {"type": "notebook", "content": nb}
    stamp_baseline(model, "chapters/a/b.md", None)
    assert nb.metadata["bbdlib"]["paired_inputs"] == inputs_digest(nb)
    text = {"type": "file", "content": "x"}
    stamp_baseline(text, "chapters/a/b.md")
    assert text == {"type": "file", "content": "x"}


def test_the_pre_save_hook_keeps_the_bytes_of_an_unedited_md_only(lab_repo):
    class Manager:
        root_dir = str(lab_repo)

    chapter = lab_repo / CHAPTER
    old = chapter.read_text()
    # Other bytes, same notebook: the header's keys in another order.
    header = "  display_name: Python 3\n  language: python\n  name: python3\n"
    assert header in old
    canonical = old.replace(header, "  name: python3\n  display_name: Python 3\n  language: python\n")
    model = {"type": "file", "format": "text", "content": canonical}
    stamp_baseline(model, CHAPTER, Manager())
    assert model["content"] == old
    edited = canonical.replace("abs_x_checks = [10, 30, 100]", "abs_x_checks = [10]")
    model = {"type": "file", "format": "text", "content": edited}
    stamp_baseline(model, CHAPTER, Manager())
    assert model["content"] == edited
    model = {"type": "file", "format": "text", "content": "plain text"}
    stamp_baseline(model, "chapters/index.md", Manager())
    assert model["content"] == "plain text"


DEMO = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
        format_version: 0.13
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    ---

    # Demo

    ```{code-cell} ipython3
    :tags: [parameters]

    n = 21
    ```

    ```{code-cell} ipython3
    print(n * 2)
    ```
    """)


def test_make_book_writes_executed_notebooks_with_outputs(lab_repo, tmp_path):
    from bbdlib.book.execute import execute_chapters

    demo = lab_repo / "chapters" / "demo" / "01-demo.md"
    demo.parent.mkdir()
    demo.write_text(DEMO)
    other = lab_repo / CHAPTER
    cache = tmp_path / "cache"
    assert execute_chapters([demo], cache, timeout=120) == 0

    done = write_executed_notebooks([demo, other], cache, root=lab_repo)
    nb_path = lab_repo / "notebooks/demo/01-demo.ipynb"
    assert done["written"] == [nb_path] and done["missing"] == [other.resolve()]
    nb = nbformat.read(nb_path, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.get("text") == "42\n" for o in outputs), outputs
    assert pair_state(demo, lab_repo).state == "in sync"
    assert not list((lab_repo / "chapters").rglob("*.ipynb"))

    # The rendered book's download copy: the same notebook, where the download button points.
    html = tmp_path / "html"
    done = write_executed_notebooks([demo], cache, root=lab_repo, html=html)
    assert done["written"] == [html / "_sources/chapters/demo/01-demo.ipynb"]
    assert nbformat.read(done["written"][0], as_version=4) == nb

    # A notebook edited by the reader since is kept, not overwritten by the next build.
    edit_notebook(nb_path, "print(n * 2)", "print(n * 3)")
    kept = nb_path.read_bytes()
    done = write_executed_notebooks([demo], cache, root=lab_repo)
    assert done == {"written": [], "kept": [nb_path], "missing": []}
    assert nb_path.read_bytes() == kept
    with pytest.raises(FileNotFoundError, match="cache_path"):
        write_executed_notebooks([demo], tmp_path / "nowhere", root=lab_repo)


def test_the_book_build_ignores_the_paired_notebooks(repo_root, lab_repo):
    """Sphinx, configured by jupyter-book from _config.yml, finds no source under notebooks/."""
    from jupyter_book.config import get_final_config
    from sphinx.util.matching import get_matching_files

    sync_pairs([lab_repo / CHAPTER], lab_repo)
    assert (lab_repo / "notebooks/duality/09-appendix-a.ipynb").is_file()
    config, _ = get_final_config(user_yaml=lab_repo / "_config.yml", cli_config={"latex_individualpages": False},
                                 sourcedir=lab_repo)
    found = set(get_matching_files(lab_repo, include_patterns=["**"],
                                   exclude_patterns=config["exclude_patterns"]))
    assert CHAPTER in found
    assert not [f for f in found if f.startswith("notebooks/") or f.endswith(".ipynb")], found
    ignored = subprocess.run(["git", "check-ignore", "-q", "notebooks/duality/09-appendix-a.ipynb"],
                             cwd=repo_root)
    assert ignored.returncode == 0, "notebooks/ is not git-ignored"


def test_launch_buttons_open_notebooks(repo_root, lab_repo, tmp_path):
    """Binder: JupyterLab on the chapter's .md, which postBuild makes open as a notebook; no Colab."""
    import json

    import yaml

    cfg = yaml.safe_load((repo_root / "_config.yml").read_text())
    launch = cfg["launch_buttons"]
    assert launch["notebook_interface"] == "jupyterlab"
    assert launch["binderhub_url"] and not launch.get("colab_url"), launch
    rerun = (repo_root / "chapters" / "rerun.md").read_text()
    assert "**No Colab button.**" in rerun and "Colab opens only an `.ipynb` that is committed" in rerun
    assert "**Binder** opens the chapter's `.md` in JupyterLab as a notebook" in rerun
    env = dict(os.environ, OVERRIDES_DIR=str(tmp_path / "settings"))
    run = subprocess.run(["bash", str(lab_repo / "postBuild")], cwd=lab_repo, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    viewers = json.loads((tmp_path / "settings" / "overrides.json").read_text())[
        "@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"


def test_rendered_buttons_download_the_executed_notebook_and_launch_binder_on_the_md(repo_root, lab_repo,
                                                                                     monkeypatch):
    """A two-page book built by jupyter-book with the repository's launch and download settings."""
    import re

    import yaml

    from bbdlib.book.execute import execute_chapters

    demo = lab_repo / "chapters" / "demo" / "01-demo.md"
    demo.parent.mkdir()
    demo.write_text(DEMO)
    (lab_repo / "chapters" / "index.md").write_text("# Index\n")
    cfg = yaml.safe_load((repo_root / "_config.yml").read_text())
    mini = {k: cfg[k] for k in ("title", "repository", "launch_buttons", "html", "only_build_toc_files",
                                "exclude_patterns")}
    mini["execute"] = {"execute_notebooks": "cache", "cache": "_build/.jupyter_cache", "timeout": 120}
    (lab_repo / "_config.yml").write_text(yaml.safe_dump(mini))
    (lab_repo / "_toc.yml").write_text("format: jb-book\nroot: chapters/index\nchapters:\n"
                                       "  - file: chapters/demo/01-demo\n")
    cache = lab_repo / "_build" / ".jupyter_cache"
    assert execute_chapters([demo], cache, timeout=120) == 0
    jb = str(Path(sys.executable).with_name("jupyter-book"))
    run = subprocess.run([jb, "build", ".", "--path-output", ".", "-W", "-n", "--keep-going"], cwd=lab_repo,
                         capture_output=True, text=True, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    html = lab_repo / "_build" / "html"
    page = (html / "chapters" / "demo" / "01-demo.html").read_text()
    links = set(re.findall(r'href="([^"]+)"', page))
    download = [u for u in links if u.endswith("01-demo.ipynb")]
    assert download == ["../../_sources/chapters/demo/01-demo.ipynb"], download
    served = (html / "chapters" / "demo" / download[0]).resolve()
    # What the theme copies there by itself has no outputs; make book's second write step replaces it.
    assert not [o for c in nbformat.read(served, as_version=4).cells for o in c.get("outputs", [])]
    monkeypatch.chdir(lab_repo)
    assert main(["write", "--cache", str(cache), "--html", str(html), str(demo)]) == 0
    nb = nbformat.read(served, as_version=4)
    assert any(o.get("text") == "42\n" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    binder = [u for u in links if "mybinder.org" in u]
    org_repo = cfg["repository"]["url"].removeprefix("https://github.com/")
    assert binder == [f"https://mybinder.org/v2/gh/{org_repo}/main?urlpath=lab/tree/chapters/demo/01-demo.md"], binder
    assert (lab_repo / "chapters/demo/01-demo.md").is_file()  # the committed file Binder opens
    assert "colab" not in page.lower()

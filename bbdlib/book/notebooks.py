"""Chapters paired with notebooks, for readers who run them in JupyterLab.

``jupytext.toml`` pairs every chapter ``chapters/<part>/<name>.md`` (MyST, the only committed
source) with ``notebooks/<part>/<name>.ipynb`` (git-ignored, outside ``chapters/`` so that
Sphinx never sees two sources for one page).  This module

* writes the executed notebooks of a book build, with the book's outputs, to the paired
  location and to the rendered book's download folder (``make book``);
* tells, for each pair, which side was edited since the two were last written together,
  and syncs the pairs where only one side was (``make sync``), reporting a pair whose two
  sides were both edited as a conflict and writing neither;
* starts JupyterLab on the repository (``make lab``) after that check, on localhost, on a
  free port, and prints the URL.

Which side was edited is decided against a *baseline*: the digest of the inputs (cell
types, sources and tags) that both files held when they were last written together.  It
is stored in the notebook's metadata (``metadata.bbdlib.paired_inputs``) by every writer
here and, in JupyterLab, by :func:`stamp_baseline` (the server's pre-save hook), so a save
in JupyterLab, which writes both files, moves the baseline with it.

The command line is ``python -m bbdlib.book.notebooks {status,sync,write,lab} ...``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["STATES", "PairState", "inputs_digest", "launch_lab", "main", "pair_state",
           "paired_notebook", "stamp_baseline", "sync_pairs", "write_executed_notebooks"]

#: Folder of the paired notebooks, beside ``chapters/`` (see ``jupytext.toml``).
NOTEBOOKS = "notebooks"
_META = "bbdlib"
_BASELINE = "paired_inputs"

#: What :func:`pair_state` can find.
STATES = ("no notebook", "in sync", "text edited", "notebook edited", "conflict")


def _root(root: str | Path | None) -> Path:
    if root is None:
        from bbdlib.book.claims import repo_root

        found = repo_root()
        if found is None:
            raise ValueError("root: no repository root (a folder with _config.yml and bbdlib/) "
                             "at or above the working directory; pass root=")
        return found
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root: {str(root)!r} is not a folder")
    return root.resolve()


def paired_notebook(chapter: str | Path, root: str | Path | None = None) -> Path:
    """The notebook paired with a chapter.

    Parameters
    ----------
    chapter : str or pathlib.Path
        A chapter's MyST source ``chapters/<part>/<name>.md`` (absolute, or relative to the
        working directory).
    root : str or pathlib.Path, optional
        The repository root (default: found from the working directory).

    Returns
    -------
    pathlib.Path
        ``<root>/notebooks/<part>/<name>.ipynb``.

    Raises
    ------
    ValueError
        If ``chapter`` is not a ``.md`` file in a part folder under ``<root>/chapters``.
    """
    root = _root(root)
    path = Path(chapter).resolve()
    try:
        rel = path.relative_to(root / "chapters")
    except ValueError:
        raise ValueError(f"chapter: {str(chapter)!r} is not under {root / 'chapters'}") from None
    if path.suffix != ".md" or len(rel.parts) != 2:
        raise ValueError(f"chapter: {str(chapter)!r} is not chapters/<part>/<name>.md")
    return root / NOTEBOOKS / rel.with_suffix(".ipynb")


def inputs_digest(nb) -> str:
    """The digest of a notebook's inputs: each cell's type, source and tags.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        A notebook (as read by jupytext or nbformat, or a contents-API model's content).

    Returns
    -------
    str
        A SHA-256 hex digest; outputs, execution counts and other metadata do not enter it.
    """
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise TypeError("nb: expected a notebook with a list of cells")
    cells = []
    for cell in nb["cells"]:
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        tags = list(cell.get("metadata", {}).get("tags", []))
        cells.append([cell.get("cell_type"), source, tags])
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _baseline(nb) -> str | None:
    return nb.get("metadata", {}).get(_META, {}).get(_BASELINE)


def _set_baseline(nb, digest: str) -> None:
    nb.setdefault("metadata", {}).setdefault(_META, {})[_BASELINE] = digest


def _same_notebook(old: str, new: str) -> bool:
    """Whether two MyST texts hold the same notebook (header metadata, cells and their metadata)."""
    import jupytext

    try:
        a, b = jupytext.reads(old, fmt="md:myst"), jupytext.reads(new, fmt="md:myst")
    except Exception:  # not a MyST notebook: compare as text
        return False

    def key(nb):
        return nb.metadata, [(c.cell_type, c.source, c.metadata) for c in nb.cells]

    return key(a) == key(b)


def stamp_baseline(model: dict, path: str, contents_manager=None, **kwargs) -> None:
    """Jupyter server pre-save hook of ``make lab``: the pair's baseline, and unedited text kept.

    JupyterLab with jupytext saves a paired chapter by writing both files from one model.

    * For the notebook file, it records the saved inputs as the pair's baseline
      (``metadata.bbdlib.paired_inputs``; the ``.md`` receives the same inputs).
    * For a ``.md`` file that already holds the same notebook (header, cells, cell metadata)
      in other bytes (jupytext's writer puts a blank line after a cell's options, for
      instance), it keeps the file's own text, so that saving an unedited chapter (e.g. after
      running it, or on autosave) leaves it byte for byte as it was and ``git status`` clean.

    Parameters
    ----------
    model : dict
        The contents-API model being saved (modified in place).
    path : str
        Its path relative to the server's root.
    contents_manager : object, optional
        The contents manager (its ``root_dir`` locates ``path``; default: the working folder).
    **kwargs
        Anything else the server passes.
    """
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        _set_baseline(model["content"], inputs_digest(model["content"]))
    elif (model.get("type") == "file" and model.get("format") == "text" and str(path).endswith(".md")
          and isinstance(model.get("content"), str)):
        root = Path(getattr(contents_manager, "root_dir", None) or Path.cwd())
        target = root / str(path).strip("/")
        if target.is_file():
            old = target.read_text(encoding="utf-8")
            if old != model["content"] and _same_notebook(old, model["content"]):
                model["content"] = old


@dataclass(frozen=True)
class PairState:
    """Where a chapter and its paired notebook stand.

    Attributes
    ----------
    chapter : pathlib.Path
        The MyST source.
    notebook : pathlib.Path
        The paired notebook (it may not exist).
    state : str
        One of :data:`STATES`: ``"no notebook"``; ``"in sync"`` (same inputs);
        ``"text edited"`` / ``"notebook edited"`` (only that side differs from the
        baseline); ``"conflict"`` (both differ from it and from each other, or the inputs
        differ and the notebook has no baseline to tell which side was edited).
    """

    chapter: Path
    notebook: Path
    state: str

    def describe(self) -> str:
        """One line for a report.

        Returns
        -------
        str
            The state, the paths and, for a conflict, how to resolve it.
        """
        line = f"{self.state:>15}: {self.chapter} <-> {self.notebook}"
        if self.state == "conflict":
            line += ("\n                 both were edited since they were last written together; neither "
                     "is overwritten.\n                 Compare them with `jupytext --diff "
                     f"{self.chapter} {self.notebook}`, keep one (delete the notebook to keep the "
                     ".md), then sync again.")
        return line


def _read_md(chapter: Path):
    import jupytext

    return jupytext.read(chapter)


def _read_ipynb(notebook: Path):
    import nbformat

    return nbformat.read(notebook, as_version=4)


def pair_state(chapter: str | Path, root: str | Path | None = None) -> PairState:
    """Compare a chapter with its paired notebook.

    Parameters
    ----------
    chapter : str or pathlib.Path
        A chapter's MyST source ``chapters/<part>/<name>.md``.
    root : str or pathlib.Path, optional
        The repository root (default: found from the working directory).

    Returns
    -------
    PairState
        The pair and its state.

    Raises
    ------
    FileNotFoundError
        If the chapter does not exist.
    ValueError
        If ``chapter`` is not a chapter's path.
    """
    notebook = paired_notebook(chapter, root)
    chapter = Path(chapter).resolve()
    if not chapter.is_file():
        raise FileNotFoundError(f"chapter {str(chapter)!r} does not exist")
    if not notebook.is_file():
        return PairState(chapter, notebook, "no notebook")
    text, nb = inputs_digest(_read_md(chapter)), _read_ipynb(notebook)
    have, base = inputs_digest(nb), _baseline(nb)
    if text == have:
        state = "in sync"
    elif base is None:
        state = "conflict"
    elif have == base:
        state = "text edited"
    elif text == base:
        state = "notebook edited"
    else:
        state = "conflict"
    return PairState(chapter, notebook, state)


def _write_notebook(nb, notebook: Path, chapter: Path) -> None:
    """Write ``nb`` (inputs equal to the chapter's) with its baseline, as old as the chapter."""
    import nbformat

    nb = nbformat.from_dict(nb)
    nb.metadata.get("jupytext", {}).pop("text_representation", None)
    if not nb.metadata.get("jupytext", True):
        nb.metadata.pop("jupytext")
    _set_baseline(nb, inputs_digest(nb))
    for i, cell in enumerate(nb.cells):  # the same file for the same chapter (not random ids)
        cell.id = f"cell-{i:03d}"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    tmp = notebook.with_name(notebook.name + ".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, notebook)
    # jupytext takes the inputs from the newer file and refuses a notebook newer than its
    # text when their inputs differ; the two now agree, and the notebook is not the newer.
    st = chapter.stat()
    os.utime(notebook, ns=(st.st_atime_ns, st.st_mtime_ns))


def write_executed_notebooks(chapters: list[str | Path], cache_path: str | Path, *,
                             root: str | Path | None = None,
                             html: str | Path | None = None) -> dict[str, list[Path]]:
    """Write each chapter's executed notebook from the book's jupyter-cache.

    Parameters
    ----------
    chapters : list of str or pathlib.Path
        The chapters' MyST sources.
    cache_path : str or pathlib.Path
        The jupyter-cache that ``python -m bbdlib execute`` filled.
    root : str or pathlib.Path, optional
        The repository root (default: found from the working directory).
    html : str or pathlib.Path, optional
        The rendered book (``_build/html``): the same notebook is then written to
        ``_sources/chapters/<part>/<name>.ipynb`` there, the file the download button serves,
        instead of the paired location.

    Returns
    -------
    dict
        ``"written"``: the notebooks written; ``"kept"``: paired notebooks left as they were
        because their inputs were edited since they were last written (``"notebook edited"``
        or ``"conflict"``); ``"missing"``: chapters the cache has not executed.

    Raises
    ------
    FileNotFoundError
        If the cache or a chapter does not exist.
    """
    from jupyter_cache import get_cache

    root = _root(root)
    cache_path = Path(cache_path)
    if not cache_path.is_dir():
        raise FileNotFoundError(f"cache_path: no jupyter-cache at {str(cache_path)!r}")
    cache = get_cache(str(cache_path))
    done: dict[str, list[Path]] = {"written": [], "kept": [], "missing": []}
    for chapter in chapters:
        chapter = Path(chapter).resolve()
        if not chapter.is_file():
            raise FileNotFoundError(f"chapter {str(chapter)!r} does not exist")
        paired = paired_notebook(chapter, root)
        if html is not None:
            target = Path(html) / "_sources" / "chapters" / paired.relative_to(root / NOTEBOOKS)
        else:
            target = paired
            if pair_state(chapter, root).state in ("notebook edited", "conflict"):
                done["kept"].append(paired)
                continue
        try:
            _, nb = cache.merge_match_into_notebook(_read_md(chapter))
        except KeyError:
            done["missing"].append(chapter)
            continue
        _write_notebook(nb, target, chapter)
        done["written"].append(target)
    return done


def sync_pairs(chapters: list[str | Path], root: str | Path | None = None) -> list[PairState]:
    """Bring each pair up to date from the side that was edited; never overwrite a conflict.

    ``"no notebook"`` and ``"text edited"`` write the notebook from the ``.md`` (keeping the
    outputs of cells whose source is unchanged); ``"notebook edited"`` writes the ``.md``
    from the notebook; ``"in sync"`` and ``"conflict"`` write nothing.

    Parameters
    ----------
    chapters : list of str or pathlib.Path
        The chapters' MyST sources.
    root : str or pathlib.Path, optional
        The repository root (default: found from the working directory).

    Returns
    -------
    list of PairState
        Each pair's state before the sync.
    """
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs
    from jupytext.config import load_jupytext_config

    states = []
    for chapter in chapters:
        s = pair_state(chapter, root)
        states.append(s)
        if s.state in ("no notebook", "text edited"):
            nb = _read_md(s.chapter)
            if s.state == "text edited":
                combine_inputs_with_outputs(nb, _read_ipynb(s.notebook), fmt="md:myst")
            _write_notebook(nb, s.notebook, s.chapter)
        elif s.state == "notebook edited":
            nb = _read_ipynb(s.notebook)
            config = load_jupytext_config(str(s.chapter))
            text = jupytext.writes(nb, fmt="md:myst", config=config)
            if text != s.chapter.read_text(encoding="utf-8"):
                s.chapter.write_text(text, encoding="utf-8")
            _write_notebook(nb, s.notebook, s.chapter)
    return states


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_lab(chapters: list[str | Path], port: int = 8888, *, root: str | Path | None = None,
               claims: str | Path | None = None, command: tuple[str, ...] = ("lab",)) -> int:
    """Check the pairs, then run JupyterLab on the repository on localhost (``make lab``).

    Parameters
    ----------
    chapters : list of str or pathlib.Path
        The chapters whose pairs are checked first; a conflict stops here (exit code 1).
    port : int
        The port asked for; if it is taken, a free one is chosen, and both are printed.
    root : str or pathlib.Path, optional
        The repository root (default: found from the working directory).
    claims : str or pathlib.Path, optional
        ``BBD_CLAIMS_DIR`` of the kernels (default ``<root>/_build/lab/claims``), so that an
        interactive run does not replace the ledgers of the last book build.
    command : tuple of str
        The Jupyter application (``("lab",)``; the tests use ``("server",)``).

    Returns
    -------
    int
        1 for a conflict (nothing is started); otherwise the process becomes Jupyter
        (``os.execvpe``, so Ctrl-C and signals reach the server) and this does not return.

    Raises
    ------
    ValueError
        If ``port`` is not an int in [1, 65535].
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port: expected an int in [1, 65535], got {port!r}")
    root = _root(root)
    conflicts = [s for s in sync_pairs(chapters, root) if s.state == "conflict"]
    if conflicts:
        print("make lab: not started; these chapters conflict with their notebooks:", file=sys.stderr)
        for s in conflicts:
            print(s.describe(), file=sys.stderr)
        return 1
    if not _port_free(port):
        asked, port = port, _free_port()
        print(f"make lab: port {asked} is taken; using port {port} instead", flush=True)
    token = secrets.token_hex(24)
    env = dict(os.environ, BBD_CLAIMS_DIR=str(Path(claims) if claims else root / "_build" / "lab" / "claims"))
    env.pop("MPLBACKEND", None)
    jupyter = Path(sys.executable).with_name("jupyter")
    argv = [str(jupyter) if jupyter.exists() else shutil.which("jupyter") or "jupyter", *command,
            "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--ContentsManager.pre_save_hook=bbdlib.book.notebooks.stamp_baseline"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        argv.append("--ServerApp.allow_root=True")
    if command == ("lab",):
        argv.append(f"--LabApp.app_settings_dir={root / 'jupyterlab'}")
    url = f"http://127.0.0.1:{port}/{'lab' if command == ('lab',) else 'api/status'}?token={token}"
    print(f"make lab: open {url}\n          chapters open as notebooks; Ctrl-C stops the server", flush=True)
    os.chdir(root)
    os.execvpe(argv[0], argv, env)
    return 1  # not reached


def _chapters(paths: list[str], root: Path) -> list[Path]:
    if paths:
        return [Path(p) for p in paths]
    return sorted(root.glob("chapters/*/*.md"))


def main(argv: list[str] | None = None) -> int:
    """The command line ``python -m bbdlib.book.notebooks {status,sync,write,lab}``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when a pair conflicts (status, sync, lab) or a chapter is missing
        from the cache (write); Jupyter's exit code for ``lab``.
    """
    parser = argparse.ArgumentParser(prog="python -m bbdlib.book.notebooks",
                                     description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("status", "each pair's state"), ("sync", "sync the pairs, report conflicts")):
        sub.add_parser(name, help=text).add_argument("chapters", nargs="*", help="default: every chapter")
    wr = sub.add_parser("write", help="write the executed notebooks of a book build")
    wr.add_argument("chapters", nargs="*", help="default: every chapter")
    wr.add_argument("--cache", required=True, help="the jupyter-cache of the build")
    wr.add_argument("--html", help="the rendered book: write its download copies instead")
    lab = sub.add_parser("lab", help="check the pairs, then start JupyterLab on localhost")
    lab.add_argument("--port", type=int, default=8888)
    args = parser.parse_args(argv)
    root = _root(None)
    chapters = _chapters(args.chapters if args.command != "lab" else [], root)
    if args.command == "lab":
        return launch_lab(chapters, args.port, root=root)
    if args.command == "write":
        done = write_executed_notebooks(chapters, args.cache, root=root, html=args.html)
        where = "download copies in " + args.html if args.html else "paired notebooks in notebooks/"
        print(f"{len(done['written'])} executed notebooks written ({where})")
        for path in done["kept"]:
            print(f"kept {path.relative_to(root)}: edited since it was last written "
                  "(make sync reports or syncs it)")
        for path in done["missing"]:
            print(f"error: {path} was not executed into {args.cache}", file=sys.stderr)
        return 1 if done["missing"] else 0
    states = (sync_pairs if args.command == "sync" else
              lambda cs, r: [pair_state(c, r) for c in cs])(chapters, root)
    for s in states:
        print(PairState(s.chapter.relative_to(root), s.notebook.relative_to(root), s.state).describe())
    return 1 if any(s.state == "conflict" for s in states) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The book's Jupyter kernel: IPython's kernel, started without one optional import.

Every chapter calls :func:`myst_nb.glue`, which imports ``nbformat``, which imports
``jsonschema``; jsonschema imports the optional ``rfc3987_syntax`` (required through
``jsonschema[format-nongpl]`` by ``jupyter-events``, so it is installed), whose grammar takes
about 1.8 CPU seconds to build at import, only to check the "iri" string formats.  Nothing in
a chapter validates such strings (nbformat's schemas use no string formats), so the kernel
marks that module as absent before IPython starts: jsonschema then omits those two format
checks, and every chapter run — in ``make book``, ``make nbtest``, ``bbdlib run`` and every
run of ``make robustness`` — is about 1.8 CPU seconds cheaper.  The parent process of a sweep
run does the same (``_RUNNER`` in :mod:`bbdlib.book.sweep`).  Nothing else differs from ipykernel's
own launcher.

``python -m bbdlib.book.kernel install`` installs the kernel as ``python3`` into the
environment (``make venv`` does); ``python -m bbdlib.book.kernel -f <connection file>`` is how
Jupyter starts it.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

__all__ = ["SKIPPED_MODULE", "launch", "install"]

#: The optional module the kernel marks as absent (see the module docstring).
SKIPPED_MODULE = "rfc3987_syntax"


def launch(argv: list[str] | None = None) -> None:
    """Start an IPython kernel (what ``ipykernel_launcher`` does) without :data:`SKIPPED_MODULE`.

    Parameters
    ----------
    argv : list of str, optional
        The kernel's command-line arguments (default ``sys.argv[1:]``).
    """
    sys.modules.setdefault(SKIPPED_MODULE, None)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv)


def install(prefix: str | Path | None = None, kernel_name: str = "python3",
            display_name: str = "Python 3") -> Path:
    """Install the kernel spec: ipykernel's, with this module as its launcher.

    Parameters
    ----------
    prefix : str or pathlib.Path, optional
        The environment prefix (default ``sys.prefix``): the spec goes to
        ``<prefix>/share/jupyter/kernels/<kernel_name>``.
    kernel_name, display_name : str
        The kernel's name and display name.

    Returns
    -------
    pathlib.Path
        The folder of the installed spec.
    """
    for name, value in (("kernel_name", kernel_name), ("display_name", display_name)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    from ipykernel.kernelspec import install as ipykernel_install

    folder = Path(ipykernel_install(prefix=str(prefix if prefix is not None else sys.prefix),
                                    kernel_name=kernel_name, display_name=display_name))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    argv = spec["argv"]
    if "ipykernel_launcher" not in argv:
        raise RuntimeError(f"unexpected kernel spec from ipykernel: {argv}")
    argv[argv.index("ipykernel_launcher")] = "bbdlib.book.kernel"
    spec_file.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return folder


if __name__ == "__main__":  # pragma: no cover - run by Jupyter, tested through a started kernel
    if sys.argv[1:2] == ["install"]:
        print(install())
    else:
        launch()

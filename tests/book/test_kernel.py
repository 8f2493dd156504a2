"""Tests of bbdlib.book.kernel: the installed spec and a started kernel."""
import json
import sys

import pytest

from bbdlib.book.kernel import SKIPPED_MODULE, install


def test_install_writes_a_spec_that_launches_this_module(tmp_path):
    folder = install(prefix=tmp_path)
    spec = json.loads((folder / "kernel.json").read_text(encoding="utf-8"))
    assert folder == tmp_path / "share" / "jupyter" / "kernels" / "python3"
    assert spec["argv"][0] == sys.executable
    assert spec["argv"][spec["argv"].index("-m") + 1] == "bbdlib.book.kernel"
    assert "ipykernel_launcher" not in spec["argv"] and "{connection_file}" in spec["argv"]
    assert spec["display_name"] == "Python 3" and spec["language"] == "python"


@pytest.mark.parametrize("kw", [dict(kernel_name=""), dict(display_name=3)])
def test_install_bad_input(tmp_path, kw):
    with pytest.raises(TypeError, match=next(iter(kw))):
        install(prefix=tmp_path, **kw)


def test_started_kernel_runs_code_and_skips_the_module(tmp_path):
    """The kernel Jupyter starts from the spec executes cells; nbformat imports without the
    skipped module (marked absent), and validates a notebook."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    folder = install(prefix=tmp_path)
    ksm = KernelSpecManager(kernel_dirs=[str(folder.parent)], ensure_native_kernel=False)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ksm)
    assert km.kernel_spec.resource_dir == str(folder)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        code = ("import sys, nbformat; nb = nbformat.v4.new_notebook(); nbformat.validate(nb); "
                f"print(repr(sys.modules.get({SKIPPED_MODULE!r}, 'missing')), 6 * 7)")
        out = []
        kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")))
        assert "".join(out).split() == ["None", "42"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

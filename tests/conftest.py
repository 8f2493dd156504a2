"""Fixtures shared by every test folder (tests/ mirrors bbdlib/).

Every test runs with ``BBD_CLAIMS_DIR`` pointing into its own temporary folder, so no test
writes a ledger into ``_build/claims`` (where the book build reads them).
"""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the folder holding ``_config.yml``, ``bbdlib/`` and ``chapters/``)."""
    return REPO


@pytest.fixture(autouse=True)
def claims_dir(tmp_path_factory, monkeypatch) -> Path:
    """A fresh folder for claims ledgers, set as ``BBD_CLAIMS_DIR`` for the test."""
    folder = tmp_path_factory.mktemp("claims")
    monkeypatch.setenv("BBD_CLAIMS_DIR", str(folder))
    return folder

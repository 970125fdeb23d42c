"""Shared fixtures: copies of the example catalogue, and the command line run as a user runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every run's parse cache in one temporary folder, not in the user's ~/.cache: the suite makes
    thousands of catalogues, each of which would leave a cache folder there. A test that sets
    SVCASCODE_CACHE_DIR itself still chooses its own."""
    with pytest.MonkeyPatch.context() as patch:
        if "SVCASCODE_CACHE_DIR" not in os.environ:
            patch.setenv("SVCASCODE_CACHE_DIR", str(tmp_path_factory.mktemp("svcascode-cache")))
        yield


def copy_example(target: Path) -> Path:
    """The example catalogue (services/ and policies/) copied into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for folder in ("services", "policies"):
        shutil.copytree(REPO / folder, target / folder)
    return target


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "catalogue")


def run_cli(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`svcascode ARGS` in a fresh process, in `cwd`, with the exit code and both streams."""
    return subprocess.run([sys.executable, "-m", "svcascode", *args], cwd=cwd, capture_output=True, text=True,
                          input=stdin, timeout=300)

"""Code-running settings from a trusted revision.

`local_checks:` makes svcascode run the repository's Python. In a run against a revision (`check --base
REV`, `check --rev REV`, `diff BASE`), the change under review must not choose what runs: a pull request
could add a module and the setting that enables it, and CI would run it. So those runs take the list of
repository check modules from the configuration at the trusted revision, and each module's bytes from
that revision's tree; the working tree's setting and files are not read for it. A check the working tree
enables that the trusted revision does not is not loaded: a Control naming it is reported as a control
that cannot run, saying why.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

from svcascode.checks import MAX_MODULE_BYTES, LocalModule, local_check_name, set_local_checks
from svcascode.configfile import CONFIG_FILE, MAX_CONFIG_BYTES
from svcascode.errors import SvcascodeError
from svcascode.escape import inert, visible
from svcascode.gitrepo import MODE_SYMLINK, GitRepo

if TYPE_CHECKING:
    from svcascode.config import Settings

_REGULAR = ("100644", "100755")


def _blob(repo: GitRepo, sha: str, path: str, limit: int, what: str) -> bytes | None:
    """A regular file's bytes at the commit (path relative to the catalogue root), None when absent; a link,
    a submodule or an oversized file is a SvcascodeError."""
    full = repo.prefix + path
    entry = repo.tree(sha, [full], gitlinks=True).get(full)
    if entry is None:
        return None
    mode, blob = entry
    if mode == MODE_SYMLINK:
        raise SvcascodeError(f"{path} at {sha[:12]}: a link: {what} must be a regular file")
    if mode not in _REGULAR:
        raise SvcascodeError(f"{path} at {sha[:12]}: not a regular file: {what} must be one")
    size = int(repo.git("cat-file", "-s", blob).strip() or 0)
    if size > limit:
        raise SvcascodeError(f"{path} at {sha[:12]}: {size} bytes, over the limit of {limit} for {what}")
    return repo.read(blob)


def config_at(repo: GitRepo, sha: str) -> tuple[str, bytes] | None:
    """The configuration file at the commit, as `configfile.config_source` finds it on disk."""
    for name in (CONFIG_FILE, "pyproject.toml"):
        data = _blob(repo, sha, name, MAX_CONFIG_BYTES, "a configuration file")
        if data is not None:
            return name, data
    return None


def settings_at(repo: GitRepo, sha: str, root: Path) -> Settings | None:
    """The settings of the configuration at the commit, or None when it cannot be read (nothing of it is
    then trusted)."""
    from svcascode.config import settings_from

    try:
        return settings_from(root, config_at(repo, sha), paths_on_disk=False)
    except SvcascodeError:
        return None


def _relative(value: str) -> str:
    """A configured module path as a path of the tree, or a SvcascodeError when it leaves the repository."""
    text = value.replace("\\", "/")
    if not text.strip() or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise SvcascodeError(f"local_checks: {value!r}: give a path relative to the repository root")
    normal = posixpath.normpath(text)
    if normal == ".." or normal.startswith("../") or ".." in text.split("/"):
        raise SvcascodeError(f"local_checks: {value!r}: '..' leaves the repository")
    return normal


def trusted_local_checks(root: Path, rev: str, option: str, asked: list[str]) -> list[str]:
    """Enable the repository check modules of the configuration at `rev`, read from that revision; `asked`
    (the working tree's `local_checks:`) names the modules refused with why. The list enabled is returned."""
    from svcascode.config import settings_from

    with GitRepo(root) as repo:
        sha = repo.resolve(rev, option)
        short = sha[:12]
        try:
            listed = settings_from(root, config_at(repo, sha), paths_on_disk=False).local_checks
            problem = ""
        except SvcascodeError as error:  # the trusted configuration cannot be read: nothing of it runs
            listed, problem = [], f" (its configuration cannot be read: {inert(visible(str(error)))})"
        modules: dict[str, LocalModule] = {}
        for value in listed:
            name = local_check_name(value)
            path = _relative(value)
            data = _blob(repo, sha, path, MAX_MODULE_BYTES, "a repository check module")
            if data is None:
                raise SvcascodeError(f"local_checks: {value!r}: no such file at {option} {rev} ({short})")
            modules[name] = LocalModule(f"{path} at {short}", data)
    refused: dict[str, str] = {}
    for value in asked:
        try:
            name = local_check_name(value)
        except SvcascodeError:
            continue
        refused[name] = (f"repository check module {inert(visible(value))} not run: in a run against {option} "
                         f"{inert(visible(rev))}, repository checks are those that the configuration at {short} "
                         f"enables{problem}, read from that revision; merge the module and its `local_checks:` "
                         "entry first, then the controls that use it (docs/git.md)")
    set_local_checks(modules, refused)
    return list(listed)

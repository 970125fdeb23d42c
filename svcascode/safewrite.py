"""Writing output files: never through a link, never outside the folder chosen, never over a file when the
command promises not to.

Every command that writes a file writes it here. A repository may hold links (a committed link at
`out/report`, at `services/incidents`, at `svcascode.sarif`), and a run in CI must not follow one out of
the workspace. So a path is walked one component at a time from the folder it starts at (the current
folder for a relative path, `/` for an absolute one), each opened with `O_NOFOLLOW` relative to the one
before (`openat`): a component that is a link stops the run with exit 2 naming it, before anything is
written, and a folder renamed or replaced by a link meanwhile is not followed either, since nothing is
looked up by its name twice. Missing folders are created the same way.

A file is written to a temporary name in its folder (created exclusively) and renamed over the target,
so a link put at the target meanwhile is replaced, not followed, and a reader never sees half a file.
`exclusive=True` (importers, `init`) creates the target itself exclusively (`O_EXCL`): a file there,
or a link, is never replaced (`FileExistsError`, which the caller lists as skipped).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from svcascode.errors import SvcascodeError
from svcascode.escape import inert, visible

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NEW_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


def _shown(path: str | Path) -> str:
    return inert(visible(str(path)))


def _refuse(shown: str, what: str) -> SvcascodeError:
    return SvcascodeError(f"{_shown(shown)}: is {what}: refused; output is never written through a link or outside "
                          "the folder chosen: remove it or choose another output path")


def _parts(path: str | Path) -> tuple[str, list[str]]:
    """Where a walk starts (`.` or `/`) and the components after it (`.` and empty ones left out)."""
    text = os.fspath(path)
    start = "/" if os.path.isabs(text) else "."
    return start, [p for p in text.split(os.sep) if p not in ("", ".")]


def _open_folder(path: str | Path, create: bool) -> int:
    """A file descriptor of the folder at `path`, reached without following any link (created when missing
    and `create`); a SvcascodeError names the component that is a link or not a folder."""
    start, parts = _parts(path)
    try:
        fd = os.open(start, _DIR_FLAGS)
    except OSError as error:
        raise SvcascodeError(f"{_shown(start)}: cannot open: {error.strerror}") from None
    return _walk(fd, parts, create, "" if start == "." else "/")


def _walk(fd: int, parts: list[str], create: bool, walked: str) -> int:
    """The folder `parts` below the open folder `fd`, each component opened relative to the one before without
    following a link (created when missing and `create`). `fd` is the walk's own: closed, or returned when
    `parts` is empty; `walked` is the path up to `fd`, for messages."""
    try:
        for part in parts:
            walked = os.path.join(walked, part) if walked else part
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise SvcascodeError(f"{_shown(walked)}: no such folder") from None
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:  # made meanwhile: opened below, without following a link
                    pass
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    kind = _kind_at(fd, part)
                    if kind.startswith("a link"):
                        raise _refuse(walked, kind) from None
                    raise SvcascodeError(f"{_shown(walked)}: cannot write: not a folder, where one is needed"
                                         ) from None
                raise
            os.close(fd)
            fd = child
    except OSError as error:
        os.close(fd)
        raise SvcascodeError(f"{_shown(walked)}: cannot write: {error.strerror}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _kind_at(fd: int, name: str) -> str:
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except OSError:
        return "not a folder"
    if stat.S_ISLNK(info.st_mode):
        try:
            return f"a link (to {os.readlink(name, dir_fd=fd)})"
        except OSError:
            return "a link"
    return "not a folder"


class OutputFolder:
    """A folder output is written into; every file below it is reached without following a link.

    The folder is reached once, when made (a link on the way is refused before anything is written), and
    held open: each folder below it is reached from it, and the last ones written into are held open too,
    so a site of thousands of pages walks its output path once, not once a page. Nothing is looked up by
    its name twice, so a folder renamed or replaced by a link meanwhile is not followed. `close()` (or the
    end of a `with` block) lets the folders go."""

    _HELD = 32  # folders below this one held open at most (a site's src/ mirrors every folder of the repository)

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.create = create
        self._held: dict[tuple[str, ...], int] = {}
        self._root: int | None = None
        self._root = _open_folder(self.path, create)

    def close(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        if self._root is not None:
            os.close(self._root)
            self._root = None

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def _split(self, relative: str) -> tuple[list[str], str]:
        parts = [p for p in relative.replace(os.sep, "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or os.path.isabs(relative):
            raise SvcascodeError(f"{_shown(self.path / relative)}: outside the output folder {_shown(self.path)}: "
                                 "refused")
        return parts[:-1], parts[-1]

    def _folder(self, folders: list[str]) -> int:
        """An open folder below this one: held (do not close it)."""
        key = tuple(folders)
        held = self._held.get(key)
        if held is not None:
            return held
        if self._root is None:
            raise SvcascodeError(f"{_shown(self.path)}: the output folder was closed")
        if len(self._held) >= self._HELD:
            for fd in self._held.values():
                os.close(fd)
            self._held.clear()
        fd = _walk(os.dup(self._root), folders, self.create, str(self.path))
        self._held[key] = fd
        return fd

    def write(self, relative: str, data: str | bytes, exclusive: bool = False) -> Path:
        """Write `data` (text as UTF-8) at `relative` below the folder; with `exclusive`, only as a new file
        (FileExistsError when anything is there). Returns the path written."""
        folders, name = self._split(relative)
        target = self.path.joinpath(*folders, name)
        body = data.encode("utf-8") if isinstance(data, str) else data
        fd = self._folder(folders)
        try:
            if exclusive:
                _write_new(fd, name, body, target)
            else:
                _replace(fd, name, body, target)
        except SvcascodeError:
            # the folder held may have been removed, or replaced by a link, since it was reached: say what is at
            # its path now (a link there is refused by name), else what failed
            os.close(_open_folder(self.path.joinpath(*folders), create=False))
            raise
        return target

    def exists(self, relative: str) -> bool:
        """Whether anything (a link too) is at `relative`."""
        folders, name = self._split(relative)
        try:
            fd = _open_folder(self.path.joinpath(*folders) if folders else self.path, create=False)
        except SvcascodeError:
            return False
        try:
            os.stat(name, dir_fd=fd, follow_symlinks=False)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def read(self, relative: str, limit: int) -> bytes | None:
        """At most `limit` bytes of the regular file at `relative`, or None when there is none (or it is a
        link, a FIFO, a device: not a file of ours)."""
        folders, name = self._split(relative)
        try:
            folder = _open_folder(self.path.joinpath(*folders) if folders else self.path, create=False)
        except SvcascodeError:
            return None
        try:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder)
        except OSError:
            return None
        finally:
            os.close(folder)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return os.read(fd, limit)
        except OSError:
            return None
        finally:
            os.close(fd)


def _write_new(folder: int, name: str, body: bytes, shown: Path) -> None:
    try:
        fd = os.open(name, _NEW_FLAGS, 0o666, dir_fd=folder)
    except FileExistsError:
        raise
    except OSError as error:
        raise SvcascodeError(f"{_shown(shown)}: cannot write: {error.strerror}") from None
    try:
        _write_all(fd, body, shown)
    finally:
        os.close(fd)


def _replace(folder: int, name: str, body: bytes, shown: Path) -> None:
    try:
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise SvcascodeError(f"{_shown(shown)}: cannot write: {error.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        what = _kind_at(folder, name) if stat.S_ISLNK(info.st_mode) else "not a regular file"
        raise _refuse(str(shown), what)
    temporary = f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(temporary, _NEW_FLAGS, 0o666, dir_fd=folder)
    except OSError as error:
        raise SvcascodeError(f"{_shown(shown)}: cannot write: {error.strerror}") from None
    try:
        try:
            _write_all(fd, body, shown)
        finally:
            os.close(fd)
        try:
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)  # replaces a link, never follows it
        except OSError as error:
            raise SvcascodeError(f"{_shown(shown)}: cannot write: {error.strerror}") from None
    except BaseException:
        try:
            os.unlink(temporary, dir_fd=folder)
        except OSError:
            pass
        raise


def _write_all(fd: int, body: bytes, shown: Path) -> None:
    view = memoryview(body)
    try:
        while view:
            done = os.write(fd, view)
            view = view[done:]
    except OSError as error:
        raise SvcascodeError(f"{_shown(shown)}: cannot write: {error.strerror}") from None


def write_file(path: str | Path, data: str | bytes, exclusive: bool = False) -> Path:
    """Write one file (`--output FILE`): every folder on its path reached without following a link, the file
    itself replaced, never written through a link (or, with `exclusive`, only created)."""
    text = os.fspath(path)
    folder, name = os.path.split(text)
    if not name or name in (".", ".."):
        raise SvcascodeError(f"{_shown(text)}: not a file name")
    return OutputFolder(folder or ".", create=False).write(name, data, exclusive)


def check_folder(path: str | Path) -> None:
    """Before a run's work: refuse an output folder with a link (or a file) on its way; the part of it that
    does not exist yet is created when written."""
    start, parts = _parts(path)
    try:
        fd = os.open(start, _DIR_FLAGS)
    except OSError:
        return  # said when writing
    walked = "" if start == "." else "/"
    try:
        for part in parts:
            walked = os.path.join(walked, part) if walked else part
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                return
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    kind = _kind_at(fd, part)
                    if kind.startswith("a link"):
                        raise _refuse(walked, kind) from None
                    raise SvcascodeError(f"{_shown(walked)}: cannot write: not a folder, where one is needed"
                                         ) from None
                return
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def check_file(path: str | Path) -> None:
    """Before a run's work: refuse an output file that is a link or not a regular file, or whose folder has
    a link on its way."""
    text = os.fspath(path)
    folder, name = os.path.split(text)
    check_folder(folder or ".")
    try:
        info = os.lstat(text)
    except OSError:
        return
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(text)
        except OSError:
            target = "?"
        raise _refuse(text, f"a link (to {target})")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(text, "not a regular file")

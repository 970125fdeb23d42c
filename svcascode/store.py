"""The store: the one place svcascode keeps what a run computed, so that a later run can reuse it.

Every cached stage goes through it: the parse of a file (`parse`), the validation of its documents
(`validate`), the result of a (control, document) pair (`pairs`), and a whole run's output (the run cache,
`svcascode.runcache`). It is one mechanism:

- one key recipe, `stage_key`: the code digest of svcascode (every file of the package, Python, the
  installed distributions, the time zone database: `svcascode.codeversion.code_digest`), the stage's name,
  the settings the stage reads, then the stage's inputs. No stage can forget the code it runs, and no
  format number is bumped by hand: an upgrade, even one that keeps the version number, changes every key;
- one signed store: a private folder outside the repository (one per repository, under
  `$SVCASCODE_CACHE_DIR`, else `$XDG_CACHE_HOME/svcascode`, else `~/.cache/svcascode`), whose files are
  signed (HMAC-SHA256) with a random key kept beside them (mode 0600) and salted with the code digest,
  opened without following links, created exclusively and renamed into place. A file that is missing,
  foreign, tampered with, unreadable or of another version reads as nothing: a cache may only save work;
- one codec of the typed records (`svcascode.codec`).

A stage's records are kept in a pack: a large signed base and a small signed delta naming the base it
extends, so a run that changed a few records writes those. A pack keeps only the records the last run
used, so it does not grow without bound.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterable, Iterator

from svcascode.codeversion import code_digest

CACHE_ENV = "SVCASCODE_CACHE_DIR"
_MAGIC = b"svcascode-store\x00"
_KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_MISSING = object()


def stage_key(stage: str, settings: bytes, *inputs: bytes) -> bytes:
    """The key of a stage's record: the code that computes it, the stage, the settings it reads, its inputs."""
    h = hashlib.blake2b(digest_size=20)
    h.update(code_digest())
    h.update(stage.encode() + b"\0")
    h.update(hashlib.blake2b(settings, digest_size=16).digest())
    for part in inputs:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def cache_base() -> Path:
    """Where the stores of every repository live: $SVCASCODE_CACHE_DIR, $XDG_CACHE_HOME/svcascode or ~/.cache."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "svcascode"


def cache_folder(root: Path) -> Path:
    """The store folder of the repository at `root`: named by the hash of its resolved path."""
    return cache_base() / hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:32]


def private_folder(folder: Path, root: Path) -> Path | None:
    """`folder`, created when missing, if it is a real folder of ours that nobody else can write and that
    lies outside the repository; else None (no disk cache)."""
    try:
        real_root = root.resolve()
        if folder.resolve().is_relative_to(real_root) or folder.absolute().is_relative_to(real_root):
            return None  # inside the working tree a pull request could commit the cache and its key
        folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        info = os.lstat(folder)
    except (OSError, RuntimeError, ValueError):
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022 or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
        return None
    return folder


def _read_own(path: Path, limit: int) -> bytes | None:
    """A regular file of ours, never through a link, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit or info.st_mode & 0o077 \
                or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def _write_new(folder: Path, name: str, *parts: bytes) -> Path | None:
    """`parts`, one after another, in a new file of `folder` created exclusively (O_EXCL, no link followed),
    mode 0600; written apart, so that a large record is never copied to be written."""
    path = folder / f"{name}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in parts:
                handle.write(part)
    except OSError:
        path.unlink(missing_ok=True)
        return None
    return path


def _key(folder: Path) -> bytes | None:
    """The store's signing key, made on first use."""
    path = folder / "key"
    for _ in range(2):
        key = _read_own(path, _KEY_BYTES)
        if key is not None:
            return key if len(key) == _KEY_BYTES else None
        made = _write_new(folder, "key", os.urandom(_KEY_BYTES))
        if made is None:
            return None
        try:
            os.link(made, path)  # fails when another run made the key meanwhile: then read theirs
        except OSError:
            pass
        made.unlink(missing_ok=True)
    return None


_SHARED: ContextVar[dict[Path, Store] | None] = ContextVar("svcascode_stores", default=None)


@contextmanager
def one_store_per_folder() -> Iterator[None]:
    """Within the block (one command), `Store.of` gives one Store per store folder, so its packs are
    shared: a command that loads the working tree and reads git history (the delivery ledger's
    definitions, a diff's base) keeps the records both used. With a Store each, the one saved last
    replaced the stage's pack with its own records, and the next run parsed every file again."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


class Store:
    """The signed records of one repository's store folder; without a folder (or a key to sign with),
    nothing is read or written and every pack lives in memory only."""

    MAX_FILE = 1 << 30

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._salt = b"svcascode-store\0" + code_digest()
        self._secret = _key(folder) if folder is not None else None
        if self._secret is None:
            self.folder = None
        self._packs: dict[str, Pack] = {}
        self._previous: bytes | None = None  # the code digest of the run that last wrote here
        self._read_previous = False

    @staticmethod
    def of(root: Path, enabled: bool = True, create: bool = True) -> Store:
        """The store of the repository at `root` (none when the cache is turned off); `create`: make its
        folder when it does not exist yet."""
        if not enabled:
            return Store(None)
        folder = cache_folder(root)
        private = private_folder(folder, root) if create or folder.is_dir() else None
        shared = _SHARED.get()
        if private is None or shared is None:
            return Store(private)
        found = shared.get(private)
        if found is None:
            found = shared[private] = Store(private)
        return found

    def _sign(self, *parts: bytes | memoryview, salt: bytes | None = None) -> bytes:
        """The signature of the parts one after another (fed to the HMAC apart: a large record is not copied)."""
        assert self._secret is not None
        signature = hmac.new(self._secret, self._salt if salt is None else salt, hashlib.sha256)
        for part in parts:
            signature.update(part)
        return signature.digest()

    _VERSION, _VERSION_SALT = "version", b"svcascode-store-version\0"

    def reason(self) -> str | None:
        """Why nothing of the store can be reused, when that is so: `no earlier run` (nothing was kept for
        this repository, or there is no store) or `code changed` (another version of svcascode, Python or a
        library wrote it); None when the store was written by this code."""
        if not self._read_previous:
            self._read_previous = True
            if self.folder is not None:
                blob = _read_own(self.folder / self._VERSION, 1024)
                if blob is not None and len(blob) == 32 + len(code_digest()) and hmac.compare_digest(
                        blob[:32], self._sign(blob[32:], salt=self._VERSION_SALT)):
                    self._previous = blob[32:]
        if self._previous is None:
            return "no earlier run"
        return None if self._previous == code_digest() else "code changed"

    def _mark_version(self) -> None:
        """Say which code wrote the store (signed without it, so that a later version can read it)."""
        if self.folder is None or self.reason() is None:
            return
        digest = code_digest()
        temporary = _write_new(self.folder, self._VERSION, self._sign(digest, salt=self._VERSION_SALT), digest)
        if temporary is not None:
            try:  # `reason` still says what the store held when this command began
                os.replace(temporary, self.folder / self._VERSION)
            except OSError:
                temporary.unlink(missing_ok=True)

    def signed(self, name: str) -> tuple[bytes, Any] | None:
        """(signature, value) of the record `name`; None when it is missing, foreign, tampered with or
        unreadable (or there is no folder)."""
        if self.folder is None:
            return None
        blob = _read_own(self.folder / name, self.MAX_FILE)
        head = len(_MAGIC) + 32
        if blob is None or len(blob) < head or not blob.startswith(_MAGIC):
            return None
        view = memoryview(blob)  # the body is read in place, never copied out of the file's bytes
        mac, body = bytes(view[len(_MAGIC):head]), view[head:]
        if not hmac.compare_digest(mac, self._sign(name.encode() + b"\0", body)):
            return None
        try:
            return mac, marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return None

    def load(self, name: str) -> Any:
        """The value of the record `name`, or None."""
        found = self.signed(name)
        return found[1] if found is not None else None

    def save(self, name: str, value: Any) -> bytes | None:
        """`value` as the record `name`: a new file, signed, renamed into place; its signature."""
        if self.folder is None:
            return None
        try:
            body = marshal.dumps(value)
        except ValueError:
            return None
        mac = self._sign(name.encode() + b"\0", body)
        temporary = _write_new(self.folder, name, _MAGIC, mac, body)
        if temporary is None:
            return None  # an unwritable store folder: the run still works, without the store
        try:
            os.replace(temporary, self.folder / name)  # replaces a planted link, never writes through it
        except OSError:
            temporary.unlink(missing_ok=True)
            return None
        return mac

    def remove(self, name: str) -> None:
        if self.folder is not None:
            try:
                (self.folder / name).unlink(missing_ok=True)
            except OSError:
                pass

    def names(self, prefix: str) -> list[str]:
        """The records whose name starts with `prefix`."""
        if self.folder is None:
            return []
        try:
            return [p.name for p in self.folder.iterdir() if p.name.startswith(prefix) and not p.name.endswith(".tmp")]
        except OSError:
            return []

    def pack(self, stage: str) -> Pack:
        """The records of a stage (one pack per stage, made on first use)."""
        found = self._packs.get(stage)
        if found is None:
            found = self._packs[stage] = Pack(self, stage)
        return found

    def flush(self) -> None:
        """Write every pack whose records changed."""
        for pack in self._packs.values():
            pack.save()
        if self._packs:
            self._mark_version()


class Pack:
    """One stage's records: what the last run kept, and what this run keeps (`keep`) for the next.

    On disk, a large signed base and a small signed delta naming the base it extends. When the delta would
    grow past a tenth of the base, or half of the base went unused, the next save writes one new base of
    the records used and drops the delta."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, f"{name}.pack"
        self._loaded: dict[Any, Any] | None = None
        self._base_mac: bytes | None = None
        self._base_keys: set[Any] = set()
        self._delta_keys: set[Any] = set()
        self._kept: dict[Any, Any] = {}
        self._renewed: set[Any] = set()

    def entries(self) -> dict[Any, Any]:
        """Every record the pack holds (base and delta), read on first use; a missing or foreign pack holds none.
        The mapping is the pack's own: a record is added or replaced with `keep`, never by changing it."""
        if self._loaded is None:
            self._loaded = {}
            found = self.store.signed(self.name)
            if found is not None and isinstance(found[1], dict):
                self._base_mac, self._loaded = found[0], dict(found[1])
                self._base_keys = set(self._loaded)
                delta = self.store.signed(self.name + ".delta")
                if delta is not None and isinstance(delta[1], tuple) and len(delta[1]) == 2:
                    extends, more = delta[1]
                    if extends == self._base_mac and isinstance(more, dict):
                        self._loaded.update(more)
                        self._delta_keys = set(more)
        return self._loaded

    def get(self, key: Any) -> Any:
        """The record of a key: kept by this run, else read from the pack; None when there is none."""
        found = self._kept.get(key, _MISSING)
        return found if found is not _MISSING else self.entries().get(key)

    def kept(self, key: Any) -> Any:
        """The record this run kept last under a key (None when it kept none)."""
        return self._kept.get(key)

    def keep(self, key: Any, value: Any) -> None:
        """Keep a record for the next run (one read from the pack, or a new one)."""
        self._kept[key] = value
        old = self.entries().get(key, _MISSING)
        if old is not value and (old is _MISSING or old != value):
            self._renewed.add(key)

    def save(self) -> None:
        """Keep the records this run kept: a small delta beside the base when little changed, else a new base."""
        if self.store.folder is None:
            return
        loaded = self.entries()
        if not self._renewed and len(self._kept) == len(loaded):
            return  # the same records as the pack holds
        kept, renewed = self._kept, self._renewed
        if self._base_mac is not None:
            # the delta holds every record whose value is not the base's: new ones, renewed ones, and those
            # the last delta held (their base value is older), whether or not this run changed them again
            fresh = {key: value for key, value in kept.items()
                     if key not in self._base_keys or key in renewed or key in self._delta_keys}
            unused = len(self._base_keys) - sum(1 for key in kept if key in self._base_keys)
            if len(fresh) <= max(64, len(self._base_keys) // 10) and unused <= len(self._base_keys) // 2:
                if renewed or set(fresh) != self._delta_keys:
                    if self.store.save(self.name + ".delta", (self._base_mac, fresh)) is not None:
                        self._delta_keys = set(fresh)
                self._done()
                return
        mac = self.store.save(self.name, kept)
        if mac is not None:
            self._base_mac, self._base_keys = mac, set(kept)
            self.store.remove(self.name + ".delta")
            self._delta_keys = set()
        self._done()

    def _done(self) -> None:
        self._loaded = dict(self._kept)
        self._renewed = set()

    def keys_kept(self) -> Iterable[Any]:
        return self._kept.keys()

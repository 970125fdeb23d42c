"""Parsed files by the hash of their bytes, so a re-check or a walk through history never parses the
same bytes twice.

The cache on disk is a pull request's way to lie to the gate if it can reach it, so it lives outside the
working tree (one folder per repository under `$SVCASCODE_CACHE_DIR`, else `$XDG_CACHE_HOME/svcascode`,
else `~/.cache/svcascode`), its pack is signed with a random key kept beside it (mode 0600), and every
file in it is opened without following links and created exclusively, then renamed into place. A pack
that is unreadable, of another format, or whose signature does not match is ignored whole.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
from pathlib import Path
from typing import Any, Iterable, TYPE_CHECKING

import yaml

from svcascode.configfile import LIMIT_NAMES
from svcascode.finding import Finding
from svcascode.loading.discover import checked_bytes
from svcascode.loading.yamlfile import ParsedFile, RawDocument, parse_text
from svcascode.rules import RULE_YAML

if TYPE_CHECKING:  # the settings are pydantic models: not imported to read, parse or cache a file
    from svcascode.config import Limits, Settings
    from svcascode.configfile import FileLimits

CACHE_FORMAT = 5
CACHE_ENV = "SVCASCODE_CACHE_DIR"
_MAGIC = b"svcascode-parse-cache\x00" + CACHE_FORMAT.to_bytes(2, "big")
_KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def cache_base() -> Path:
    """Where the caches of every repository live: $SVCASCODE_CACHE_DIR, $XDG_CACHE_HOME/svcascode or ~/.cache."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "svcascode"


def cache_folder(root: Path) -> Path:
    """The cache folder of the repository at `root`: named by the hash of its resolved path."""
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


def _write_new(folder: Path, name: str, data: bytes) -> Path | None:
    """`data` in a new file of `folder` created exclusively (O_EXCL, no link followed), mode 0600."""
    path = folder / f"{name}.{os.getpid()}.{os.urandom(8).hex()}.tmp"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    except OSError:
        path.unlink(missing_ok=True)
        return None
    return path


def _key(folder: Path) -> bytes | None:
    """The cache's signing key, made on first use."""
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


def parse_salt(limits: FileLimits) -> bytes:
    """What a parse depends on besides a file's bytes: the cache format, PyYAML's version, the limits."""
    return repr((CACHE_FORMAT, yaml.__version__, {name: getattr(limits, name) for name in LIMIT_NAMES})).encode()


def parse_key(salt: bytes, data: bytes) -> str:
    """The key of a file's bytes in the parse cache (and in the run cache's index), under `parse_salt`."""
    return hashlib.sha256(salt + data).hexdigest()


class SignedFiles:
    """Files of a private cache folder, each signed (HMAC-SHA256) with the folder's key and a salt naming
    what their values depend on: one that is missing, foreign, tampered with or unreadable reads as None.
    Without a folder (or a key to sign with) nothing is read or written."""

    MAX_PACK = 1 << 30

    def __init__(self, folder: Path | None, salt: bytes) -> None:
        self.folder = folder
        self._salt = salt
        self._secret = _key(folder) if folder is not None else None
        if self._secret is None:
            self.folder = None  # no key to sign with: memory only

    def _sign(self, body: bytes) -> bytes:
        assert self._secret is not None
        return hmac.new(self._secret, self._salt + body, hashlib.sha256).digest()

    def _signed(self, name: str) -> tuple[bytes, Any] | None:
        """(signature, value) of this cache's signed file `name`; None when it is missing, foreign, tampered
        with or unreadable (or there is no disk cache)."""
        if self.folder is None:
            return None
        blob = _read_own(self.folder / name, self.MAX_PACK)
        head = len(_MAGIC) + 32
        if blob is None or len(blob) < head or not blob.startswith(_MAGIC):
            return None
        mac, body = blob[len(_MAGIC):head], blob[head:]
        if not hmac.compare_digest(mac, self._sign(name.encode() + b"\0" + body)):
            return None
        try:
            return mac, marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            return None

    def load_signed(self, name: str) -> Any:
        """The value in this cache's signed file `name`, or None when it is missing, foreign, tampered with
        or unreadable (or there is no disk cache)."""
        found = self._signed(name)
        return found[1] if found is not None else None

    def save_signed(self, name: str, value: Any) -> bytes | None:
        """`value` in this cache's signed file `name`: a new file, signed, renamed into place; its signature."""
        if self.folder is None:
            return None
        try:
            body = marshal.dumps(value)
        except ValueError:
            return None
        mac = self._sign(name.encode() + b"\0" + body)
        temporary = _write_new(self.folder, name, _MAGIC + mac + body)
        if temporary is None:
            return None  # an unwritable cache folder: the run still works, without the disk cache
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


class ParseCache(SignedFiles):
    """Parsed files keyed by the hash of their bytes: in memory always, on disk when given a folder.

    On disk the entries of the last run are one `marshal`ed pack, signed (HMAC-SHA256) with the key
    beside it, so loading all of them costs a fraction of parsing again. The pack is written to a new
    temporary file and renamed, so a crash cannot corrupt it, and it keeps only the entries the last run
    used, so it does not grow without bound.
    """

    PACK = f"parsed-v{CACHE_FORMAT}.pack"

    def __init__(self, folder: Path | None, limits: Limits) -> None:
        super().__init__(folder, parse_salt(limits))
        self.limits = limits
        self.memory: dict[str, Any] = {}
        self.used: set[str] = set()
        self.keys: dict[str, str] = {}  # path -> the key of the bytes last parsed for it
        self.parsed = 0
        self.hits = 0
        self._dirty = False
        self._packs = _Packs(self)
        self.results: Any = None  # the evaluation results that go with these files (svcascode.incremental)
        if self.folder is not None:
            self.memory = self._load()

    @property
    def salt(self) -> bytes:
        """What every entry depends on besides its bytes: the cache format, PyYAML's version, the limits."""
        return self._salt

    def _load(self) -> dict[str, Any]:
        """The signed pack's entries, or nothing when it is missing, foreign, tampered with or unreadable."""
        return self._packs.load(self.PACK)

    def load_pack(self, name: str) -> dict[Any, Any]:
        """The entries of the pack `name` (`save_pack`): its signed base and, when it was written for that
        base, its signed delta. Either ignored when missing, foreign or tampered with."""
        return self._packs.load(name)

    def save_pack(self, name: str, entries: dict[Any, Any], used: Iterable[Any], changed: bool = True,
                  replaced: Iterable[Any] = ()) -> None:
        """Keep the `used` entries: a small delta beside the base pack when little changed, else a new base."""
        self._packs.save(name, entries, used, changed, replaced)

    def key(self, data: bytes) -> str:
        return parse_key(self._salt, data)

    def parse(self, path: str, data: bytes, key: str | None = None) -> ParsedFile:
        key = key or self.key(data)
        self.used.add(key)
        self.keys[path] = key
        entry = self.memory.get(key)
        if entry is not None:
            try:
                rebuilt = self._rebuild(path, data, entry)
            except (TypeError, ValueError):
                rebuilt = None  # an entry of an unexpected shape: parse again
            if rebuilt is not None:
                self.hits += 1
                return rebuilt
        self.parsed += 1
        parsed = parse_text(path, data, self.limits)
        self.memory[key] = self.entry(parsed)
        self._dirty = True
        return parsed

    def add(self, key: str, entry: Any) -> None:
        """Store an entry parsed elsewhere (by a worker process)."""
        self.memory[key] = entry
        self.used.add(key)
        self.parsed += 1
        self._dirty = True

    def remember(self, key: str, entry: Any) -> None:
        """Keep an entry that is not a parse (a file's validation outcome): saved with the pack, not counted."""
        self.memory[key] = entry
        self.used.add(key)
        self._dirty = True

    @staticmethod
    def entry(parsed: ParsedFile) -> Any:
        return ([(doc.data, doc.packed_marks(), doc.content_digest()) for doc in parsed.documents],
                [(p.message, p.line, p.column) for p in parsed.problems])

    @staticmethod
    def _rebuild(path: str, data: bytes, entry: Any) -> ParsedFile:
        docs, problems = entry
        text = data.decode("utf-8", "replace") if docs or problems else ""
        return ParsedFile(
            path, text,
            [RawDocument(path, i, value, packed=marks, digest=_digest(digest))
             for i, (value, marks, digest) in enumerate(docs)],
            [Finding(RULE_YAML, "critical", message, path, line, column) for message, line, column in problems],
        )

    def save(self) -> None:
        """Write the entries this run used, when anything changed: a new file, signed, renamed into place."""
        if self.results is not None:
            self.results.save()
        if self.folder is None or (not self._dirty and len(self.used) == len(self.memory)):
            return
        self._packs.save(self.PACK, self.memory, self.used, self._dirty)
        self._dirty = False


def _digest(value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != 16:
        raise TypeError("not a digest")
    return value


class _Packs:
    """Packs of entries written as a large signed base and a small signed delta naming the base it extends,
    so a run that changed a few entries writes those, not every entry again.

    A delta holds the signature of its base: a delta left from another base is ignored. When the delta
    grows past a tenth of the base, or half of the base went unused, the next save writes one new base
    of the entries used (so the pack does not grow without bound) and drops the delta.
    """

    def __init__(self, cache: ParseCache) -> None:
        self.cache = cache
        self.base: dict[str, tuple[bytes, set[Any]]] = {}  # name -> (signature of the base, its keys)
        self.delta: dict[str, set[Any]] = {}  # name -> keys of the delta as loaded or last written

    def load(self, name: str) -> dict[Any, Any]:
        found = self.cache._signed(name)
        if found is None or not isinstance(found[1], dict):
            return {}
        mac, entries = found[0], dict(found[1])
        self.base[name] = (mac, set(entries))
        delta = self.cache._signed(name + ".delta")
        if delta is not None and isinstance(delta[1], tuple) and len(delta[1]) == 2:
            extends, more = delta[1]
            if extends == mac and isinstance(more, dict):
                entries.update(more)
                self.delta[name] = set(more)
        return entries

    def save(self, name: str, entries: dict[Any, Any], used: Iterable[Any], changed: bool = True,
             replaced: Iterable[Any] = ()) -> None:
        """`changed`: an entry was added or replaced since the load (else only the keys used may differ);
        `replaced`: keys whose entry is new although the base has the key."""
        keep = {key: entries[key] for key in used if key in entries}
        base = self.base.get(name)
        if base is not None:
            mac, in_base = base
            renewed = set(replaced)
            fresh = {key: value for key, value in keep.items() if key not in in_base or key in renewed}
            unused = len(in_base) - sum(1 for key in keep if key in in_base)
            if len(fresh) <= max(64, len(in_base) // 10) and unused <= len(in_base) // 2:
                if changed or set(fresh) != self.delta.get(name, set()):
                    if self.cache.save_signed(name + ".delta", (mac, fresh)) is not None:
                        self.delta[name] = set(fresh)
                return
        mac_new = self.cache.save_signed(name, keep)
        if mac_new is not None:
            self.base[name] = (mac_new, set(keep))
            self.cache.remove(name + ".delta")
            self.delta.pop(name, None)


def make_cache(root: Path, settings: Settings) -> ParseCache:
    folder = private_folder(cache_folder(root), root) if settings.cache else None
    return ParseCache(folder, settings.limits)


def parse_blob(path: str, data: bytes, cache: ParseCache) -> ParsedFile:
    """Parse bytes read from elsewhere (a git object); oversized ones are refused like oversized files."""
    checked = checked_bytes(path, data, cache.limits)
    return checked if isinstance(checked, ParsedFile) else cache.parse(path, checked)

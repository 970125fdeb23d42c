"""Parsed files by the hash of their bytes, so a re-check or a walk through history never parses the
same bytes twice."""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

import yaml

from svcascode.config import Limits, Settings
from svcascode.finding import Finding
from svcascode.loading.discover import CACHE_DIR, checked_bytes
from svcascode.loading.yamlfile import ParsedFile, RawDocument, parse_text
from svcascode.rules import RULE_YAML

CACHE_FORMAT = 3


class ParseCache:
    """Parsed files keyed by the hash of their bytes: in memory always, on disk when given a folder.

    On disk the entries of the last run are one `marshal`ed pack, so loading all of them costs a fraction
    of parsing again. The pack is written to a temporary file and renamed, so a crash cannot corrupt it,
    and it keeps only the entries the last run used, so it does not grow without bound.
    """

    PACK = f"parsed-v{CACHE_FORMAT}.marshal"

    def __init__(self, folder: Path | None, limits: Limits) -> None:
        self.folder = folder
        self.limits = limits
        self.memory: dict[str, Any] = {}
        self.used: set[str] = set()
        self.parsed = 0
        self.hits = 0
        self._dirty = False
        self._salt = repr((CACHE_FORMAT, yaml.__version__, limits.model_dump())).encode()
        if folder is not None:
            try:
                stored = marshal.loads((folder / self.PACK).read_bytes())
                if isinstance(stored, dict):
                    self.memory = stored
            except (OSError, EOFError, ValueError, TypeError):
                pass  # no pack yet, or an unreadable one: parse afresh

    def key(self, data: bytes) -> str:
        return hashlib.sha256(self._salt + data).hexdigest()

    def parse(self, path: str, data: bytes, key: str | None = None) -> ParsedFile:
        key = key or self.key(data)
        self.used.add(key)
        entry = self.memory.get(key)
        if entry is not None:
            self.hits += 1
            return self._rebuild(path, data, entry)
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

    @staticmethod
    def entry(parsed: ParsedFile) -> Any:
        return ([(doc.data, doc.packed_marks()) for doc in parsed.documents],
                [(p.message, p.line, p.column) for p in parsed.problems])

    @staticmethod
    def _rebuild(path: str, data: bytes, entry: Any) -> ParsedFile:
        docs, problems = entry
        text = data.decode("utf-8", "replace") if docs or problems else ""
        return ParsedFile(
            path, text,
            [RawDocument(path, i, value, packed=marks) for i, (value, marks) in enumerate(docs)],
            [Finding(RULE_YAML, "critical", message, path, line, column) for message, line, column in problems],
        )

    def save(self) -> None:
        """Write the entries this run used, when anything changed."""
        if self.folder is None or (not self._dirty and len(self.used) == len(self.memory)):
            return
        keep = {key: self.memory[key] for key in self.used if key in self.memory}
        target = self.folder / self.PACK
        temporary = target.with_name(f"{self.PACK}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(marshal.dumps(keep))
            os.replace(temporary, target)
        except (OSError, ValueError):
            temporary.unlink(missing_ok=True)  # a read-only checkout still works, without the disk cache


def make_cache(root: Path, settings: Settings) -> ParseCache:
    folder = root / CACHE_DIR if settings.cache else None
    if folder is not None and not folder.exists():
        try:
            folder.mkdir()
            (folder / ".gitignore").write_text("*\n")
        except OSError:
            folder = None
    return ParseCache(folder, settings.limits)


def parse_blob(path: str, data: bytes, cache: ParseCache) -> ParsedFile:
    """Parse bytes read from elsewhere (a git object); oversized ones are refused like oversized files."""
    checked = checked_bytes(path, data, cache.limits)
    return checked if isinstance(checked, ParsedFile) else cache.parse(path, checked)

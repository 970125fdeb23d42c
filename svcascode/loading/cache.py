"""The parse stage: parsed files by the key of their bytes, so a re-check or a walk through history never
parses the same bytes twice.

A file's parse is kept in the store (`svcascode.store`, the one cache of every stage: outside the working
tree, signed, keyed by the code that computed it) under `parse_key(limits, bytes)`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, TYPE_CHECKING

import yaml

from svcascode import stages
from svcascode.codec import decode_findings, encode_findings
from svcascode.configfile import LIMIT_NAMES
from svcascode.loading.discover import checked_bytes
from svcascode.loading.yamlfile import ParsedFile, RawDocument, parse_text
from svcascode.store import Store, stage_key

if TYPE_CHECKING:  # the settings are pydantic models: not imported to read, parse or cache a file
    from svcascode.config import Limits, Settings
    from svcascode.configfile import FileLimits


def parse_settings(limits: FileLimits) -> bytes:
    """What a parse reads of the settings besides a file's bytes: the limits (and PyYAML's version)."""
    return repr((yaml.__version__, {name: getattr(limits, name) for name in LIMIT_NAMES})).encode()


def parse_key(settings: bytes, data: bytes) -> str:
    """The key of a file's bytes in the parse stage (and in the run cache's index), for `parse_settings`."""
    return stage_key("parse", settings, data).hex()


class ParseCache:
    """Parsed files keyed by their bytes: in memory always, and in the store's `parse` pack when the store
    has a folder."""

    PACK = "parse.pack"  # the store's file of this stage's records

    def __init__(self, store: Store | None, limits: Limits) -> None:
        self.store = store if store is not None else Store(None)
        self.folder = self.store.folder
        self.limits = limits
        self._settings = parse_settings(limits)
        self._pack = self.store.pack("parse")
        self.memory: dict[str, Any] = dict(self._pack.entries())  # and what this process parsed
        self.keys: dict[str, str] = {}  # path -> the key of the bytes last parsed for it
        previous = self.memory.pop(_PATHS, None)  # (settings, {path: key}) of the runs before
        known = isinstance(previous, tuple) and len(previous) == 2 and isinstance(previous[1], dict)
        self._previous_settings: bytes | None = previous[0] if known else None
        self._previous_keys: dict[str, str] = previous[1] if known else {}
        self.parsed = 0
        self.hits = 0
        self._from_workers: set[str] = set()  # parsed by a worker process for this run, not read from the store
        self.results: Any = None  # the evaluation results that go with these files (svcascode.incremental)

    def key(self, data: bytes) -> str:
        return parse_key(self._settings, data)

    def parse(self, path: str, data: bytes, key: str | None = None) -> ParsedFile:
        key = key or self.key(data)
        self.keys[path] = key
        entry = self.memory.get(key)
        if entry is not None:
            try:
                rebuilt = self._rebuild(path, data, entry)
            except (TypeError, ValueError):
                rebuilt = None  # an entry of an unexpected shape: parse again
            if rebuilt is not None:
                self._pack.keep(key, entry)
                if key in self._from_workers:  # computed in this run, by a worker: said so once
                    self._from_workers.discard(key)
                    stages.count("parse", False, self.reason(path, key))
                else:
                    self.hits += 1
                    stages.count("parse", True)
                return rebuilt
        stages.count("parse", False, self.reason(path, key))
        self.parsed += 1
        parsed = parse_text(path, data, self.limits)
        entry = self.memory[key] = self.entry(parsed)
        self._pack.keep(key, entry)
        return parsed

    def forget(self) -> None:
        """Forget what this process parsed (a builder keeps the file versions it still needs)."""
        self.memory.clear()
        self.keys.clear()
        self._from_workers.clear()

    def reason(self, path: str, key: str) -> str:
        """Why the file at `path`, whose bytes have `key`, has no record to reuse."""
        why = self.store.reason()
        if why is not None:
            return why
        if self._previous_settings is not None and self._previous_settings != self._settings:
            return "settings changed"
        before = self._previous_keys.get(path)
        return f"new file: {path}" if before is None else f"file changed: {path}" if before != key else \
            f"not kept: {path}"

    def add(self, key: str, entry: Any) -> None:
        """Keep an entry parsed elsewhere (by a worker process)."""
        self.memory[key] = entry
        self._from_workers.add(key)
        self.parsed += 1

    @staticmethod
    def entry(parsed: ParsedFile) -> Any:
        """A parse as the store keeps it; its problems without the file's path (the same bytes may be another
        file)."""
        return ([(doc.data, doc.packed_marks(), doc.content_digest()) for doc in parsed.documents],
                encode_findings([replace(problem, file="") for problem in parsed.problems]))

    @staticmethod
    def _rebuild(path: str, data: bytes, entry: Any) -> ParsedFile:
        docs, problems = entry
        found = [replace(problem, file=path) for problem in decode_findings(problems)]
        text = data.decode("utf-8", "replace") if docs or problems else ""
        return ParsedFile(path, text, [RawDocument(path, i, value, packed=marks, digest=_digest(digest))
                                       for i, (value, marks, digest) in enumerate(docs)], found)

    def save(self) -> None:
        """Keep what this run parsed, validated and evaluated in the store."""
        if self.results is not None:
            self.results.save()
        if self.keys:
            known = self._previous_keys if self._previous_settings == self._settings else {}
            self._pack.keep(_PATHS, (self._settings, {**known, **self.keys}))
        self.store.flush()


_PATHS = "paths"  # the record of which bytes each path held when last parsed (for the reasons of `-v`)


def _digest(value: Any) -> bytes:
    if not isinstance(value, bytes) or len(value) != 16:
        raise TypeError("not a digest")
    return value


def make_cache(root: Path, settings: Settings) -> ParseCache:
    return ParseCache(Store.of(root, settings.cache), settings.limits)


def parse_blob(path: str, data: bytes, cache: ParseCache) -> ParsedFile:
    """Parse bytes read from elsewhere (a git object); oversized ones are refused like oversized files."""
    checked = checked_bytes(path, data, cache.limits)
    return checked if isinstance(checked, ParsedFile) else cache.parse(path, checked)

"""Parsing many files in order, through the cache: in worker processes when there is enough to parse."""

from __future__ import annotations

import marshal
import os
from typing import Any, Iterable, Iterator

from svcascode.config import Limits
from svcascode.loading.cache import ParseCache
from svcascode.loading.yamlfile import ParsedFile, parse_text

PARALLEL_THRESHOLD = 300  # below this many unparsed files, starting workers costs more than it saves
_CHUNK = 64


def _parse_chunk(args: tuple[list[tuple[str, str, bytes]], Limits]) -> bytes:
    """A chunk's (key, cache entry) pairs as one `marshal` record: what its files share (the one object of each
    path of their marks, interned keys and names) is written once and read back shared."""
    chunk, limits = args
    return marshal.dumps([(key, ParseCache.entry(parse_text(path, data, limits))) for key, path, data in chunk])


def parse_many(items: Iterable[tuple[str, bytes | ParsedFile]], cache: ParseCache) -> Iterator[ParsedFile]:
    """Parse (path, bytes) pairs in order, through the cache; on several cores, misses go to workers.

    Results are yielded as soon as their chunk is parsed, so the caller validates early files while
    the workers parse later ones. An item may already be a ParsedFile (a refused file); it passes
    through unchanged.
    """
    keyed: list[ParsedFile | tuple[str, str, bytes]] = []
    missing: dict[str, tuple[str, str, bytes]] = {}
    for path, data in items:
        if isinstance(data, ParsedFile):
            keyed.append(data)
            continue
        key = cache.key(data)
        keyed.append((path, key, data))
        if key not in cache.memory and key not in missing:
            missing[key] = (key, path, data)
    workers = min(os.cpu_count() or 1, 4)
    parsed: Iterator[bytes] = iter(())
    if len(missing) >= PARALLEL_THRESHOLD and workers > 1:
        parsed = _parse_in_workers(list(missing.values()), cache.limits, workers)
    for item in keyed:
        if isinstance(item, ParsedFile):
            yield item
            continue
        path, key, data = item
        while key not in cache.memory:  # chunks arrive in order: wait for the one holding this file
            results = next(parsed, None)
            if results is None:
                break  # no worker result for it (no fork, no processes): parse it here
            for done, entry in _entries(results):
                cache.add(done, entry)
        yield cache.parse(path, data, key)
    for _ in parsed:  # let the pool finish and close now, not when the generator is collected
        pass


def _entries(blob: bytes) -> list[tuple[str, Any]]:
    """A worker's chunk: (key, cache entry) pairs; none when it is not of that shape (the cache then parses
    those files here)."""
    try:
        entries = marshal.loads(blob)
    except (EOFError, ValueError, TypeError):
        return []
    if not isinstance(entries, list) or not all(isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str)
                                                for e in entries):
        return []
    return entries


def _parse_in_workers(todo: list[tuple[str, str, bytes]], limits: Limits, workers: int) -> Iterator[bytes]:
    """Parsed chunks, in order, from worker processes; nothing when processes cannot be had."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: parse in this process
        return
    chunks = [(todo[i:i + _CHUNK], limits) for i in range(0, len(todo), _CHUNK)]
    try:
        with context.Pool(workers) as pool:
            yield from pool.imap(_parse_chunk, chunks)
    except OSError:
        return  # no processes to be had: what was not parsed is parsed in this process

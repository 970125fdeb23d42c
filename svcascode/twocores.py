"""Work on two cores: this process and a fork of it, each computing every other item.

A cold run evaluates tens of thousands of (control, document) pairs, each a pure function of the catalogue
already in memory, and the catalogue site renders thousands of pages from it. A forked child has that
catalogue without a copy; it computes the odd items while this process computes the even ones, and hands
its results back through a pipe as `marshal` data of the items' plain rows (the codec of the stored
results). Whatever goes wrong on the child's side (no fork on this platform, a thread that a fork would
leave holding a lock, a child that dies or writes something that is not its rows), this process computes
the child's items itself: the answer is the same, only later.
"""

from __future__ import annotations

import marshal
import os
import signal
import sys
import threading
from typing import Any, Callable, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 2_000  # below this many items (of a pair's cost), forking costs more than the second core saves


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def may_fork() -> bool:
    """Whether a fork of this process can safely compute: a platform with `fork`, a second core, and no
    other thread (a fork copies only the calling thread; a lock another one held would stay held), counted
    by the system where it can tell (a thread started below Python's `threading` is one too)."""
    return hasattr(os, "fork") and cores() > 1 and threading.active_count() == 1 and _threads() == 1


def _threads() -> int:
    """The threads of this process, as the system counts them (Linux); 1 where it cannot tell."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def computed(items: Sequence[T], compute: Callable[[T], R], encode: Callable[[R], Any],
             decode: Callable[[Any], R], cost: int = 1) -> list[R]:
    """`[compute(item) for item in items]`, on two cores when there is enough work and a fork is safe.

    `encode` turns a result into plain values `marshal` writes, `decode` turns them back (and raises
    TypeError or ValueError on what is not a result); `compute` must not depend on which process runs it,
    and what it does besides returning its result (writing a file) must be the same when done twice: an
    item the child did not deliver is computed again here. `cost` is what one item costs against one
    (control, document) pair, the unit of MIN_ITEMS (a rendered page about 50).
    """
    if len(items) < 2 or len(items) * cost < MIN_ITEMS or not may_fork():
        return [compute(item) for item in items]
    child = _fork(items, compute, encode)
    if child is None:
        return [compute(item) for item in items]
    pid, pipe = child
    reaped = False
    try:
        mine = [compute(items[index]) for index in range(0, len(items), 2)]
        rows, reaped = _received(pid, pipe)
    finally:
        os.close(pipe)
        if not reaped:
            _stop(pid)
    theirs = _decoded(rows, len(items) // 2, decode)
    if theirs is None:  # the child did not deliver: its items are computed here
        theirs = [compute(items[index]) for index in range(1, len(items), 2)]
    return [mine[index // 2] if index % 2 == 0 else theirs[index // 2] for index in range(len(items))]


def _decoded(rows: Any, count: int, decode: Callable[[Any], R]) -> list[R] | None:
    if not isinstance(rows, list) or len(rows) != count:
        return None
    try:
        return [decode(row) for row in rows]
    except (TypeError, ValueError):
        return None


def _fork(items: Sequence[T], compute: Callable[[T], R], encode: Callable[[R], Any]) -> tuple[int, int] | None:
    """The child's pid and the pipe its rows arrive on; None when no child could be started."""
    for stream in (sys.stdout, sys.stderr):  # a child's copy of a buffer must hold nothing to write twice
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        read, write = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read)
        os.close(write)
        return None
    if pid == 0:  # the child: compute, write, and end without running anything of the parent's on the way out
        code = 1
        try:
            os.close(read)
            rows = [encode(compute(items[index])) for index in range(1, len(items), 2)]
            data = marshal.dumps(rows)
            with os.fdopen(write, "wb") as out:
                out.write(data)
            code = 0
        except BaseException:  # noqa: BLE001 - the parent computes these items itself
            pass
        finally:
            os._exit(code)
    os.close(write)
    return pid, read


def _received(pid: int, pipe: int) -> tuple[Any, bool]:
    """The child's rows (None when it did not end well), and whether it was waited for."""
    chunks: list[bytes] = []
    try:
        while chunk := os.read(pipe, 1 << 20):
            chunks.append(chunk)
        _, status = os.waitpid(pid, 0)
    except OSError:
        return None, False
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None, True
    try:
        return marshal.loads(b"".join(chunks)), True
    except (EOFError, ValueError, TypeError):
        return None, True


def _stop(pid: int) -> None:
    """End a child not yet waited for (this process was interrupted, or reading its rows failed)."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass

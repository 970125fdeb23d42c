"""The store of assessments: a SQLite file (the default) or a PostgreSQL database (shared), one schema.

Tables (schema version 1; `ledger_meta` says which version a store is at, and opening an older store
migrates it in one transaction, never dropping a row):

- `ledger_parts(digest, body)`: the parts of records (a day's findings, its controls' statuses, ...),
  each JSON named by the SHA-256 of its text and kept compressed: a part that many days share is kept
  once, and a part whose text no longer matches its name is seen on reading.
- `ledger_assessments(key, commit_sha, as_of, code_digest, library_digest, settings_digest, controls,
  findings, pairs, waivers, evidence, documents, content)`: one assessment of a commit as of a day by
  one version of svcascode, its built-in library and settings. The key is the SHA-256 of those five, so
  writing it again is a no-op; the parts are named by their digests, and `content` is the SHA-256 of
  the part digests: what two assessments are compared by.
- `ledger_days(repository, seq, day, commit_sha, assessment, content, recorded_by, recorded_at,
  previous, hash)`: the days recorded for a repository, in the order they were recorded (`seq`). Each
  carries the hash of the record before it (`previous`) and its own (`hash`, over every column), so a
  record changed, removed or inserted after the fact breaks the chain.

Every write of a run's days is one transaction (parts, assessments and days together): a run killed
while writing leaves nothing of its unfinished assessments. Writers of one repository take turns (SQLite's
write lock; a PostgreSQL advisory lock per repository); a day already recorded by another writer is not
written again. A store that is locked past the timeout, full, damaged, of a newer schema or unreachable
raises `StoreError` with what to do; nothing is ever dropped or rewritten to "repair" a store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from svcascode.errors import SvcascodeError

SCHEMA_VERSION = 1
PART_NAMES = ("controls", "findings", "pairs", "waivers", "evidence", "documents")
GENESIS = "0" * 64  # the `previous` of a repository's first record
MAX_PART_BYTES = 256 * 1024 * 1024  # a part's JSON text, decompressed: a larger one is a damaged store
LOCK_TIMEOUT_ENV = "SVCASCODE_STORE_TIMEOUT"  # seconds a writer waits for another one (default 60)
STORE_ENV = "SVCASCODE_STORE"
_CHUNK = 500  # keys per IN (...) list


class StoreError(SvcascodeError):
    """The store cannot be used: `reason` is one of locked, full, damaged, newer, unreachable, refused."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def digest_of(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def canonical(value: Any) -> bytes:
    """The one JSON text of a value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8",
                                                                                              "surrogatepass")


def assessment_key(commit: str, as_of: str, code: str, library: str, settings: str) -> str:
    return digest_of("\x1f".join(("assessment", commit, as_of, code, library, settings)).encode())


def content_digest(parts: dict[str, str]) -> str:
    """What an assessment says, as one digest: the SHA-256 of its parts' digests in a fixed order."""
    return digest_of("\x1f".join(f"{name}={parts[name]}" for name in PART_NAMES).encode())


@dataclass(frozen=True)
class AssessmentRow:
    key: str
    commit: str
    as_of: str
    code: str
    library: str
    settings: str
    parts: dict[str, str]  # part name -> digest
    content: str

    def intact(self) -> bool:
        """Whether the row still says what it said when written: its key and content match its columns."""
        return (self.key == assessment_key(self.commit, self.as_of, self.code, self.library, self.settings)
                and set(self.parts) == set(PART_NAMES) and self.content == content_digest(self.parts))


@dataclass(frozen=True)
class DayRow:
    repository: str
    seq: int
    day: str
    commit: str
    assessment: str
    content: str
    recorded_by: str
    recorded_at: str
    previous: str
    hash: str

    def expected_hash(self) -> str:
        return chain_hash(self.previous, self.repository, self.seq, self.day, self.commit, self.assessment,
                          self.content, self.recorded_by, self.recorded_at)


def chain_hash(previous: str, repository: str, seq: int, day: str, commit: str, assessment: str, content: str,
               recorded_by: str, recorded_at: str) -> str:
    return digest_of("\x1f".join(("day", previous, repository, str(seq), day, commit, assessment, content,
                                  recorded_by, recorded_at)).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class NewDay:
    """A day to record: the assessment it points to must be in the same write or already stored."""

    day: str
    commit: str
    assessment: str
    content: str


# ---------------------------------------------------------------------------------------------------
# Schema

_TABLES = ("ledger_meta", "ledger_parts", "ledger_assessments", "ledger_days")


def _schema(blob: str) -> dict[int, list[str]]:
    """The statements that bring a store from the version before to each version."""
    return {1: [
        "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        f"CREATE TABLE ledger_parts (digest TEXT PRIMARY KEY, body {blob} NOT NULL)",
        "CREATE TABLE ledger_assessments (key TEXT PRIMARY KEY, commit_sha TEXT NOT NULL, as_of TEXT NOT NULL, "
        "code_digest TEXT NOT NULL, library_digest TEXT NOT NULL, settings_digest TEXT NOT NULL, "
        "controls TEXT NOT NULL, findings TEXT NOT NULL, pairs TEXT NOT NULL, waivers TEXT NOT NULL, "
        "evidence TEXT NOT NULL, documents TEXT NOT NULL, content TEXT NOT NULL)",
        "CREATE TABLE ledger_days (repository TEXT NOT NULL, seq INTEGER NOT NULL, day TEXT NOT NULL, "
        "commit_sha TEXT NOT NULL, assessment TEXT NOT NULL, content TEXT NOT NULL, recorded_by TEXT NOT NULL, "
        "recorded_at TEXT NOT NULL, previous TEXT NOT NULL, hash TEXT NOT NULL, "
        "PRIMARY KEY (repository, seq), UNIQUE (repository, day, assessment))",
        "CREATE INDEX ledger_days_by_day ON ledger_days (day, repository)",
    ]}


MIGRATIONS: dict[str, dict[int, list[str]]] = {"sqlite": _schema("BLOB"), "postgresql": _schema("BYTEA")}


# ---------------------------------------------------------------------------------------------------
# Opening


def lock_timeout() -> float:
    try:
        return max(0.0, float(os.environ.get(LOCK_TIMEOUT_ENV, "60")))
    except ValueError:
        raise SvcascodeError(f"{LOCK_TIMEOUT_ENV}={os.environ.get(LOCK_TIMEOUT_ENV)!r}: give a number of "
                             "seconds") from None


def is_postgresql(spec: str) -> bool:
    return spec.startswith(("postgresql://", "postgres://"))


def open_store(spec: str) -> Store:
    """The store named by `--store`: a postgresql:// URL, or a path of a SQLite file (created if missing)."""
    if is_postgresql(spec):
        return PostgresStore.connect(spec)
    return SqliteStore.connect(Path(spec))


def redacted(spec: str) -> str:
    """A store's name as shown: a URL without any password."""
    return re.sub(r"^([a-z]+://[^:/@]*):[^@/]*@", r"\1:***@", spec)


class Store:
    """One backend's connection; the same operations on SQLite and on PostgreSQL."""

    dialect = ""
    blob_type = ""
    location = ""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.written_parts: set[str] = set()  # digests known to be stored: not sent again

    # --- running SQL (subclasses translate placeholders and errors) -------------------------------

    def _sql(self, sql: str) -> str:
        return sql

    def _fault(self, error: Exception) -> StoreError:
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self.connection.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall())
        except StoreError:
            raise
        except Exception as error:
            raise self._fault(error) from None

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception:
            pass

    # --- schema ---------------------------------------------------------------------------------

    def _tables(self) -> set[str]:
        raise NotImplementedError

    def version(self) -> int:
        tables = self._tables()
        ours = tables & set(_TABLES)
        if not ours:
            return 0
        if "ledger_meta" not in ours:
            raise StoreError("damaged", f"{self.location}: holds ledger tables but no ledger_meta table: not a "
                             "store this version of svcascode wrote, or damaged; give another --store")
        rows = self.query("SELECT value FROM ledger_meta WHERE name = ?", ("schema_version",))
        try:
            return int(rows[0][0])
        except (IndexError, ValueError, TypeError):
            raise StoreError("damaged", f"{self.location}: ledger_meta holds no schema version: damaged; give "
                             "another --store") from None

    def ensure_schema(self) -> None:
        """Create the tables of a new store, or migrate an older one; refuse a newer one."""
        version = self.version()
        if version == SCHEMA_VERSION:
            return
        self._check_not_newer(version)
        with self.transaction(lock="schema"):
            version = self.version()  # another writer may have done it meanwhile
            self._check_not_newer(version)
            steps = MIGRATIONS[self.dialect]
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in steps[target]:
                    self._execute(statement)
            self._execute("DELETE FROM ledger_meta WHERE name = ?", ("schema_version",))
            self._execute("INSERT INTO ledger_meta (name, value) VALUES (?, ?)", ("schema_version",
                                                                                 str(SCHEMA_VERSION)))

    def _check_not_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError("newer", f"{self.location}: written by a newer svcascode (store schema version "
                             f"{version}; this version reads up to {SCHEMA_VERSION}): upgrade svcascode to use "
                             "it; nothing was changed")

    # --- transactions ---------------------------------------------------------------------------

    def transaction(self, lock: str) -> Any:
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            self.connection.execute(self._sql(sql), tuple(params))
        except StoreError:
            raise
        except Exception as error:
            raise self._fault(error) from None

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        try:
            self.connection.cursor().executemany(self._sql(sql), rows)
        except StoreError:
            raise
        except Exception as error:
            raise self._fault(error) from None

    # --- reading --------------------------------------------------------------------------------

    def _in_chunks(self, sql: str, keys: Sequence[str], before: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start:start + _CHUNK])
            marks = ", ".join("?" for _ in chunk)
            yield from self.query(sql.replace("(?*)", f"({marks})"), (*before, *chunk))

    def assessments(self, keys: Iterable[str]) -> dict[str, AssessmentRow]:
        wanted = sorted(set(keys))
        found = {}
        for row in self._in_chunks("SELECT key, commit_sha, as_of, code_digest, library_digest, settings_digest, "
                                   "controls, findings, pairs, waivers, evidence, documents, content "
                                   "FROM ledger_assessments WHERE key IN (?*)", wanted):
            values = [str(v) for v in row]
            found[values[0]] = AssessmentRow(values[0], values[1], values[2], values[3], values[4], values[5],
                                             dict(zip(PART_NAMES, values[6:12])), values[12])
        return found

    def parts(self, digests: Iterable[str]) -> dict[str, Any]:
        """The parts asked for, decoded; a part whose text does not match its digest is left out (and so
        reads as missing: a damaged or tampered store)."""
        wanted = sorted(set(digests))
        found: dict[str, Any] = {}
        sql = f"SELECT digest, CAST(body AS {self.blob_type}) FROM ledger_parts WHERE digest IN (?*)"
        for digest, body in self._in_chunks(sql, wanted):
            value = decode_part(str(digest), bytes(body)) if isinstance(body, (bytes, bytearray, memoryview)) else _BAD
            if value is not _BAD:
                found[str(digest)] = value
        return found

    def days(self, repositories: Sequence[str] | None, start: str, end: str) -> list[DayRow]:
        sql = ("SELECT repository, seq, day, commit_sha, assessment, content, recorded_by, recorded_at, previous, "
               "hash FROM ledger_days WHERE day >= ? AND day <= ?")
        if repositories is None:
            rows = self.query(sql + " ORDER BY repository, seq", (start, end))
        else:
            rows = list(self._in_chunks(sql + " AND repository IN (?*) ORDER BY repository, seq", list(repositories),
                                        (start, end)))
        return [_day_row(r) for r in rows]

    def chain(self, repository: str) -> list[DayRow]:
        rows = self.query("SELECT repository, seq, day, commit_sha, assessment, content, recorded_by, recorded_at, "
                          "previous, hash FROM ledger_days WHERE repository = ? ORDER BY seq", (repository,))
        return [_day_row(r) for r in rows]

    def repositories(self) -> list[str]:
        return sorted(str(r[0]) for r in self.query("SELECT DISTINCT repository FROM ledger_days"))

    # --- writing --------------------------------------------------------------------------------

    def write(self, repository: str, days: list[NewDay], assessments: list[AssessmentRow], parts: dict[str, bytes],
              recorded_by: str, recorded_at: str) -> int:
        """Record days of a repository (with the assessments and parts they need) in one transaction;
        days already recorded with the same assessment are skipped. Returns how many were written."""
        if not days:
            return 0
        with self.transaction(lock=repository):
            self._insert(assessments, parts)
            wanted = sorted({d.day for d in days})
            have = {(str(r[0]), str(r[1])) for r in self._in_chunks(
                "SELECT day, assessment FROM ledger_days WHERE repository = ? AND day IN (?*)", wanted, (repository,))}
            tail = self.query("SELECT seq, hash FROM ledger_days WHERE repository = ? ORDER BY seq DESC LIMIT 1",
                              (repository,))
            seq, previous = (int(tail[0][0]), str(tail[0][1])) if tail else (-1, GENESIS)
            rows = []
            for day in sorted(days, key=lambda d: d.day):
                if (day.day, day.assessment) in have:
                    continue
                have.add((day.day, day.assessment))
                seq += 1
                digest = chain_hash(previous, repository, seq, day.day, day.commit, day.assessment, day.content,
                                    recorded_by, recorded_at)
                rows.append((repository, seq, day.day, day.commit, day.assessment, day.content, recorded_by,
                             recorded_at, previous, digest))
                previous = digest
            self._execute_many(
                "INSERT INTO ledger_days (repository, seq, day, commit_sha, assessment, content, recorded_by, "
                "recorded_at, previous, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        self.written_parts.update(parts)
        return len(rows)

    def keep(self, assessments: list[AssessmentRow], parts: dict[str, bytes]) -> None:
        """Store assessments (and their parts) made outside the ledger of days, e.g. by `history --posture`:
        content-addressed, so writing one that is there already is a no-op."""
        if not assessments:
            return
        with self.transaction(lock="assessments"):
            self._insert(assessments, parts)
        self.written_parts.update(parts)

    def _insert(self, assessments: list[AssessmentRow], parts: dict[str, bytes]) -> None:
        new_parts = sorted(d for d in parts if d not in self.written_parts)
        self._execute_many("INSERT INTO ledger_parts (digest, body) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                           [(d, self._blob(encode_part(parts[d]))) for d in new_parts])
        self._execute_many(
            "INSERT INTO ledger_assessments (key, commit_sha, as_of, code_digest, library_digest, settings_digest, "
            "controls, findings, pairs, waivers, evidence, documents, content) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            [(a.key, a.commit, a.as_of, a.code, a.library, a.settings, *(a.parts[n] for n in PART_NAMES),
              a.content) for a in sorted(assessments, key=lambda a: a.key)])

    def _blob(self, data: bytes) -> Any:
        return data


def _day_row(row: tuple[Any, ...]) -> DayRow:
    return DayRow(str(row[0]), int(row[1]), str(row[2]), str(row[3]), str(row[4]), str(row[5]), str(row[6]),
                  str(row[7]), str(row[8]), str(row[9]))


_BAD = object()


def encode_part(text: bytes) -> bytes:
    return zlib.compress(text, 1)


def decode_part(digest: str, body: bytes) -> Any:
    """A part's value, or _BAD when its body is not what its digest names (bounded: no zlib bomb)."""
    try:
        inflater = zlib.decompressobj()
        text = inflater.decompress(body, MAX_PART_BYTES)
        if inflater.unconsumed_tail or inflater.unused_data or not inflater.eof:  # all of it, nothing after
            return _BAD
        if digest_of(text) != digest:
            return _BAD
        return json.loads(text)
    except (zlib.error, ValueError, RecursionError):
        return _BAD


# ---------------------------------------------------------------------------------------------------
# SQLite


class _SqliteTransaction:
    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        self.store._execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is None:
            self.store._execute("COMMIT")
        else:
            try:
                self.store.connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass


class SqliteStore(Store):
    dialect = "sqlite"
    blob_type = "BLOB"

    @classmethod
    def connect(cls, path: Path) -> SqliteStore:
        location = str(path)
        if path.is_symlink():
            raise StoreError("refused", f"{location}: a symbolic link: give the store's own path")
        if path.exists() and not path.is_file():
            raise StoreError("refused", f"{location}: not a file; give the path of a SQLite file (created when "
                             "missing)")
        if not path.parent.is_dir():
            raise StoreError("unreachable", f"{location}: the folder {path.parent} does not exist; create it first")
        try:
            connection = sqlite3.connect(str(path), timeout=lock_timeout(), isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as error:
            raise StoreError("unreachable", f"{location}: cannot open: {error}") from None
        store = cls(connection)
        store.location = location
        try:
            store._execute("PRAGMA foreign_keys = OFF")
            mode = store.query("PRAGMA journal_mode = WAL")  # readers go on while a writer writes
            if not mode:
                raise StoreError("damaged", f"{location}: not a SQLite database")
            store._execute("PRAGMA synchronous = NORMAL")
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
        return store

    def _fault(self, error: Exception) -> StoreError:
        text = " ".join(str(error).split())[:300]
        low = text.lower()
        if "locked" in low or "busy" in low:
            return StoreError("locked", f"{self.location}: locked by another writer for longer than "
                              f"{lock_timeout():g} s ({LOCK_TIMEOUT_ENV}); try again when it is done")
        if "full" in low:
            return StoreError("full", f"{self.location}: the disk is full ({text}); nothing of this run's "
                              "unfinished records was kept: free space and run again")
        if "not a database" in low or "malformed" in low or "no such table" in low or "no such column" in low \
                or "corrupt" in low:
            return StoreError("damaged", f"{self.location}: not a ledger store or damaged ({text}); give another "
                              "--store (svcascode never repairs or drops a store)")
        if "readonly" in low or "unable to open" in low or "disk i/o" in low:
            return StoreError("unreachable", f"{self.location}: cannot write: {text}")
        return StoreError("damaged", f"{self.location}: {text}")

    def _tables(self) -> set[str]:
        return {str(r[0]) for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def transaction(self, lock: str) -> Any:
        return _SqliteTransaction(self)


# ---------------------------------------------------------------------------------------------------
# PostgreSQL


class _PostgresTransaction:
    def __init__(self, store: PostgresStore, lock: str) -> None:
        self.store, self.lock = store, lock
        self.inner: Any = None

    def __enter__(self) -> None:
        try:
            self.inner = self.store.connection.transaction()
            self.inner.__enter__()
        except Exception as error:
            raise self.store._fault(error) from None
        key = int.from_bytes(hashlib.sha256(b"svcascode-ledger\0" + self.lock.encode()).digest()[:8], "big",
                             signed=True)
        self.store._execute(f"SET LOCAL lock_timeout = '{int(lock_timeout() * 1000)}ms'")
        self.store._execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            self.inner.__exit__(kind, error, trace)
        except Exception as failure:
            if kind is None:
                raise self.store._fault(failure) from None


class PostgresStore(Store):
    dialect = "postgresql"
    blob_type = "BYTEA"

    @classmethod
    def connect(cls, url: str) -> PostgresStore:
        location = redacted(url)
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise StoreError("unreachable", f"{location}: a PostgreSQL store needs psycopg: pip install "
                             "'svcascode[postgresql]'") from None
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error as error:
            raise StoreError("refused", f"{location}: not a PostgreSQL connection URL: {error}") from None
        if given.get("password"):
            raise StoreError("refused", f"{location}: holds a password; give it in the environment (PGPASSWORD), "
                             "~/.pgpass or a service file (PGSERVICEFILE), never on the command line or in the "
                             "repository")
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                         application_name="svcascode ledger")
        except psycopg.Error as error:
            detail = " ".join(str(error).split())[:300]
            raise StoreError("unreachable", f"{location}: cannot connect: {detail}") from None
        store = cls(connection)
        store.location = location
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
        return store

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _fault(self, error: Exception) -> StoreError:
        import psycopg

        text = " ".join(str(error).split())[:300]
        state = getattr(error, "sqlstate", None) or ""
        if isinstance(error, (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
            return StoreError("locked", f"{self.location}: locked by another writer for longer than "
                              f"{lock_timeout():g} s ({LOCK_TIMEOUT_ENV}); try again when it is done")
        if state.startswith("53"):  # insufficient resources: disk full, out of memory
            return StoreError("full", f"{self.location}: the server is out of space ({text}); nothing of this "
                              "run's unfinished records was kept")
        if isinstance(error, psycopg.OperationalError):
            return StoreError("unreachable", f"{self.location}: the connection failed: {text}")
        if state.startswith("42"):  # undefined table or column: not our schema
            return StoreError("damaged", f"{self.location}: not a ledger store or damaged ({text})")
        return StoreError("damaged", f"{self.location}: {text}")

    def _tables(self) -> set[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        return {str(r[0]) for r in rows}

    def transaction(self, lock: str) -> Any:
        return _PostgresTransaction(self, lock)

    def _execute_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        try:
            with self.connection.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
        except StoreError:
            raise
        except Exception as error:
            raise self._fault(error) from None

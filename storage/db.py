"""Database engines, and the one-writer-per-phone transaction."""

from __future__ import annotations

import functools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

try:
    import fcntl
except ImportError:  # Windows: SQLite's own busy handler then does all the waiting
    fcntl = None

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import StaticPool

from storage.dbapi import (  # the settings, shared with connections made without an engine
    LONG_READS,
    WAIT_SECONDS,
    postgresql_arguments,
    shown_url,
    sqlite_settings,
    url_options,
)
from storage.hot import Batch, Statements

# Transaction-scoped, so it is released by COMMIT or ROLLBACK, whatever happens.
PHONE_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
# `Writer` sends its own BEGIN (its connection is in autocommit mode), with the
# isolation level the engine gives every other transaction.
PG_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED;\n" + PHONE_LOCK


def make_engine(url: str, wait: float = WAIT_SECONDS) -> Engine:
    """An engine for `url`, with SQLite set up for several worker processes.

    `wait`: seconds any wait for the database may last (WAIT_SECONDS; tests
    shorten it to see the 503 sooner).
    """
    if url.startswith("postgres://"):  # the form Heroku-style platforms hand out
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        # READ COMMITTED whatever the server's default: once `locked` holds a
        # phone's lock, each statement must see what the previous holder committed.
        # No pre-ping: it is a round trip on every message; a connection found
        # dead fails that one request with 503 (Twilio retries it) and the pool
        # replaces it.
        return create_engine(
            url,
            isolation_level="READ COMMITTED",
            pool_size=5,
            pool_timeout=wait,  # waiting for a pooled connection is bounded too
            execution_options={"wait_seconds": wait},
            connect_args=postgresql_arguments(url_options(url), wait),
        )
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        pool_timeout=wait,
        execution_options={"wait_seconds": wait},
        connect_args={"check_same_thread": False, "timeout": wait},
        **({"poolclass": StaticPool} if memory else {}),
    )
    event.listen(engine, "connect", functools.partial(_sqlite_connect, wait))
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def unusable(url: str, err: Exception) -> str:
    """Why the database at DATABASE_URL `url` did not open, in one line an operator can act on.

    SQLite says only "unable to open database file": say which file, and what is wrong
    with its folder; a server's own words otherwise (PostgreSQL's name the host and why).
    """
    said = f"Cannot use the database (DATABASE_URL={shown_url(url)})"
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if path and path != ":memory:":
        folder = os.path.dirname(os.path.abspath(path.partition("?")[0]))
        if not os.path.isdir(folder):
            return f"{said}: the folder {folder} does not exist; create it, or fix the path."
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{said}: the folder {folder} is not writable by this user."
    reason = " ".join(str(getattr(err, "orig", None) or err).split())
    return f"{said}: {reason}"


def _sqlite_connect(wait: float, dbapi_conn, _record) -> None:
    """storage/dbapi.py's settings; and no checkpoints where a thread does them."""
    sqlite_settings(dbapi_conn, wait)
    if _checkpointing(dbapi_conn):  # a background thread checkpoints for this process
        dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


def _checkpointing(dbapi_conn) -> bool:
    """Whether this process runs a checkpoint thread for the connection's database."""
    path = next(
        (row[2] for row in dbapi_conn.execute("PRAGMA database_list") if row[1] == "main"), ""
    )
    gate = _GATES.get(path)
    return gate is not None and gate.checkpointer.active


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE when asked: take the write lock before reading anything."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def long_reads(conn: Connection) -> None:
    """Let this transaction's statements run dbapi.EXPORT_SECONDS each (PostgreSQL); locks 5 s.

    SQLite's waits are bounded for every connection already (its busy timeout).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(LONG_READS)


SCHEMA_SECONDS = 120  # creating the schema of a new database: workers starting together wait


def schema_waits(conn: Connection) -> None:
    """Let this transaction wait and run SCHEMA_SECONDS (PostgreSQL): a new database's schema.

    Workers that start together on a new database queue for the one creating
    its tables; on a slow machine that takes longer than a request's 5 s.
    """
    if conn.dialect.name == "postgresql":
        ms = SCHEMA_SECONDS * 1000
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}; SET LOCAL statement_timeout = {ms}")


def unbounded(conn: Connection) -> None:
    """Let an operator's command (a migration) wait and run as long as it needs (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0")


@contextmanager
def serialised(engine: Engine, key: str) -> Iterator[Connection]:
    """A transaction in which no other process runs one for the same `key`.

    SQLite: BEGIN IMMEDIATE takes the database's write lock before the first
    read. PostgreSQL: a transaction-scoped advisory lock on the key.
    """
    with engine.connect() as conn:  # the pool's work stays outside the serial section
        if engine.dialect.name == "sqlite":
            _leave_checkpoints_to_the_thread(engine, conn.connection)
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with _gate(engine), conn.begin():
            if engine.dialect.name == "postgresql":
                cursor = conn.connection.dbapi_connection.cursor()
                cursor.execute(PHONE_LOCK, (key,))
            yield conn


@contextmanager
def locked(engine: Engine, phone: str) -> Iterator[Connection]:
    """A transaction in which no other process handles a message from `phone`.

    SQLite: BEGIN IMMEDIATE takes the database's write lock before the first
    read, so two workers can never both read the same state. PostgreSQL: a
    transaction-scoped advisory lock keyed by the phone number serialises one
    number while other numbers go on in parallel.
    """
    with serialised(engine, "phone:" + phone) as conn:
        yield conn


@contextmanager
def locked_all(engine: Engine, phones: list[str]) -> Iterator[Connection]:
    """`locked` for several numbers at once, in one transaction.

    On PostgreSQL the numbers are locked in sorted order, so two runs that lock
    overlapping numbers wait for each other instead of deadlocking.
    """
    first, *rest = sorted(set(phones))
    with locked(engine, first) as conn:
        if rest and engine.dialect.name == "postgresql":
            cursor = conn.connection.dbapi_connection.cursor()
            for phone in rest:
                cursor.execute(PHONE_LOCK, ("phone:" + phone,))
        yield conn


class Writer:
    """`locked` for the webhook: a Batch on the pool's DBAPI connection, held for one message.

    SQLAlchemy's Connection, its BEGIN and COMMIT events cost more per message
    than the statements themselves; the locking is the same as `locked`'s.
    Where writers queue for the whole database (SQLite), `ahead()` may read
    on the same connection before queueing, so that the caller can decide
    outside the serial section and only check under the lock that nothing
    changed in between.
    """

    def __init__(self, engine: Engine, phone: str):
        self.engine = engine
        self.phone = phone
        self.sqlite = engine.dialect.name == "sqlite"
        self.reads_ahead = self.sqlite  # PostgreSQL locks one phone: nothing to shorten
        self.pooled = None

    def __enter__(self) -> Writer:
        """Check a connection out: the pool's work stays outside the serial section."""
        self.pooled = self.engine.raw_connection()
        return self

    def __exit__(self, *_) -> None:
        """Return the connection to the pool."""
        self.pooled.close()

    def ahead(self) -> Statements:
        """Statements outside any transaction, each reading the latest commit (SQLite only)."""
        return Statements(self.pooled.dbapi_connection, self.engine.dialect.name)

    @contextmanager
    def transaction(self) -> Iterator[Batch]:
        """The locked transaction, committed unless its block raises."""
        if self.sqlite:
            _leave_checkpoints_to_the_thread(self.engine, self.pooled)
            begin, params = "BEGIN IMMEDIATE", ()
        else:
            begin, params = PG_BEGIN, ("phone:" + self.phone,)
        with _gate(self.engine):
            raw, info = self.pooled.dbapi_connection, self.pooled.info
            try:
                batch = Batch(raw, self.engine.dialect.name, info, begin, params)
            except BaseException:  # half set up (autocommit on, statements half prepared)
                self.pooled.invalidate()
                raise
            try:
                if self.sqlite:  # take the write lock now, before anything is read
                    batch.read_pending()
                yield batch
                batch.commit()
            except BaseException:
                _abandon(self.pooled, batch)
                raise
            batch.close()


def _abandon(pooled, batch: Batch) -> None:
    """Roll back; a connection that cannot even do that leaves the pool for good."""
    try:
        batch.rollback()
        batch.close()
    except Exception:
        pooled.invalidate()


class WriterGate:
    """Hands a SQLite file's write lock from one local writer to the next without delay.

    SQLite's own busy handler makes a waiting writer sleep and poll (1 ms, 2 ms,
    5 ms...), so under load workers sleep while the lock is free. Queueing first
    on an exclusive flock() of a file beside the database wakes the next writer
    the moment the previous one commits. It only orders writers on this machine;
    BEGIN IMMEDIATE still guards correctness for any writer that does not queue.
    A writer waits at most WAIT_SECONDS for the gate, then fails as SQLite's
    busy timeout does (503 for a webhook).
    """

    def __init__(self, path: str):
        self.path = path + "-writer.lock"
        self._threads = threading.Lock()  # flock() does not exclude threads of one process
        self._fd: int | None = None
        self._pid: int | None = None
        self._waiter = _FlockWaiter(self.path)
        self.checkpointer = Checkpointer(path)

    def stop(self) -> None:
        """Stop this process's threads for the file and close its descriptors."""
        self.checkpointer.stop()
        self._waiter.stop()
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = self._pid = None

    @contextmanager
    def held(self, wait: float = WAIT_SECONDS) -> Iterator[None]:
        """Hold the gate for the duration of a write transaction, waiting at most `wait` s."""
        self.checkpointer.start()
        deadline = time.monotonic() + wait
        if not self._threads.acquire(timeout=wait):
            raise _gate_timeout(wait)
        try:
            fd = self._descriptor()
            try:  # free nearly always: no thread, no wait
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fd = self._waiter.take(deadline - time.monotonic())
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _descriptor(self) -> int:
        """This process's own open file: a forked worker must not share its parent's."""
        if self._pid != os.getpid():
            self._fd = _open_lock_file(self.path)
            self._pid = os.getpid()
        return self._fd


def _gate_timeout(wait: float) -> sqlite3.OperationalError:
    """The error of a writer that waited too long for the gate: SQLite's own kind, so 503."""
    return sqlite3.OperationalError(f"database is locked (writer gate, {wait:g} s)")


def _open_lock_file(path: str) -> int:
    """A new open file description of the gate's lock file."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


class _FlockWaiter:
    """Waits for the gate's flock in a thread of its own, so that a writer can stop waiting.

    flock() has no timeout. The thread blocks in it on a descriptor of its own
    (a separate open file description, so the lock it takes is distinct from
    the writer's fast path) and hands the lock over; a writer that gave up
    leaves it to release the lock as soon as it gets it.
    """

    def __init__(self, path: str):
        self.path = path
        self._pid: int | None = None
        self._fd = -1
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._handover = threading.Lock()

    def take(self, timeout: float) -> int:
        """The descriptor holding the gate, within `timeout` seconds (else a timeout error)."""
        self._start()
        granted, abandoned = threading.Event(), threading.Event()
        self._requests.put((granted, abandoned))
        if granted.wait(max(timeout, 0)):
            return self._fd
        with self._handover:
            if granted.is_set():
                return self._fd
            abandoned.set()
        raise _gate_timeout(timeout)

    def _start(self) -> None:
        """Start the thread once per process (a forked worker starts its own)."""
        if self._pid == os.getpid():
            return
        self._pid, self._fd = os.getpid(), _open_lock_file(self.path)
        self._requests = queue.SimpleQueue()
        threading.Thread(
            target=self._run, args=(self._fd,), name="writer-gate", daemon=True
        ).start()

    def stop(self) -> None:
        """Let the thread end once the writers waiting now are served; it closes its file."""
        if self._pid == os.getpid():
            self._requests.put(None)
        self._pid = None

    def _run(self, fd: int) -> None:
        """Take the lock for each waiting writer in turn; release it for one that left."""
        while (request := self._requests.get()) is not None:
            granted, abandoned = request
            fcntl.flock(fd, fcntl.LOCK_EX)
            with self._handover:
                if abandoned.is_set():
                    fcntl.flock(fd, fcntl.LOCK_UN)
                else:
                    granted.set()
        os.close(fd)


class Checkpointer:
    """Copies SQLite's write-ahead log into the database from a background thread.

    By default the commit that fills the log past 1,000 pages does the copy,
    with an fsync, while its request waits: the bench showed that as most of
    the p99 latency. In a process that handles messages, a thread does it
    every CHECKPOINT_EVERY seconds instead, and its connections stop doing it
    themselves (`_leave_checkpoints_to_the_thread`). PASSIVE never blocks
    writers.
    """

    def __init__(self, path: str):
        self.path = path
        self._pid: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether this process runs the checkpoint thread."""
        return self._pid == os.getpid()

    def start(self) -> None:
        """Start the thread once per process (a forked worker starts its own)."""
        if self.active:
            return
        self._pid, self._stopping = os.getpid(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread (after its checkpoint under way) and wait for it."""
        if self.active and self._thread is not None:
            self._stopping.set()
            self._thread.join()
        self._pid = self._thread = None

    def _run(self) -> None:
        """Checkpoint now and then, until the process ends or `stop()`."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            while not self._stopping.wait(CHECKPOINT_EVERY):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # busy or briefly unavailable: the next round catches up
                    continue
        finally:
            conn.close()


CHECKPOINT_EVERY = 0.25  # seconds
BACKSTOP_PAGES = 20_000  # about 80 MB of log (SQLite checkpoints at 1,000 pages by default)


def _leave_checkpoints_to_the_thread(engine: Engine, pooled) -> None:
    """Stop a pooled connection checkpointing on commit once its process has the thread."""
    if pooled.info.get("manual_checkpoints"):  # nearly always: done once per connection
        return
    gate = _GATES.get(_absolute(engine.url.database or ""))
    if gate and gate.checkpointer.active:
        # A backstop only: should the thread fall behind, a commit still checkpoints.
        pooled.dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        pooled.info["manual_checkpoints"] = True


_GATES: dict[str, WriterGate] = {}


def _absolute(path: str) -> str:
    """The file's absolute path; an absolute one (the usual setting) is looked up, not redone."""
    return path if path in _GATES else os.path.abspath(path)


def dispose(engine: Engine) -> None:
    """Close an engine's connections and end this process's threads for its SQLite file.

    For a process that is done with a database (a test, a command): without
    it, each file used leaves a checkpoint thread and a writer-gate thread.
    """
    engine.dispose()
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:":
        gate = _GATES.pop(os.path.abspath(path), None)
        if gate is not None:
            gate.stop()


def _gate(engine: Engine):
    """The writer gate of a SQLite file database; nothing for other databases."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or fcntl is None or not path or path == ":memory:":
        return nullcontext()
    path = _absolute(path)  # as SQLite itself names the file
    if path not in _GATES:
        _GATES[path] = WriterGate(path)
    return _GATES[path].held(engine.get_execution_options().get("wait_seconds", WAIT_SECONDS))

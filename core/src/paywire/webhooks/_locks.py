"""Per-event locks for :class:`~paywire.webhooks.SQLiteEventStore`: two deliveries of one event
that is not stored yet never run handlers at the same time — in threads or in processes — and a
process that dies lets go at once, because the operating system drops its locks.

Each event key is one byte of a lock file beside the database (``<database>-paywire-locks``; the
file stays empty, the locked bytes lie far past its end). POSIX record locks (``fcntl``) belong to
a *process*, and closing any descriptor of the file drops every lock the process holds on it; so
each process opens each lock file once, shares it between every store and thread that uses it,
and tells its own threads apart here, in memory.

A hold has a lease like a stored claim: when a thread never lets go (something raised past the
processor), the next delivery of that event *in this process* takes the hold over once the lease
has run out. Another process cannot: the lock is the operating system's, and it stays held for as
long as the holding process lives.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import threading
from typing import Any

import attrs

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no POSIX record locks
    HAVE_LOCKS = False
else:
    HAVE_LOCKS = True

__all__ = ["HAVE_LOCKS", "Hold", "LockFile", "lock_offset", "release_lock_file", "use_lock_file"]

# Where two holders of one byte collide: the lock is taken by someone else.
_BUSY = frozenset({errno.EACCES, errno.EAGAIN})


def lock_offset(*key: str) -> int:
    """The byte that stands for ``key`` (a 62-bit hash: a valid file offset everywhere, and
    collisions — two events sharing a byte, so one waits for the other — practically never)."""
    digest = hashlib.blake2b("\0".join(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 2


@attrs.define(eq=False)
class Hold:
    """One thread's hold on one byte. ``payload`` is what the holder keeps until it lets go (the
    store's event waiting to be written); a takeover inherits it."""

    token: str
    until: float
    attempts: int
    offset: int
    payload: Any = None


class LockFile:
    """This process's descriptor of one lock file and the holds its threads have on it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        # Opened for writing: a write lock needs it. Mode 0666 less the umask, as SQLite's files.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        self._mutex = threading.Lock()
        self._held: dict[int, Hold] = {}
        self._tokens: dict[str, Hold] = {}
        self.users = 0

    def __repr__(self) -> str:
        return f"<LockFile {self.path!r} held={len(self._held)}>"

    def acquire(self, offset: int, token: str, now: float, until: float) -> Hold | None:
        """Hold ``offset`` under ``token`` until ``until`` (or :meth:`release`); ``None`` while
        another thread's live hold or another process has it."""
        with self._mutex:
            previous = self._held.get(offset)
            if previous is not None:
                if previous.until > now:
                    return None
                # Its holder is presumed stuck: the process keeps the lock, a new thread takes
                # the hold over, and the old token can no longer finish.
                del self._tokens[previous.token]
                hold = Hold(token, until, previous.attempts + 1, offset, previous.payload)
            else:
                try:
                    fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                except OSError as exc:
                    if exc.errno in _BUSY:
                        return None
                    raise
                hold = Hold(token, until, 1, offset)
            self._held[offset] = hold
            self._tokens[token] = hold
            return hold

    def settle(self, token: str) -> Hold | None:
        """The hold of ``token`` if it still has one, made safe from takeover while its holder
        writes the outcome and lets go."""
        with self._mutex:
            hold = self._tokens.get(token)
            if hold is not None:
                hold.until = math.inf
            return hold

    def release(self, hold: Hold) -> bool:
        """Let go of ``hold``; ``False`` when it had been taken over (nothing changes then)."""
        with self._mutex:
            if self._held.get(hold.offset) is not hold:
                return False
            del self._held[hold.offset]
            del self._tokens[hold.token]
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, hold.offset)
            return True

    def stale(self) -> bool:
        """Whether the file at the path is not the one this descriptor has open (removed, or
        replaced): processes that open the path now would not see these locks."""
        try:
            there = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self._fd)
        return (there.st_dev, there.st_ino) != (mine.st_dev, mine.st_ino)

    def close(self) -> None:
        os.close(self._fd)


_files: dict[str, LockFile] = {}
_files_mutex = threading.Lock()


def _after_fork_in_child() -> None:  # pragma: no cover - runs in forked children
    global _files_mutex  # noqa: PLW0603 - a mutex copied mid-use by fork() would never open
    _files_mutex = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def use_lock_file(path: str) -> LockFile:
    """This process's :class:`LockFile` for ``path`` (opened on first use); pair every call with
    :func:`release_lock_file`."""
    with _files_mutex:
        found = _files.get(path)
        if found is not None and found.pid != os.getpid():
            # Our copy of the parent's descriptor: closing it drops only this process's locks
            # on the file, and there are none yet.
            found.close()
            found = None
        if found is None or found.stale():
            # (A stale one stays open for the users and holds it has: see release_lock_file.)
            found = _files[path] = LockFile(path)
        found.users += 1
        return found


def release_lock_file(lock_file: LockFile) -> None:
    """One user fewer; the file is closed when nobody uses it and no hold is left (closing it
    would drop every lock this process has on it)."""
    with _files_mutex:
        if lock_file.pid != os.getpid():
            return  # the parent's: use_lock_file() deals with it
        lock_file.users -= 1
        if lock_file.users <= 0 and not lock_file._held:
            lock_file.close()
            if _files.get(lock_file.path) is lock_file:
                del _files[lock_file.path]

"""Know cheaply whether a folder changed: Linux inotify, else "always look".

The catalog asks before every message. A stat of every survey file costs a
system call per file (200 files: a measurable share of a message), while one
non-blocking read of an inotify descriptor costs one call whatever the folder
holds. Where inotify is missing the answer is always "maybe", and the catalog
falls back to its stat scan.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import weakref

_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
# Content, creations, deletions and renames in the folder; the folder's own removal.
_MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
_GONE = 0x400 | 0x800 | 0x8000 | 0x4000  # folder deleted/moved, watch dropped, queue overflow
_MODIFIED = 0x2
_DONE = 0x8 | 0x40 | 0x80 | 0x200  # closed after writing, moved away or into place, deleted
_EVENT = struct.Struct("iIII")


def _libc():
    """The C library with inotify, or None on systems without it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc if hasattr(libc, "inotify_init1") else None
    except OSError:
        return None


_LIBC = _libc()


class FolderWatch:
    """Tells whether anything in one folder may have changed since the last call."""

    def __init__(self, directory: str):
        self.directory = directory
        self._fd: int | None = None
        self._pid: int | None = None
        # Files written to and not closed since (a save in progress); unknown without inotify.
        self.writing: set[str] = set()

    def changed(self) -> bool:
        """True when the folder may have changed (always, where inotify is unavailable)."""
        if self._pid != os.getpid():  # new process (a forked worker): watch afresh
            self._open()
            return True
        if self._fd is None:
            return True
        try:
            data = os.read(self._fd, 65536)
        except BlockingIOError:
            return False
        if self._drain(data):
            self.close()
        return True

    def _open(self) -> None:
        """Start watching in this process; leave `_fd` None where that cannot be done."""
        self._pid, self._fd = os.getpid(), None
        self.writing = set()
        if _LIBC is None:
            return
        fd = _LIBC.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        if fd < 0:
            return
        if _LIBC.inotify_add_watch(fd, os.fsencode(self.directory), _MASK) < 0:
            os.close(fd)
            return
        self._fd = fd
        self._closer = weakref.finalize(self, os.close, fd)  # no descriptor outlives the watch

    def _drain(self, data: bytes) -> bool:
        """Read all pending events; True if the watch itself is no longer valid."""
        gone = False
        while data:
            offset = 0
            while offset < len(data):
                _, mask, _, size = _EVENT.unpack_from(data, offset)
                gone |= bool(mask & _GONE)
                start = offset + _EVENT.size
                self._note(mask, os.fsdecode(data[start : start + size].rstrip(b"\0")))
                offset = start + size
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                data = b""
        return gone

    def _note(self, mask: int, name: str) -> None:
        """Follow which files are being written: modified, and not yet closed or moved."""
        if mask & _DONE:
            self.writing.discard(name)
        elif mask & _MODIFIED and name:
            self.writing.add(name)

    def close(self) -> None:
        """Stop watching: from now on every call says "maybe changed"."""
        if self._fd is not None:
            self._closer()
        self._fd = None
        self.writing = set()

"""One writer per run table: an OS file lock on the sidecar ``<table>.lock``.

Every writer of a table rewrites the whole file (:class:`~hasbench.tables.RunTableWriter`
commits by atomic replacement), so two writers would each commit their own snapshot and the
runs of one would vanish. :func:`acquire_lock` takes an exclusive ``fcntl.flock`` on
``<table>.lock`` (created if missing) and writes ``"<pid> <host>"`` into it for messages. The
kernel drops a ``flock`` when its holder dies, however it dies (SIGKILL included), so a lock
left by a killed writer is taken over by the next one without any clean-up; a normal release
deletes the file.

Compatibility: hasbench versions before this lock created the same file with ``O_EXCL`` and
held no ``flock``. A lock file whose ``pid`` is a live process on this host that started
before the file was written is therefore still honoured (a collection started by an older
version keeps its table to itself); a dead ``pid``, or a live one that started after the file
was written (the pid was reused), is stale and taken over. A file naming another host that
no ``flock`` holds is refused (hasbench cannot tell whether that process is alive): delete it
once the writer there is gone.

Linux and macOS (``fcntl``); elsewhere the pid file alone is used, without stale detection
by the kernel.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path

from ..errors import InvalidValueError, check_float

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["TableLock", "acquire_lock", "lock_path"]

log = logging.getLogger(__name__)

#: a legacy holder writes its lock after starting; a process that started this many seconds
#: after the file was written cannot have written it (``/proc`` start times and ``btime``
#: have one-second granularity)
_START_MARGIN_S = 2.0
#: how often a waiting writer tries again
_POLL_S = 0.1


def lock_path(table: str | os.PathLike) -> Path:
    """The lock file of ``table``: ``<table>.lock`` beside it."""
    t = Path(table)
    return t.with_name(t.name + ".lock")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _start_time(pid: int) -> float | None:
    """Wall-clock start time of ``pid`` from ``/proc`` (Linux), else ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, after the command
        btime = next(int(line.split()[1]) for line in
                     Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
        return btime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _holder(text: str) -> tuple[int, str]:
    pid_s, _, host = text.strip().partition(" ")
    try:
        return int(pid_s), host
    except ValueError:
        return -1, ""


def _legacy_holder_alive(pid: int, host: str, written_at: float) -> bool:
    """Whether a pid file that no ``flock`` holds still belongs to a live writer."""
    if host != socket.gethostname():
        return bool(host)  # cannot check another host: honoured (module docstring)
    if pid <= 0 or pid == os.getpid() or not _pid_alive(pid):
        return False
    started = _start_time(pid)
    return started is None or started <= written_at + _START_MARGIN_S


class TableLock:
    """An exclusive lock on one table (from :func:`acquire_lock`); :meth:`release` it, or
    use it as a context manager. Released by the kernel if the process dies."""

    def __init__(self, table: Path, path: Path, fd: int | None):
        self.table = table
        self.path = path
        self._fd = fd
        self._owner: int | None = os.getpid()

    @property
    def held(self) -> bool:
        """Whether this process still holds the lock (not yet released)."""
        return self._owner == os.getpid()

    def release(self) -> None:
        """Delete the lock file (if it is still ours) and drop the lock. Idempotent; in a
        forked child it only closes the child's copy of the descriptor."""
        fd, self._fd = self._fd, None
        owner, self._owner = self._owner, None
        if owner != os.getpid():  # a forked child: the parent still holds the lock
            if fd is not None:
                os.close(fd)
            return
        try:
            if fd is not None:
                st = os.fstat(fd)
                cur = os.stat(self.path)
                if (cur.st_dev, cur.st_ino) == (st.st_dev, st.st_ino):
                    os.unlink(self.path)  # before closing: a waiter then sees a new inode
            elif owner is not None and _holder(self.path.read_text())[0] == owner:
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            if fd is not None:
                os.close(fd)

    def __enter__(self) -> TableLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):
        try:
            self.release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"TableLock({str(self.table)!r}, held={self.held})"


def _refuse(table: Path, lock: Path, pid: int, host: str, parameter: str, where: str,
            timeout: float) -> InvalidValueError:
    who = f"pid {pid} on {host}" if pid > 0 else "another process"
    if pid == os.getpid() and host == socket.gethostname():
        who = "another writer in this process (close() it first)"
    waited = f" (waited {timeout:g} s)" if timeout > 0 else ""
    return InvalidValueError(
        parameter, str(table), "a table that no other process is writing", where,
        hint=f"{lock} is held by {who}{waited}; every writer rewrites the whole table, so "
             "only one may write it at a time. Wait for that writer to finish, or delete the "
             "lock file if that process is gone")


def acquire_lock(table: str | os.PathLike, where: str = "RunTableWriter",
                 timeout: float = 0.0, parameter: str = "path") -> TableLock:
    """Lock ``table`` for writing (module docstring): wait up to ``timeout`` seconds for
    another writer, then raise :class:`~hasbench.errors.InvalidValueError` naming
    ``parameter`` and the holder. A stale lock (its holder died) is taken over."""
    timeout = check_float("timeout", timeout, 0.0, None, where)
    t = Path(table)
    lock = lock_path(t)
    deadline = time.monotonic() + timeout
    host = socket.gethostname()
    me = f"{os.getpid()} {host}\n".encode()
    while True:
        pid, lhost = -1, ""
        if fcntl is None:  # pragma: no cover - no flock: the pid file alone
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid, lhost = _holder(lock.read_text())
                    if not _legacy_holder_alive(pid, lhost, lock.stat().st_mtime):
                        lock.unlink(missing_ok=True)
                        continue
                except FileNotFoundError:
                    continue
            except OSError as e:
                raise InvalidValueError(parameter, str(t), "a table in a writable folder",
                                        where, hint=f"cannot create {lock}: {e}") from None
            else:
                os.write(fd, me)
                os.close(fd)
                return TableLock(t, lock, None)
        else:
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                raise InvalidValueError(parameter, str(t), "a table in a writable folder",
                                        where, hint=f"cannot create {lock}: {e}") from None
            got = False
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    got = True
                except BlockingIOError:
                    pid, lhost = _holder(os.pread(fd, 256, 0).decode(errors="replace"))
                if got:
                    st = os.fstat(fd)
                    try:
                        cur = os.stat(lock)
                    except FileNotFoundError:
                        cur = None
                    if cur is None or (cur.st_dev, cur.st_ino) != (st.st_dev, st.st_ino):
                        got = False  # released and deleted meanwhile: lock the new file
                        pid = -2
                    else:
                        text = os.pread(fd, 256, 0).decode(errors="replace")
                        pid, lhost = _holder(text)
                        if text.strip() and _legacy_holder_alive(pid, lhost, st.st_mtime):
                            got = False  # a pid-file lock of an older hasbench
                        else:
                            if text.strip():
                                log.warning("%s: taking over stale lock %s (pid %s on %s is "
                                            "gone)", where, lock, pid, lhost or "?")
                            os.ftruncate(fd, 0)
                            os.pwrite(fd, me, 0)
                            out = TableLock(t, lock, fd)
                            fd = -1
                            return out
            finally:
                if fd >= 0:
                    os.close(fd)  # drops our flock too, if we took it
            if pid == -2:
                continue
        if time.monotonic() >= deadline:
            raise _refuse(t, lock, pid, lhost, parameter, where, timeout)
        time.sleep(_POLL_S)

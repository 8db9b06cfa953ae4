"""One sweep per folder: an exclusive ``flock`` on ``<sweep folder>/sweep.lock``, held by the driver
for the whole run (docs/runner.md#integrity).

Without it two drivers on one folder both "succeed" with each other's runs mixed in, and one's
clean-up deletes the other's temporary files. ``flock`` is released by the kernel when the holder
exits, however it dies, so a lock is never stale; the file holds the holder's pid for the message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from paysim_runner.config import ConfigError

LOCK_FILE = "sweep.lock"


class SweepLock:
    """The held lock on one sweep folder; :meth:`release` (or process exit) frees it."""

    def __init__(self, sweep_dir: Path) -> None:
        path = sweep_dir / LOCK_FILE
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by Ray's subprocesses
        except OSError as exc:
            raise ConfigError("output_dir", f"cannot write {path} ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(
                "output_dir", f"{sweep_dir} is in use by another sweep (pid {holder}); wait for it to "
                "finish or use another output_dir",
            ) from None
        os.fchmod(fd, 0o644)  # the mode of every file in a results folder, whatever the umask
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

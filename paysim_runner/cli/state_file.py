"""The state file between commands: the engine's own ``save_state()`` bytes, written atomically and
updated under an exclusive lock, so ``paysim create`` then three ``paysim tick 10`` ends byte for
byte where one ``paysim tick 30`` would (docs/api-cli.md#the-state-file)."""

from __future__ import annotations

import fcntl
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from paysim_runner.cli.app import CliError, one_line

if TYPE_CHECKING:
    from paysim_runner._core import Orchestrator


def write_state(path: Path, engine: Orchestrator) -> None:
    """Save an engine: the file is exactly its ``save_state()`` bytes, written atomically.

    The engine's bytes carry their own magic, format version and checksum, so a foreign, truncated
    or damaged file is refused on load; the atomic write leaves the old file or the new one, never
    half of one. A symlink is written through (the link stays, its target is replaced) and an
    existing file keeps its mode; a file its owner cannot write (0444) is refused, not replaced.
    """
    from paysim_runner.storage import FILE_MODE, atomic_write_bytes  # numpy and pyarrow: only for writers

    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = FILE_MODE
    if not mode & stat.S_IWUSR:
        raise CliError(f"{path}: read-only (mode {mode:04o}); make it writable (chmod u+w) to update it")
    try:
        atomic_write_bytes(target, engine.save_state(), mode)
    except OSError as exc:
        raise CliError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def read_state(path: Path) -> Orchestrator:
    """Restore the engine saved in ``path`` for a command that only reads it (no lock needed:
    writers replace the file atomically, so it is always the previous or the next whole state)."""
    fd = _open_state(path)
    assert fd is not None
    try:
        return _restore(path, _read_all(fd))
    finally:
        os.close(fd)


@contextmanager
def updating_state(path: Path) -> Iterator[Orchestrator]:
    """The engine of an existing state file, held under an exclusive lock until the command has
    replaced the file, so two commands cannot both read one state and lose one's update.

    The lock is taken on the state file itself (no lock file is left behind). A waiting command
    that wakes up after another replaced the file finds a new file at the path and locks that one.
    """
    with _locked(path, must_exist=True) as fd:
        assert fd is not None
        yield _restore(path, _read_all(fd))


@contextmanager
def replacing_state(path: Path) -> Iterator[None]:
    """Hold the lock of the state file at ``path``, if there is one, while it is overwritten."""
    with _locked(path, must_exist=False):
        yield


@contextmanager
def _locked(path: Path, *, must_exist: bool) -> Iterator[int | None]:
    while True:
        fd = _open_state(path, missing_ok=not must_exist)
        if fd is None:
            yield None  # nothing to protect: the new file appears whole with one rename
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                yield fd
                return
        finally:
            os.close(fd)  # releases the lock


def _open_state(path: Path, *, missing_ok: bool = False) -> int | None:
    """Open a state file for reading; a folder, a special file or (unless missing_ok) a missing
    file is a CliError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO must not block us
    except FileNotFoundError:
        if missing_ok:
            return None
        raise CliError(
            f"{path}: no such state file (make one with `paysim create --config FILE --state {path}`)"
        ) from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc.strerror})") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise CliError(f"{path}: {'is a directory' if stat.S_ISDIR(mode) else 'not a regular file'}, not a state file")
    return fd


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb", closefd=False) as fh:
        return fh.read()


def _restore(path: Path, data: bytes) -> Orchestrator:
    from paysim_runner._core import Orchestrator

    try:
        return Orchestrator.load_state(data)
    except Exception as exc:  # the engine's own decoder; any failure means this file cannot be used
        raise CliError(f"{path}: {one_line(str(exc)).removeprefix('cannot restore state: ')}") from exc

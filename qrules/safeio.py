"""Reading and writing files safely: the one place every stage opens a user's file.

Why a module of its own: ``qrules`` reads rulesets, histories, test cases and columnar
tables named by users (or by a ruleset's ``extends``), and writes results other programs
read. Reading refuses anything but a regular file (``/dev/zero`` would grow without end, a
FIFO would block forever, a directory is a mistake) and counts bytes *while* reading, so a
file cannot be larger than its cap even if it grows or lies about its size. Writing goes to
a temporary file in the same folder, renamed into place only when complete, so an
interrupted run leaves the previous output intact, never a partial one (docs/security.md).
"""

from __future__ import annotations

import functools
import io
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

#: Cap for streamed inputs (JSON Lines, CSV and Parquet tables): far above any real corpus.
MAX_STREAM_BYTES = 20_000_000_000


class FileRefused(OSError):
    """A path that is not a readable regular file, or a file over its size cap
    (``too_large`` set, the message saying by how much)."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large

    def __str__(self) -> str:
        return str(self.args[0])


def _open_regular(path: str | Path) -> int:
    """An fd for ``path`` if it is a regular file. ``O_NONBLOCK`` keeps a FIFO from blocking."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError:
        raise FileRefused(f"'{path}' is a directory, not a file") from None
    except OSError as exc:
        raise FileRefused(f"cannot read '{path}': {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = ("a directory" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "not a regular file")
        raise FileRefused(f"'{path}' is {what}; qrules reads regular files only")
    return fd


class _CappedRaw(io.RawIOBase):
    """A raw reader that fails once more than ``cap`` bytes have been read."""

    def __init__(self, fd: int, cap: int, name: str):
        self._file = os.fdopen(fd, "rb", buffering=0)
        self.cap, self.count, self.name = cap, 0, name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer)
        self.count += n or 0
        if self.count > self.cap:
            raise FileRefused(f"'{self.name}' is larger than the {_mb(self.cap)} limit", too_large=True)
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB"


def open_binary(path: str | Path, max_bytes: int = MAX_STREAM_BYTES) -> IO[bytes]:
    """A buffered binary reader of a regular file that refuses to read past ``max_bytes``
    (at once when the file's size is already over it)."""
    fd = _open_regular(path)
    size = os.fstat(fd).st_size
    if size > max_bytes:
        os.close(fd)
        raise FileRefused(f"'{path}' is {_mb(size)}, over the {_mb(max_bytes)} limit", too_large=True)
    return io.BufferedReader(_CappedRaw(fd, max_bytes, str(path)))


def open_seekable(path: str | Path) -> IO[bytes]:
    """A seekable binary file object of a regular file (Parquet reads its footer first)."""
    return os.fdopen(_open_regular(path), "rb")


def open_text(path: str | Path, max_bytes: int = MAX_STREAM_BYTES, *, newline: str | None = None) -> IO[str]:
    """A UTF-8 text reader (a leading BOM is skipped) of a regular file, capped at ``max_bytes``."""
    return io.TextIOWrapper(open_binary(path, max_bytes), encoding="utf-8-sig", newline=newline)


def read_bytes(path: str | Path, max_bytes: int) -> bytes:
    """The whole content of a regular file; :class:`FileRefused` past ``max_bytes``."""
    with open_binary(path, max_bytes) as fh:
        return fh.read()


def check_output(path: str | Path) -> str | None:
    """Why ``path`` cannot be written (checked before any input is loaded), or None."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        return f"'{path}' is a directory; name a file to write"
    if not parent.is_dir():
        return f"the folder '{parent}' does not exist"
    if p.exists() and not p.is_file():
        return f"'{path}' is not a regular file"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot write in the folder '{parent}' (permission denied)"
    if p.exists() and not os.access(p, os.W_OK):
        return f"cannot overwrite '{path}' (permission denied)"
    return None


class AtomicFile:
    """A temporary file beside ``path`` (``.name.*.part``): :meth:`commit` renames it onto
    ``path``; :meth:`discard` removes it, leaving the previous content of ``path`` untouched."""

    def __init__(self, path: str | Path):
        target = Path(path)
        folder = target.parent if str(target.parent) else Path(".")
        fd, self.tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        os.close(fd)
        self.path = target
        self.done = False

    def commit(self) -> None:
        if self.done:
            return
        try:
            with open(self.tmp, "rb+") as fh:  # on disk before the rename makes it visible
                os.fsync(fh.fileno())
            os.chmod(self.tmp, 0o666 & ~_umask())
        except OSError:  # pragma: no cover - filesystems without fsync or modes
            pass
        os.replace(self.tmp, self.path)
        self.done = True

    def discard(self) -> None:
        if self.done:
            return
        self.done = True
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


@contextmanager
def atomic_path(path: str | Path) -> Iterator[str]:
    """A temporary path beside ``path``; renamed onto ``path`` only if the block completes.

    On any exception (KeyboardInterrupt included) the temporary file is removed and the
    previous content of ``path`` is untouched. A process killed outright leaves at most a
    hidden ``.name.*.part`` file beside it, never a truncated ``path``.
    """
    atomic = AtomicFile(path)
    try:
        yield atomic.tmp
    except BaseException:
        atomic.discard()
        raise
    atomic.commit()


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` through :func:`atomic_path`: complete new content, or none."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as fh:
            yield fh


@functools.cache
def _umask() -> int:
    mask = os.umask(0)  # read once: the only way to learn it

    os.umask(mask)
    return mask

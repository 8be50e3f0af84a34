"""File-system helpers of the spool: durable writes (fsync of file and directory), hashing, sizes."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

READ_CHUNK = 1 << 20


def ensure_private_dir(path: Path) -> Path:
    """Create the directory (mode 0700) if needed and tighten its mode if it exists."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (path.stat().st_mode & 0o777) != 0o700:
        path.chmod(0o700)
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink in this directory durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_and_hash(path: Path) -> tuple[int, str]:
    """fsync a finished file and return (size, hex MD5) of its bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with path.open("rb+") as fh:
        while chunk := fh.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(fh.fileno())
    return size, digest.hexdigest()


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_durably(source: Path, target: Path) -> None:
    """Copy a file's bytes into target (the source is only read) and fsync the copy."""
    with source.open("rb") as src, target.open("xb") as dst:
        while chunk := src.read(READ_CHUNK):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


def move_durably(source: Path, target: Path) -> None:
    """Rename within the spool's file system and make both directories' entries durable."""
    os.replace(source, target)
    fsync_dir(target.parent)
    if source.parent != target.parent:
        fsync_dir(source.parent)


def unlink_quietly(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged writer may still use on the file system holding path."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def keep_reserve(path: Path, nbytes: int) -> None:
    """Hold nbytes of disk in a file, released when the disk fills so SQLite can still commit."""
    if nbytes <= 0 or (path.exists() and path.stat().st_size >= nbytes):
        return
    try:
        with path.open("wb") as fh:
            os.posix_fallocate(fh.fileno(), 0, nbytes)
            os.fsync(fh.fileno())
    except OSError:
        unlink_quietly(path)  # no room for the reserve itself: try again at the next open


def try_lock(path: Path) -> int | None:
    """Take an exclusive advisory lock on path; return its fd, or None if another process holds it.

    The holder owns start-up repair; others (`recorder status` beside the daemon) must not move
    files a running writer is still filling. The kernel drops the lock when the process dies.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd

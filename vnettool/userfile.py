"""The one way vnettool reads a file a user named (playbooks, desired state, snapshots, configs).

A path on a command line can be anything: ``/dev/zero`` and ``/dev/urandom`` never end, a
named pipe with no writer blocks ``open()`` forever, a directory or a socket cannot be read at
all, and a regular file can be far larger than anything a person writes. Opening without
blocking, refusing whatever is not a regular file, and reading at most a bounded number of
bytes turns each of these into a clear `UserFileError` instead of a hang or a MemoryError.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vnettool.errors import ConfigError

MAX_BYTES = 16 * 1024 * 1024
"""Default bound: a snapshot of a large vCenter fits; an endless device does not hang us."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UserFileError(ConfigError):
    """A user-named file that cannot be read safely; `reason` is without the file name."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_bytes(path: Path | str, *, limit: int = MAX_BYTES, what: str = "file") -> bytes:
    """At most `limit` bytes of the regular file `path`, or UserFileError saying why not.

    O_NONBLOCK makes opening a FIFO return at once (it would otherwise wait for a writer);
    the type is then checked on the open descriptor, so a path swapped after the check
    cannot smuggle a device in.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UserFileError(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UserFileError(path, f"is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise UserFileError(
                path, f"the {what} is {st.st_size} bytes; it is limited to {limit} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # a file that grows while read (or /proc) is bounded too
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UserFileError(
                path, f"the {what} is more than {limit} bytes; it is limited to {limit} bytes"
            )
        return b"".join(chunks)
    except OSError as exc:
        raise UserFileError(path, f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(path: Path | str, *, limit: int = MAX_BYTES, what: str = "file") -> str:
    """`read_bytes` decoded as UTF-8 (a BOM is dropped); binary junk is a UserFileError."""
    raw = read_bytes(path, limit=limit, what=what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserFileError(
            path,
            f"the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
        ) from None


def write_bytes(
    path: Path | str, data: bytes, *, what: str = "file", make_parents: bool = False
) -> None:
    """Replace `path` atomically with `data`, readable by the user only (mode 0600).

    The temporary file is created next to the target with a random name, O_EXCL and
    O_NOFOLLOW (`tempfile.mkstemp`), so a link planted where a predictable name would be
    cannot redirect the write; the rename replaces a link at `path` itself, never the file it
    points to. A missing directory is an error unless `make_parents` (vnettool's own state).
    """
    import tempfile

    target = Path(path)
    parent = target.parent
    if make_parents:
        parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    check_writable(target, what=what)
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserFileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise UserFileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
        raise


def check_writable(path: Path | str, *, what: str = "file") -> None:
    """Refuse, before any work, a target that is a directory or in a missing directory."""
    target = Path(path)
    if not target.parent.is_dir():
        raise UserFileError(
            path, f"cannot write the {what}: directory {target.parent} does not exist"
        )
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserFileError(path, f"cannot write the {what}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UserFileError(path, f"is a directory; give a file name for the {what}")


def write_text(
    path: Path | str, text: str, *, what: str = "file", make_parents: bool = False
) -> None:
    """`write_bytes` of UTF-8 text."""
    write_bytes(path, text.encode("utf-8"), what=what, make_parents=make_parents)

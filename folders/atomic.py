"""Writing files and folders so that a crash at any moment leaves either the old version or the complete new one.

A file is written to a temporary file beside it, flushed to disk and renamed over it. A folder is written into a
staging folder beside it (`.NAME.RANDOM.partial`); once every file in it is flushed, a marker naming the staging
folder is written last, and the staging folder takes the target's place: in one atomic exchange on Linux
(renameat2 with RENAME_EXCHANGE), elsewhere in two renames with the old folder parked as `.NAME.RANDOM.old`. The
parent folder is flushed after the swap, and only then is the old folder deleted.

A crash between those steps leaves recognisable leftovers, which the next write to the same path (or a resume from
it) resolves with `recover_folder`: a complete staging folder is swapped in (the interrupted write is finished),
anything else is deleted, and a parked old folder goes back in place when no new one is complete.

One process at a time writes or recovers a folder: it holds an flock on a hidden file beside it (`.NAME.lock`),
and another process that tries is told at once that the folder is being written (`FolderBusy`), where it would
otherwise take the writer's staging folder for a crash's leftovers and delete it. The kernel releases the lock
when its holder exits, however it exits; the holder deletes the file when done, and a file a killed process left
behind is taken over, and deleted, by the next writer.

Everything written gets the permissions the user's umask gives an ordinary new file or folder (temporary files and
folders are created private, so their mode is set before they take their final name).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

COMPLETE_MARKER = ".write-complete"
STAGING_SUFFIX = ".partial"
PARKED_SUFFIX = ".old"
LOCK_SUFFIX = ".lock"
# renameat2(2): operate relative to the current directory; swap the two paths.
AT_FDCWD = -100
RENAME_EXCHANGE = 2


class FolderBusy(OSError):
    """Another process is writing the folder (it holds its lock)."""


def current_umask() -> int:
    """The process's umask, read without changing it where the system says (Linux), else set and put back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def new_modes() -> tuple[int, int]:
    """The permissions an ordinary new file and a new folder get under the process's umask."""
    umask = current_umask()
    return 0o666 & ~umask, 0o777 & ~umask


def flush_to_disk(path: str | Path) -> None:
    """fsync a file, or a folder (which makes the names created or renamed in it durable)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def replacing_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` to write; when the block ends without error it replaces `path`
    atomically and durably. A file that is replaced keeps its permissions; a new one gets the umask's."""
    path = Path(path)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() and not path.is_symlink() else new_modes()[0]
        os.chmod(temporary, mode)
        flush_to_disk(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    flush_to_disk(path.parent)


def write_file(path: str | Path, content: str | bytes) -> None:
    """Replace `path` with `content` (text is written as UTF-8) so that a crash leaves the old or the new file."""
    with replacing_file(path) as temporary:
        if isinstance(content, str):
            temporary.write_text(content, encoding="utf-8")
        else:
            temporary.write_bytes(content)


def replace_folder(target: str | Path, fill: Callable[[Path], None]) -> Path:
    """Make `target` a folder holding what `fill(staging)` writes, or leave it as it was if `fill` fails.

    The caller decides whether `target` may be replaced; this function deletes the old folder once the new one is
    in place.
    """
    target = Path(target)
    # Parent folders that do not exist yet are made now and removed again if nothing is written.
    missing_parents = [folder for folder in (target.parent, *target.parent.parents) if not folder.exists()]
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(target):
            _recover(target)
            staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=STAGING_SUFFIX, dir=target.parent))
            try:
                fill(staging)
                seal(staging)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            swap_into_place(staging, target)
    except BaseException:
        for folder in missing_parents:
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    return target


def lock_file(target: Path) -> Path:
    return target.with_name(f".{target.name}{LOCK_SUFFIX}")


@contextmanager
def folder_lock(target: Path) -> Iterator[None]:
    """Hold the right to write `target` for the block; FolderBusy at once if another process holds it (see the
    module's notes). Where the file system has no flock, the block runs unlocked, as it did before locks."""
    path = lock_file(target)
    while True:
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise FolderBusy(
                f"another process is writing {target} (it holds {path}); wait for it to finish, or write to "
                "another folder"
            ) from None
        except OSError as error:
            os.close(descriptor)
            if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            try:
                yield
            finally:
                path.unlink(missing_ok=True)
            return
        try:
            # The holder before us deletes the file when done: if it did so between our open and our lock, the
            # lock we hold is on a file nobody else will open, so take the lock on the current file instead.
            current = os.path.samestat(os.fstat(descriptor), os.stat(path))
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(descriptor)
    try:
        yield
    finally:
        # Deleted while still locked, so that the next writer's check above sees a file that is gone.
        path.unlink(missing_ok=True)
        os.close(descriptor)


def seal(staging: Path) -> None:
    """Give everything in `staging` the umask's permissions, flush it to disk, and mark it complete, last."""
    # Read once for the folder: reading /proc/self/status can be slow on a busy machine.
    file_mode, folder_mode = new_modes()
    os.chmod(staging, folder_mode)
    for folder, subfolders, files in os.walk(staging):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)
                flush_to_disk(path)
        for name in subfolders:
            os.chmod(os.path.join(folder, name), folder_mode)
    marker = staging / COMPLETE_MARKER
    marker.write_text(staging.name)
    flush_to_disk(marker)
    for folder, _, _ in os.walk(staging, topdown=False):
        flush_to_disk(folder)


def swap_into_place(staging: Path, target: Path) -> None:
    """Put the sealed `staging` folder at `target` and delete what was there."""
    parent = target.parent
    if not target.exists() and not target.is_symlink():
        os.rename(staging, target)
        old = None
    elif exchange(staging, target):
        old = staging
    else:
        old = parked_name(staging)
        os.rename(target, old)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(old, target)
            raise
    flush_to_disk(parent)
    (target / COMPLETE_MARKER).unlink(missing_ok=True)
    if old is not None:
        shutil.rmtree(old)


def parked_name(staging: Path) -> Path:
    return staging.with_name(staging.name.removesuffix(STAGING_SUFFIX) + PARKED_SUFFIX)


@cache
def _renameat2() -> Callable | None:
    if not sys.platform.startswith("linux"):
        return None
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)  # glibc 2.28 and later
    if function is not None:
        function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        function.restype = ctypes.c_int
    return function


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system or file system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), str(first), None, str(second))


def leftovers_of(target: Path) -> tuple[list[Path], list[Path]]:
    """The staging and parked folders an interrupted write to `target` left beside it."""
    pattern = re.compile(
        rf"\.{re.escape(target.name)}\.[a-z0-9_]{{8}}({re.escape(STAGING_SUFFIX)}|{re.escape(PARKED_SUFFIX)})"
    )
    staging, parked = [], []
    if target.parent.is_dir():
        for path in target.parent.iterdir():
            match = pattern.fullmatch(path.name)
            if match and path.is_dir() and not path.is_symlink():
                (staging if match.group(1) == STAGING_SUFFIX else parked).append(path)
    return staging, parked


def is_complete(staging: Path) -> bool:
    """Sealed by this staging folder's own write (a marker left in an older folder names another folder)."""
    marker = staging / COMPLETE_MARKER
    try:
        return marker.read_text() == staging.name
    except OSError:
        return False


def recover_folder(target: str | Path) -> None:
    """Finish or roll back a write to `target` that a crash interrupted; nothing happens if there was none.
    FolderBusy if another process is writing `target` now."""
    target = Path(target)
    staging, parked = leftovers_of(target)
    # Locked only when there is something to do, so that reading a folder one may not write (push) still works.
    if staging or parked or (target / COMPLETE_MARKER).exists():
        with folder_lock(target):
            _recover(target)


def _recover(target: Path) -> None:
    if target.is_dir():
        # A crash after the swap and before the marker's removal leaves it in the new folder.
        (target / COMPLETE_MARKER).unlink(missing_ok=True)
    staging, parked = leftovers_of(target)
    if not staging and not parked:
        return
    complete = sorted((path for path in staging if is_complete(path)), key=lambda path: path.stat().st_mtime)
    if complete:
        swap_into_place(complete[-1], target)
    elif parked and not target.exists():
        os.rename(max(parked, key=lambda path: path.stat().st_mtime), target)
    for path in [*staging, *parked]:
        if path.exists():
            shutil.rmtree(path)
    flush_to_disk(target.parent)

"""Writing files atomically, so that a crash or a reader never sees a partial file.

The data goes to a temporary file in the directory of the target (``.<name>.<random
hex>.tmp``), which is flushed to disk and then renamed over the target: the target
always holds either its previous content or the complete new one. A process
killed while writing can leave the temporary file behind, never a truncated
target. A memory map of the previous file (``load(..., mmap=True)``) keeps
reading the previous content, since the rename gives the path a new inode.
"""

import contextlib
import os
import secrets

# permissions of new files before the umask, as `open(path, "w")` uses
_NEW_FILE_MODE = 0o666


def _create_temporary(target: str):
    """Create a new temporary file next to ``target``; returns its path and file
    descriptor"""
    directory, name = os.path.split(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return path, os.open(path, flags, _NEW_FILE_MODE)
        except FileExistsError:
            continue


def _sync_directory(directory: str):
    """Make a rename in ``directory`` durable (POSIX only: Windows can not open
    directories)"""
    if os.name == "nt":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_file(path: str):
    """A binary file object to write the content of ``path``, which is replaced
    only when the ``with`` block ends without error; the temporary file is removed
    if it raises.

    Symbolic links are followed (the file they point to is replaced), and an
    existing target keeps its permissions.

    :param path: the file to write
    """
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = None

    temporary, descriptor = _create_temporary(target)
    try:
        with open(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    _sync_directory(os.path.dirname(target))

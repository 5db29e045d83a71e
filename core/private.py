"""Private by default: what sohoa creates under the data directory is readable by its own user only.

Every process entry point (`sohoa …`, the workers, the web app) sets the umask to 077 (`lock_umask`),
and the places that create the data root, the databases, the hot-folder folders and the local store
also set the modes explicitly (`make_dir`, `make_private`), so a caller's umask or an inherited
environment cannot make them readable by group or others.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
UMASK: Final = 0o077


def lock_umask() -> int:
    """Files and folders created from now on are private (0600/0700); returns the previous umask."""
    return os.umask(UMASK)


def make_dir(path: Path) -> Path:
    """`path` and any missing parents, created 0700 whatever the umask. Folders that already
    exist keep their mode (an inbox shared with a scanner's account stays as the admin set it)."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    for created in missing:
        try:
            os.chmod(created, DIR_MODE)
        except OSError:
            pass  # created by someone else meanwhile
    return path


def make_private(path: Path) -> None:
    """An existing file or folder of ours made private: group and others lose every permission,
    the owner's are kept (a read-only object stays read-only). Missing paths and paths we do not
    own are left alone."""
    try:
        current = os.lstat(path).st_mode & 0o777
        if current & 0o077 and not os.path.islink(path):
            os.chmod(path, current & 0o700)
    except (FileNotFoundError, PermissionError):
        pass


def prepare_sqlite(path: Path) -> None:
    """A SQLite database file created 0600 before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's mode, so they are private too. Existing files are made private."""
    path = Path(path)
    make_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))
    except OSError:
        return  # unwritable: SQLite will say so in its own words
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        make_private(each)

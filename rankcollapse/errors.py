"""Errors the command line turns into a message and exit code 2, and the output-file check that
every command runs before any work."""

import os
from pathlib import Path


class UsageError(Exception):
    """Bad input or usage: the CLI prints the message and exits 2."""


def check_writable(path: str | None, option: str = "--json") -> None:
    """Fail before any work if an output file cannot be written (nothing is overwritten)."""
    if not path:
        return
    if Path(path).is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the directory {Path(path).parent} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the directory {Path(path).parent} is not writable")

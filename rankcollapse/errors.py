"""Errors the command line turns into a message and exit code 2, and the output-file check that
every command runs before any work."""

from pathlib import Path


class UsageError(Exception):
    """Bad input or usage: the CLI prints the message and exits 2."""


def check_writable(path: str | None, option: str = "--json") -> None:
    """Fail before any work if an output file cannot be written (nothing is overwritten)."""
    if not path:
        return
    if Path(path).is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    if not Path(path).resolve().parent.is_dir():
        raise UsageError(f"{option} {path}: the directory {Path(path).parent} does not exist")

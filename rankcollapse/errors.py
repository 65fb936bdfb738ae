"""Errors the command line turns into a message and exit code 2."""


class UsageError(Exception):
    """Bad input or usage: the CLI prints the message and exits 2."""

"""The one exception a user can cause. The command line turns it into a message and exit code 2."""

from __future__ import annotations


class SvcascodeError(Exception):
    """Raised when the tool cannot do its job: a bad option, a missing path, an unreadable config."""

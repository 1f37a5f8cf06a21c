"""Exit statuses, named once and used by every command (CLI, ``run``, ``audit``)."""

from __future__ import annotations

CLEAN = 0
"""Nothing at or above the failing severity was found."""
FINDINGS = 1
"""Findings at or above the failing severity (``--fail-on``, default ``error``)."""
USAGE = 2
"""Bad command line, or a policy that cannot be loaded."""
INCOMPLETE = 3
"""Findings were lost: a process could not write all its findings to the data dir, so the
report is incomplete (``importwall audit``, ``report``; ``importwall run`` in audit mode
when the command itself succeeded)."""
INTERRUPTED = 130
"""Stopped by Ctrl-C (128 + SIGINT, as a shell reports it)."""
BROKEN_PIPE = 141
"""The reader of standard output went away (``importwall ... | head -1``): 128 + SIGPIPE,
as a shell reports ``cat`` or ``grep`` stopped the same way. Nothing is printed."""

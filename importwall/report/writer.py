"""The one writer every report format goes through.

Each format is its own module (``text``, ``json``, ``sarif``, ``junit``, ``markdown``,
``html``, ``github`` in ``formats/``) exposing ``FORMAT_VERSION`` and
``render(report, options) -> str``. This module picks the format, stamps its version,
and writes the result atomically (a temporary file in the same folder, then a rename, so
a reader never sees half a report), or to standard output for ``-``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, cast

from importwall.errors import ReportFormatError
from importwall.report.model import Report, ReportItem

FORMATS: dict[str, str] = {
    "text": "importwall.report.formats.text",
    "json": "importwall.report.formats.json",
    "sarif": "importwall.report.formats.sarif",
    "junit": "importwall.report.formats.junit",
    "markdown": "importwall.report.formats.markdown",
    "html": "importwall.report.formats.html",
    "github": "importwall.report.formats.github",
}
"""Format name -> module. ``md`` is accepted for ``markdown``."""

ALIASES = {"md": "markdown", "xml": "junit", "terminal": "text"}
STDOUT = "-"


@dataclass(frozen=True)
class RenderOptions:
    """How a report is rendered: ``color`` for terminals, ``width`` for text layout
    (``None``: lines are never wrapped, as in files and pipes), ``root`` to make file
    paths relative (SARIF locations, text)."""

    color: bool = False
    width: int | None = None
    root: str = ""


class Reporter(Protocol):
    FORMAT_VERSION: str

    def render(self, report: Report, options: RenderOptions) -> str: ...


def format_names() -> list[str]:
    return list(FORMATS)


def reporter(name: str) -> Reporter:
    canonical = ALIASES.get(name, name)
    module = FORMATS.get(canonical)
    if module is None:
        raise ReportFormatError(
            f"importwall: unknown report format {name!r}; use one of {', '.join(FORMATS)}")
    return cast(Reporter, importlib.import_module(module))


def stamp(name: str) -> str:
    """``importwall 0.1.0 html report, format 1``: written into every output."""
    from importwall._version import __version__

    return f"importwall {__version__} {ALIASES.get(name, name)} report, format " \
           f"{reporter(name).FORMAT_VERSION}"


def render(report: Report, name: str, options: RenderOptions | None = None) -> str:
    return reporter(name).render(report, options or RenderOptions())


def write_report(report: Report, name: str, output: str = STDOUT,
                 options: RenderOptions | None = None) -> None:
    """Render ``report`` as format ``name`` into ``output`` (a path, or ``-``)."""
    text = render(report, name, options or output_options(output))
    if output == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomic(output, text)


def output_options(output: str, environ: Mapping[str, str] | None = None) -> RenderOptions:
    """How a report written to ``output`` looks: on standard output, coloured as
    :func:`wants_color` says and wrapped as :func:`line_width` says; in a file, plain and
    never wrapped."""
    env = os.environ if environ is None else environ
    if output != STDOUT:
        return RenderOptions(root=os.getcwd())
    terminal = _isatty(sys.stdout)
    return RenderOptions(color=wants_color(terminal, env), width=line_width(terminal, env),
                         root=os.getcwd())


def wants_color(terminal: bool, environ: Mapping[str, str] | None = None) -> bool:
    """Colour or not: ``NO_COLOR`` (no-color.org) says no, then ``FORCE_COLOR``
    (force-color.org) says yes, then ``TERM=dumb`` says no; else only on a terminal.
    Each counts when set to anything but the empty string."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return terminal


def line_width(terminal: bool, environ: Mapping[str, str] | None = None) -> int | None:
    """Where lines wrap: on a terminal, at ``$COLUMNS`` when it is set, else at the
    terminal's width; elsewhere ``None``, never (a ``$COLUMNS`` that a runner exported,
    as pytest-xdist's workers have, says nothing about a pipe or a file)."""
    if not terminal:
        return None
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    import shutil

    return shutil.get_terminal_size().columns


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def write_atomic(path: str, text: str) -> None:
    target = os.path.abspath(path)
    folder = os.path.dirname(target)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".importwall-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise ReportFormatError(f"importwall: cannot write the report to {path!r}: "
                                f"{error.strerror or error}") from error
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ReportFormatError(f"importwall: cannot write the report to {path!r}: "
                                f"{error.strerror or error}") from error


# --------------------------------------------------------------------------- shared by formats


def display_path(path: str, root: str = "") -> str:
    """``path`` relative to ``root`` when it lies inside it, else unchanged."""
    if root and os.path.isabs(path):
        try:
            relative = os.path.relpath(path, root)
        except ValueError:  # another drive on Windows
            return path
        if not relative.startswith(os.pardir):
            return relative.replace(os.sep, "/")
    return path


def chain_steps(report_item: ReportItem, root: str = "") -> list[str]:
    """The import chain as lines, outermost first, ending with the imported module:
    ``myservice.app  (myservice/app.py:10, in handle())``."""
    finding = report_item.finding
    steps = []
    for frame in finding.chain:
        inside = f", in {frame.function}()" if frame.function else ""
        steps.append(f"{frame.module}  ({display_path(frame.file, root)}:{frame.line}{inside})")
    if finding.chain:
        steps.append(finding.subject)
    return steps


def summary_line(report: Report) -> str:
    """``2 errors, 1 warning, 0 info in 3 processes``."""
    counts = report.counts()
    parts = [_plural(counts["error"], "error"), _plural(counts["warning"], "warning"),
             f"{counts['info']} info"]
    processes = len(report.processes)
    where = f" in {_plural(processes, 'process', 'processes')}" if processes else ""
    return ", ".join(parts) + where


def _plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def seen_line(report_item: ReportItem) -> str:
    """``seen 12 times in 3 processes (pid 1, 2, 3)``: import attempts (hits), and the
    processes that reported them."""
    pids = ", ".join(str(pid) for pid in report_item.pids if pid)
    times = _plural(report_item.hits, "time")
    processes = _plural(report_item.count, "process", "processes")
    return f"seen {times} in {processes}" + (f" (pid {pids})" if pids else "")

"""``importwall scan ENTRYPOINT...``: the static import-chain scan (:mod:`importwall.static.scan`)
with a progress bar for large trees."""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from importwall.cli.options import (
    fail_on_argument,
    load_cli_policy,
    output_arguments,
    path_argument,
    policy_argument,
    search_path,
    show_progress,
)
from importwall.cli.output import check_format, write_findings
from importwall.static.scan import Scanner

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

DESCRIPTION = ("Read the import graph from the serving entry points (module names or .py "
               "paths) through first-party code, function-level imports included, and report "
               "every chain that reaches a module the policy denies.")


_PROGRESS_THRESHOLD = 300
"""Show a progress bar only once a scan has found this many modules (and on a TTY)."""


_REFRESH_EVERY = 0.1
"""Seconds between redraws of the progress bar."""


class _ProgressBar:
    """A rich progress bar on stderr, created only once the tree turns out to be large.
    It is redrawn from the scan's own calls, not from a refresh thread: the scan's parsing
    workers are forked, which is safe only while no other thread runs."""

    def __init__(self) -> None:
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._drawn = 0.0

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None or self._task is None:
            if total < _PROGRESS_THRESHOLD:
                return
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(stderr=True), transient=True,
                                 auto_refresh=False)
            self._bar.start()
            self._task = self._bar.add_task("scanning imports", total=total)
        self._bar.update(self._task, completed=done, total=total)
        now = time.monotonic()
        if now - self._drawn >= _REFRESH_EVERY:
            self._drawn = now
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entrypoints", nargs="+", metavar="ENTRYPOINT",
                        help="where serving starts: a module name (myservice.app) or a .py "
                             "file (serve.py); repeatable")
    policy_argument(parser)
    parser.add_argument("--follow-third-party", action="store_true",
                        help="also follow imports through installed packages")
    path_argument(parser, "the entry points and the modules they import")
    parser.add_argument("--first-party", action="append", default=[], metavar="FOLDER",
                        help="folders whose modules are followed (default: the entry "
                             "points' folders)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="where to keep the parse cache (default: the user cache dir)")
    parser.add_argument("--no-cache", action="store_true", help="parse every file again")
    parser.add_argument("--no-progress", action="store_true", help="never show progress")
    parser.add_argument("--jobs", "-j", type=_jobs, metavar="N",
                        help="processes that parse a large tree's files side by side "
                             "(default: one per CPU, up to 8; 1: parse in this process)")
    output_arguments(parser)
    fail_on_argument(parser)


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes (1 or more), "
                                         f"got {value!r}")
    return jobs


def run(args: argparse.Namespace) -> int:
    from importwall.static.importsites import default_cache_dir

    policy = load_cli_policy(args.policy)
    check_format(args, policy)
    cache_dir = None if args.no_cache else (args.cache_dir or default_cache_dir())
    bar = _ProgressBar() if show_progress(args) else None
    scanner = Scanner(policy, search_path(args), args.first_party, args.follow_third_party,
                      cache_dir, bar, args.jobs)
    try:
        result = scanner.scan(args.entrypoints)
    finally:
        if bar is not None:
            bar.close()
    summary = (f"scanned {result.modules} module(s) from {', '.join(result.entrypoints)} "
               f"({result.parsed} parsed, {result.reused} from cache)")
    metadata = {"command": "scan", "entrypoints": result.entrypoints,
                "modules": result.modules, "parsed": result.parsed, "reused": result.reused}
    return write_findings(result.findings, args, policy, summary, metadata)

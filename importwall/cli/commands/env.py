"""``importwall env [--policy P] [--mode M] [--data-dir D] [--log SINKS] [--format F]``:
print the environment that activates the firewall, for launchers importwall does not start.

The variables are those ``importwall run`` gives its command
(:func:`importwall.runtime.propagate.activating_environment`): so
``eval "$(importwall env ...)"; python app.py`` behaves as
``importwall run ... -- python app.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex

from importwall import exitcodes
from importwall.cli.options import firewall_arguments, firewall_environ, load_cli_policy
from importwall.errors import UsageError
from importwall.runtime.propagate import activating_environment
from importwall.settings import ENV_DATA_DIR, ENV_LOG

DESCRIPTION = ("Print the environment variables that activate the firewall in every Python "
               "process started with them: for a shell (eval \"$(importwall env ...)\"), a "
               "Kubernetes manifest, a systemd unit, Ray's runtime_env or a supervisor. The "
               "policy's path is absolute and PYTHONPATH keeps its current entries after "
               "importwall's start-up folder.")
FORMATS = ("shell", "dotenv", "json")

_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]*")
"""Values written bare in a dotenv file; anything else is double-quoted."""


def configure(parser: argparse.ArgumentParser) -> None:
    firewall_arguments(parser, f"every process writes its findings into DIR "
                               f"(${ENV_DATA_DIR}, made absolute)")
    parser.add_argument("--log", metavar="SINKS",
                        help=f"also send each finding to SINKS (${ENV_LOG}): json, json:PATH, "
                             "otel, comma-separated")
    parser.add_argument("--format", "-f", choices=FORMATS, default="shell",
                        help="shell: export lines for eval (default); dotenv: KEY=VALUE lines "
                             "for docker --env-file, systemd EnvironmentFile= or a .env file; "
                             "json: one object, e.g. Ray's runtime_env env_vars")


def run(args: argparse.Namespace) -> int:
    policy = load_cli_policy(args.policy)
    environ = firewall_environ(args)
    if args.log:
        environ[ENV_LOG] = args.log
    values = activating_environment(policy, args.mode, environ)
    print(render(values, args.format), end="")
    return exitcodes.CLEAN


def render(values: dict[str, str], fmt: str) -> str:
    """``values`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return json.dumps(values, indent=2) + "\n"
    for name, value in values.items():
        if "\n" in value or "\0" in value:
            raise UsageError(f"importwall env: {name} would hold a line break or NUL "
                             f"({value!r}), which no environment file can carry; use a "
                             "path without one")
    if fmt == "shell":
        return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in values.items())
    return "".join(f"{name}={_dotenv_value(value)}\n" for name, value in values.items())


def _dotenv_value(value: str) -> str:
    """Bare when plain (what docker --env-file needs: it strips no quotes), else in double
    quotes with ``\\ " $ `` `` escaped, as systemd, docker compose, python-dotenv and a
    POSIX shell's ``set -a; . FILE`` all read them."""
    if _PLAIN.fullmatch(value):
        return value
    escaped = "".join("\\" + ch if ch in '\\"$`' else ch for ch in value)
    return f'"{escaped}"'

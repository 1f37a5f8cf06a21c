"""Start the firewall at interpreter start, from a ``.pth`` line or ``sitecustomize``.

Does nothing unless ``IMPORTWALL_POLICY`` is set, and runs at most once per process (a
folder can be on ``sys.path`` twice, and ``.pth`` and ``sitecustomize`` can both be
installed). Once active, it rewrites the ``IMPORTWALL_*`` variables to absolute values so
that every child process finds the same policy. Failures follow the mode: ``enforce``
fails closed, stopping the interpreter with one readable paragraph; ``warn`` and
``audit`` print one line and let the program run.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not imported at interpreter start
if TYPE_CHECKING:
    from importwall.policy import Policy

_started = False


def startup() -> None:
    """Activate the firewall from the environment, once."""
    global _started
    if _started or not os.environ.get("IMPORTWALL_POLICY"):
        return
    _started = True
    if is_importwall_cli():
        return  # the CLI is not the guarded program: it never records itself
    policy = None
    try:
        from importwall.policy.loader import load_policy
        from importwall.runtime.api import activate
        from importwall.runtime.propagate import export

        # What resolve_policy(None) does, without importing policy.discovery (the command
        # line's discovery rules): the variable is set, and names the policy.
        policy = load_policy(os.environ["IMPORTWALL_POLICY"], warn=False)
        for message in policy.warnings:  # one line each, with the policy's file and line
            sys.stderr.write(f"importwall: warning: {message}\n")
        export(activate(policy))
    except Exception as error:
        _fail(error, policy)


_CLI_NAMES = ("importwall", "importwall.exe", "importwall-script.py")


def is_importwall_cli() -> bool:
    """Whether this interpreter runs importwall's own command line: the ``importwall``
    console script, or ``python -m importwall``. Its children (``importwall run -- CMD``,
    ``audit``'s probes) are guarded as usual."""
    argv = getattr(sys, "orig_argv", None) or sys.argv  # orig_argv: 3.10+
    if sys.argv and os.path.basename(sys.argv[0]) in _CLI_NAMES:
        return True
    index = 1
    while index < len(argv):
        argument = argv[index]
        if argument == "-m":
            return index + 1 < len(argv) and argv[index + 1] == "importwall"
        if argument.startswith("-m"):
            return argument == "-mimportwall"
        if argument in ("-c", "-") or not argument.startswith("-"):
            return False  # a command, stdin or a script: not the CLI
        index += 2 if argument in ("-X", "-W") else 1  # options that take a value
    return False


def _requested_mode(policy: Policy | None) -> str:
    """The mode failures follow: ``IMPORTWALL_MODE``, else the policy's own when it could
    be loaded, else enforce (an unreadable policy cannot say it wanted less)."""
    mode = os.environ.get("IMPORTWALL_MODE", "")
    if mode:
        return mode if mode in ("warn", "audit") else "enforce"
    if policy is not None and policy.mode:
        return policy.mode
    return "enforce"


def _fix() -> str:
    """What to do: about the variable when IMPORTWALL_MODE is what is wrong, else about
    the policy."""
    mode = os.environ.get("IMPORTWALL_MODE", "")
    if mode and mode not in ("enforce", "warn", "audit"):
        return ("Set IMPORTWALL_MODE to enforce, warn or audit, or unset it to use the "
                "policy's own mode.")
    return ("Fix the policy (`importwall check POLICY` lists every problem), or set "
            "IMPORTWALL_MODE=warn to run without the firewall while you do.")


def _fail(error: BaseException, policy: Policy | None) -> None:
    from importwall import exitcodes
    from importwall.errors import EnvironmentRejectedError, ImportWallError

    if isinstance(error, EnvironmentRejectedError):
        # Only raised in enforce mode: the checks ran and said no.
        sys.stderr.write(f"importwall: refusing to start {sys.argv[0] or 'python'!r}.\n"
                         f"{error}\n")
        sys.stderr.flush()
        os._exit(exitcodes.FINDINGS)
    if isinstance(error, ImportWallError):
        detail = str(error)
    else:
        detail = f"{type(error).__name__}: {error}"
    path = os.environ.get("IMPORTWALL_POLICY", "")
    if _requested_mode(policy) == "enforce":
        sys.stderr.write(
            f"importwall: refusing to start {sys.argv[0] or 'python'!r}: the firewall could "
            f"not be activated from IMPORTWALL_POLICY={path!r} in enforce mode.\n"
            f"{detail}\n{_fix()}\n")
        sys.stderr.flush()
        # site.py swallows exceptions from .pth lines and sitecustomize; failing closed
        # needs an exit it cannot catch.
        os._exit(exitcodes.USAGE)
    sys.stderr.write(f"importwall: warning: firewall not active ({detail.splitlines()[0]})\n")

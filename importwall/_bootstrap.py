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

_started = False

EXIT_POLICY_ERROR = 2
EXIT_ENVIRONMENT_REJECTED = 1  # exitcodes.FINDINGS: the checks found errors


def startup() -> None:
    """Activate the firewall from the environment, once."""
    global _started
    if _started or not os.environ.get("IMPORTWALL_POLICY"):
        return
    _started = True
    try:
        from importwall._api import activate
        from importwall.propagate import export

        export(activate())
    except Exception as error:
        _fail(error)


def _requested_mode() -> str:
    mode = os.environ.get("IMPORTWALL_MODE", "")
    return mode if mode in ("warn", "audit") else "enforce"


def _fail(error: BaseException) -> None:
    from importwall.errors import EnvironmentRejectedError, ImportWallError

    if isinstance(error, EnvironmentRejectedError):
        # Only raised in enforce mode: the checks ran and said no.
        sys.stderr.write(f"importwall: refusing to start {sys.argv[0] or 'python'!r}.\n"
                         f"{error}\n")
        sys.stderr.flush()
        os._exit(EXIT_ENVIRONMENT_REJECTED)
    if isinstance(error, ImportWallError):
        detail = str(error)
    else:
        detail = f"{type(error).__name__}: {error}"
    policy = os.environ.get("IMPORTWALL_POLICY", "")
    if _requested_mode() == "enforce":
        sys.stderr.write(
            f"importwall: refusing to start {sys.argv[0] or 'python'!r}: the firewall could "
            f"not be activated from IMPORTWALL_POLICY={policy!r} in enforce mode.\n"
            f"{detail}\n"
            "Fix the policy (`importwall check POLICY` lists every problem), or set "
            "IMPORTWALL_MODE=warn to run without the firewall while you do.\n")
        sys.stderr.flush()
        # site.py swallows exceptions from .pth lines and sitecustomize; failing closed
        # needs an exit it cannot catch.
        os._exit(EXIT_POLICY_ERROR)
    sys.stderr.write(f"importwall: warning: firewall not active ({detail.splitlines()[0]})\n")

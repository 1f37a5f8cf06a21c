"""importwall: a runtime import firewall for machine-learning serving.

Keeps training-only code (data splitting, tuning, experiment tracking, plotting,
notebooks, warehouse clients) out of production serving processes, and names the
import chain that pulled it in.

    >>> import importwall
    >>> importwall.activate("serving-base", mode="enforce")   # doctest: +SKIP

PYTEST_DONT_REWRITE: pytest marks every package of a ``pytest11`` plugin's distribution for
assertion rewriting, and warns when one is already imported; under ``importwall run`` (or an
installed start-up hook) the firewall imported this package before pytest started. This
marker is pytest's own switch for that: this module, which asserts nothing, is not
rewritten and pytest does not warn, so a suite with ``filterwarnings = error`` runs as it
would without the firewall. The plugin module, imported by pytest, is rewritten as usual.
"""

from __future__ import annotations

from importwall._version import __version__
from importwall.errors import (
    ConfigurationError,
    EnvironmentRejectedError,
    ForbiddenImportError,
    ForbiddenImportRuntimeError,
    ImportWallError,
    ImportWallWarning,
    PolicyError,
    UnsafeModelError,
)
from importwall.findings import Finding, Frame
from importwall.policy import Policy, PolicyWarning, load_policy
from importwall.runtime.api import activate, active, deactivate
from importwall.runtime.finder import Firewall

TYPE_CHECKING = False  # typing is not imported at run time: this package is on the start-up path
if TYPE_CHECKING:
    from typing import Any

    from importwall.envcheck import check_environment


def __getattr__(name: str) -> Any:
    # check_environment is imported on first use: `import importwall` runs at interpreter
    # start and must stay standard-library only.
    if name == "check_environment":
        from importwall.envcheck import check_environment

        return check_environment
    raise AttributeError(f"module 'importwall' has no attribute {name!r}")


__all__ = [
    "ConfigurationError",
    "EnvironmentRejectedError",
    "Finding",
    "Firewall",
    "ForbiddenImportError",
    "ForbiddenImportRuntimeError",
    "Frame",
    "ImportWallError",
    "ImportWallWarning",
    "Policy",
    "PolicyError",
    "PolicyWarning",
    "UnsafeModelError",
    "__version__",
    "activate",
    "active",
    "check_environment",
    "deactivate",
    "load_policy",
]

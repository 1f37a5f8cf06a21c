"""importwall: a runtime import firewall for machine-learning serving.

Keeps training-only code (data splitting, tuning, experiment tracking, plotting,
notebooks, warehouse clients) out of production serving processes, and names the
import chain that pulled it in.

    >>> import importwall
    >>> importwall.activate("serving-base", mode="enforce")   # doctest: +SKIP
"""

from __future__ import annotations

from importwall._api import ConfigurationError, activate, active, deactivate
from importwall.errors import (
    ForbiddenImportError,
    ForbiddenImportRuntimeError,
    ImportWallError,
    ImportWallWarning,
    PolicyError,
)
from importwall.finder import Firewall
from importwall.findings import Finding, Frame
from importwall.policy import Policy, PolicyWarning, load_policy

__version__ = "0.1.0.dev0"

__all__ = [
    "ConfigurationError",
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
    "__version__",
    "activate",
    "active",
    "deactivate",
    "load_policy",
]

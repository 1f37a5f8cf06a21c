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

from sys import modules as _modules

# Every public name is imported the first time it is asked for (PEP 562): the start-up
# hook imports ``importwall._bootstrap``, which imports this package first, and a firewall
# that starts from the compiled-policy cache and denies nothing never needs the errors,
# the findings or the rest of what these names bring (benchmarks/README.md, "Active
# start-up, lazily (session 4)"). ``import importwall; importwall.activate(...)``, ``from importwall
# import Finding`` and ``dir(importwall)`` work as before. The functions here carry no
# annotations: ``typing.Any`` is not imported at run time.
_PUBLIC = {
    "__version__": "importwall._version",
    "ConfigurationError": "importwall.errors",
    "EnvironmentRejectedError": "importwall.errors",
    "ForbiddenImportError": "importwall.errors",
    "ForbiddenImportRuntimeError": "importwall.errors",
    "ImportWallError": "importwall.errors",
    "ImportWallWarning": "importwall.errors",
    "PolicyError": "importwall.errors",
    "UnsafeModelError": "importwall.errors",
    "Finding": "importwall.findings",
    "Frame": "importwall.findings",
    "Policy": "importwall.policy",
    "PolicyWarning": "importwall.policy",
    "load_policy": "importwall.policy",
    "activate": "importwall.runtime.api",
    "active": "importwall.runtime.api",
    "deactivate": "importwall.runtime.api",
    "Firewall": "importwall.runtime.finder",
    "check_environment": "importwall.envcheck",
}

TYPE_CHECKING = False  # typing is not imported at run time: this package is on the start-up path
if TYPE_CHECKING:
    from importwall._version import __version__ as __version__
    from importwall.envcheck import check_environment as check_environment
    from importwall.errors import (
        ConfigurationError as ConfigurationError,
    )
    from importwall.errors import (
        EnvironmentRejectedError as EnvironmentRejectedError,
    )
    from importwall.errors import (
        ForbiddenImportError as ForbiddenImportError,
    )
    from importwall.errors import (
        ForbiddenImportRuntimeError as ForbiddenImportRuntimeError,
    )
    from importwall.errors import ImportWallError as ImportWallError
    from importwall.errors import ImportWallWarning as ImportWallWarning
    from importwall.errors import PolicyError as PolicyError
    from importwall.errors import UnsafeModelError as UnsafeModelError
    from importwall.findings import Finding as Finding
    from importwall.findings import Frame as Frame
    from importwall.policy import Policy as Policy
    from importwall.policy import PolicyWarning as PolicyWarning
    from importwall.policy import load_policy as load_policy
    from importwall.runtime.api import activate as activate
    from importwall.runtime.api import active as active
    from importwall.runtime.api import deactivate as deactivate
    from importwall.runtime.finder import Firewall as Firewall


def __getattr__(name):  # type: ignore[no-untyped-def]
    """A public name, imported on first use and then kept in the package's namespace."""
    home = _PUBLIC.get(name)
    if home is None:
        raise AttributeError(f"module 'importwall' has no attribute {name!r}")
    # Already loaded (the start-up hook loads the runtime's): taken as it is, so that no
    # import statement is made for the firewall's guard to judge on the program's behalf.
    module = _modules.get(home) or __import__(home, fromlist=(name,))
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():  # type: ignore[no-untyped-def]
    return sorted(set(globals()) | set(_PUBLIC))


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

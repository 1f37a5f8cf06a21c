"""importwall's version and the ``IMPORTWALL_*`` environment variables, named once.

They are the contract between a launcher and every Python process it starts: the start-up
hook reads them, ``importwall run`` and ``audit`` write them, and children inherit them.

Standard library only: this module is on the start-up path.
"""

__version__ = "0.1.0.dev0"
"""The version, written once: the package build (``[tool.hatch.version]``) reads it here.
Here rather than in ``_version.py`` (which re-exports it) so that the start-up path, which
needs both for the compiled-policy cache's key, imports one module for them."""

ENV_POLICY = "IMPORTWALL_POLICY"
"""A policy file or shipped pack name; its presence activates the start-up hook."""
ENV_MODE = "IMPORTWALL_MODE"
"""``enforce``, ``warn`` or ``audit``: overrides the policy's own mode."""
ENV_DATA_DIR = "IMPORTWALL_DATA_DIR"
"""Where each process writes its record file."""
ENV_POLICY_CACHE = "IMPORTWALL_POLICY_CACHE"
"""Where compiled policies are cached (a folder), or ``off``; default: the user cache."""
ENV_LOG = "IMPORTWALL_LOG"
"""Where each finding is also written as it happens, for log pipelines and OpenTelemetry: a
comma-separated list of ``json`` (one JSON object a line on standard error), ``json:PATH``
(appended to PATH), ``otel`` (OTLP log records and a counter), or ``off``; it overrides the
policy's ``[report] log``."""
ENV_LOSS_SOCKET = "IMPORTWALL_LOSS_SOCKET"
"""Set by ``importwall run`` (audit mode) and ``importwall audit`` for the processes they
start: where a process that could not write its findings says so
(:mod:`importwall.runtime.losses`). Not for users to set."""

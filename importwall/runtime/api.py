"""``activate()`` and ``deactivate()``: put the firewall in front of every import.

Standard library only: this module is on the start-up path.
"""

from __future__ import annotations

import _thread
import os
import sys

from importwall.policy import MODES, Policy
from importwall.runtime.finder import Firewall, installed
from importwall.settings import ENV_DATA_DIR, ENV_LOG, ENV_MODE

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from importwall.runtime.finder import Sink

DEFAULT_MODE = "enforce"

_lock = _thread.allocate_lock()  # threading.Lock, without importing threading


def resolve_mode(explicit: str | None, policy: Policy | None,
                 environ: Mapping[str, str] | None = None) -> str:
    """The mode in force: the argument, else ``IMPORTWALL_MODE``, else the policy's
    ``mode``, else ``enforce``."""
    env = os.environ if environ is None else environ
    for value, origin in ((explicit, "mode argument"), (env.get(ENV_MODE), ENV_MODE)):
        if value:
            if value not in MODES:
                from importwall.errors import ConfigurationError  # only to raise it

                raise ConfigurationError(
                    f"importwall: {origin} is {value!r}; use one of {', '.join(MODES)}")
            return value
    if policy is not None and policy.mode:
        return policy.mode
    return DEFAULT_MODE


def resolve_data_dir(policy: Policy | None,
                     environ: os._Environ[str] | dict[str, str] | None = None) -> str | None:
    """Where record files go: ``IMPORTWALL_DATA_DIR``, else the policy's ``[report]
    data_dir`` (relative to the policy file that sets it), else nowhere."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_DATA_DIR)
    if explicit:
        return os.path.abspath(explicit)
    if policy is None:
        return None
    configured = policy.section("report").get("data_dir")  # a ``path``: already absolute
    return str(configured) if configured else None


def activate(policy: str | os.PathLike[str] | Policy | None = None, mode: str | None = None,
             *, sinks: Sequence[Sink] = ()) -> Firewall:
    """Start the firewall in this process and return it.

    ``policy`` is a path, a shipped pack name, a loaded :class:`Policy`, or ``None`` for
    ``$IMPORTWALL_POLICY``. ``mode`` overrides ``$IMPORTWALL_MODE`` and the policy's own.
    Calling it again replaces the active firewall. Modules the policy denies that are
    already imported are recorded (``preloaded``): it is too late to block them. A policy
    with ``strict = true`` also installs an audit hook (:mod:`importwall.runtime.strict`) that
    keeps enforcing its rules, in its mode, for the rest of the process: replacing the
    firewall (a weaker policy, another mode) or :func:`deactivate` never weakens it, and a
    later strict activation only adds its own rules.

    When the policy sets ``check_at_startup = true`` the environment checks run first
    (:func:`importwall.check_environment`); in ``enforce`` mode an error-severity finding
    raises :class:`~importwall.errors.EnvironmentRejectedError` and nothing is activated.
    """
    if isinstance(policy, Policy):
        loaded = policy  # the start-up hook's: policy.discovery is not on the start-up path
    else:
        from importwall.policy.discovery import resolve_policy

        loaded = resolve_policy(policy)
    firewall = Firewall(loaded, resolve_mode(mode, loaded), sinks=sinks)
    data_dir = resolve_data_dir(loaded)
    if data_dir:
        # Before the gate, so that the environment findings are recorded too. Imported only
        # for a process that writes records.
        from importwall.runtime.records import RecordWriter

        writer = RecordWriter(data_dir, {"policy": loaded.path, "mode": firewall.mode},
                              on_error=firewall.record)
        firewall.add_sink(writer)
        writer.announce()  # a process that finds nothing is still seen to have run
    if os.environ.get(ENV_LOG) or loaded.section("report").get("log"):
        # Imported only when asked for (IMPORTWALL_LOG, [report] log), before the gate too.
        from importwall.runtime.logsink import add_log_sinks

        add_log_sinks(firewall)
    if loaded.check_at_startup:
        # Imported only here: without check_at_startup the start-up path stays stdlib-only.
        # Run before the firewall is installed, so the checks' own lazy imports are not
        # judged by the policy they enforce.
        from importwall.envcheck.startup import gate

        gate(firewall)
    with _lock:
        _remove_installed()
        sys.meta_path.insert(0, firewall)
    firewall.survey_loaded(dict(sys.modules))
    if loaded.strict:
        from importwall.runtime.strict import protect

        protect(firewall)
    return firewall


def deactivate() -> Firewall | None:
    """Stop the firewall in this process; return it (with its findings), or ``None``.

    Under strict mode the finder is removed, but the audit hook keeps deciding with the
    rules of every strict activation, and a strict firewall's import guard (imports of
    denied modules already loaded) stays in place: a strict process stays strict."""
    with _lock:
        return _remove_installed()


def active() -> Firewall | None:
    """The firewall active in this process, if any."""
    return installed()


def _remove_installed() -> Firewall | None:
    current = installed()
    while True:
        firewall = installed()
        if firewall is None:
            return current
        sys.meta_path.remove(firewall)
        if not firewall.policy.strict:
            firewall.guard.uninstall()

"""pytest plugin: fail the tests that pull training code into serving.

Inert unless asked: with no ``--importwall``, no ``importwall_policy`` ini setting and no
``importwall`` marker on a test, it only registers its options and marker. When asked, a
firewall guards each test module while it is imported (collection) and each test while its
fixtures are set up and while it runs; imports made by pytest itself and by installed
plugins never count. In ``enforce`` mode (the default) a test that imported a forbidden
module fails with the rule and the import chain; in ``warn`` and ``audit`` modes the
findings are only listed in the terminal summary and the ``--importwall-report`` file.

Where the settings come from, strongest first (see ``docs/pytest.md``):

* policy: the test's ``@pytest.mark.importwall(policy=...)``, then ``--importwall=POLICY``,
  then the ``importwall_policy`` ini setting, then ``$IMPORTWALL_POLICY`` (bare
  ``--importwall`` only);
* mode: the marker's ``mode=``, then ``--importwall-mode``, then ``importwall_mode``, then
  the policy's own ``mode``, then ``enforce``;
* a marker's ``allow=[...]``/``deny=[...]`` add rules for that test, above every rule of
  the policy files (the closest marker wins a tie).

With pytest-xdist, each worker keeps its findings in ``workeroutput`` and the controller
merges them when the worker goes down, before the summary and the report are written.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest

from importwall.policy import MODES as _MODES

if TYPE_CHECKING:
    from importwall.findings import Finding
    from importwall.policy import Policy
    from importwall.runtime.finder import Firewall
    from importwall.runtime.matcher import Matcher
    from importwall.testing import CleanResult

MARKER = "importwall"
_BARE = "\0bare"  # --importwall given without a value
_WORKER_KEY = "importwall_findings"

# Imports made by these never count: they are the test runner, not the code under test.
_RUNNER_PACKAGES = ("_pytest", "pytest", "pluggy", "xdist", "execnet", "iniconfig",
                    "importwall")
# pytest's import helpers act for the test that calls them (pytest.importorskip, monkeypatch's
# "pkg.module.attr" targets): their frames are skipped, so the import is charged to the test.
# Exempting them with the rest of pytest would let importorskip turn a blocked import into a
# skip, and let a test import any denied module through monkeypatch.
_IMPORT_HELPERS = ("_pytest.outcomes", "_pytest.monkeypatch")
# The module-level frames that start every chain in a test process: the pytest script,
# ``python -m pytest``, and the code pytest-xdist runs in its workers.
_ENTRY_MODULES = ("__main__", "__channelexec__")


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("importwall", "import firewall for serving code")
    group.addoption(
        "--importwall", action="store", nargs="?", const=_BARE, default=None,
        metavar="POLICY", dest="importwall",
        help="fail tests that import modules POLICY forbids (a policy file or shipped pack; "
             "without a value: the importwall_policy ini setting or $IMPORTWALL_POLICY). "
             "Write --importwall=POLICY so the value is not taken for a test path.")
    group.addoption(
        "--importwall-mode", action="store", choices=_MODES, default=None,
        dest="importwall_mode",
        help="enforce (fail the test, default), warn or audit (only report)")
    group.addoption(
        "--importwall-report", action="store", default=None, metavar="PATH",
        dest="importwall_report",
        help="write the findings to PATH as an importwall report (JSON unless "
             "--importwall-report-format says otherwise)")
    from importwall.report.writer import FORMATS

    group.addoption(
        "--importwall-report-format", action="store", default="json", metavar="FORMAT",
        dest="importwall_report_format",
        help=f"format of the --importwall-report file: {', '.join(FORMATS)} (default: json)")
    parser.addini("importwall_policy", "policy file or shipped pack that guards every test "
                  "(relative to the ini file)", default=None)
    parser.addini("importwall_mode", "importwall mode for tests: enforce, warn or audit",
                  default=None)


# --------------------------------------------------------------------------- state


class _LoadedDenied:
    """The loaded modules a guard's policy denies, brought up to date as ``sys.modules``
    grows: deciding every loaded module again for every test phase (thousands of them
    once scikit-learn is imported) was most of what the plugin cost a test."""

    __slots__ = ("_checked", "_denied", "_last", "_loaded")

    def __init__(self) -> None:
        self._checked: set[str] = set()
        self._denied: list[str] = []
        self._last: tuple[int, str | None] = (-1, None)
        self._loaded: list[str] = []

    def now(self, matcher: Matcher) -> list[str]:
        modules = sys.modules
        # A module imported since the last call is the dict's last key (insertion order):
        # with the same size and the same last key, nothing was added, so the answer holds.
        last = (len(modules), next(reversed(modules), None))
        if last == self._last:
            return self._loaded
        new = modules.keys() - self._checked
        for name in new:
            decision = matcher.decide(name)
            if decision is not None and decision.denied:
                self._denied.append(name)
        self._checked |= new
        self._last = last
        self._loaded = [name for name in self._denied if name in modules]
        return self._loaded


@dataclasses.dataclass(frozen=True)
class _Guard:
    """The effective policy of a test: rules, mode and the compiled matcher."""

    policy: Policy
    mode: str
    matcher: Matcher
    loaded: _LoadedDenied = dataclasses.field(default_factory=_LoadedDenied, compare=False)


@dataclasses.dataclass
class _State:
    """Everything the plugin keeps for a session, in ``config.stash``."""

    config: pytest.Config
    base_policy: Policy | None
    mode: str | None
    report_path: str | None
    report_format: str = "json"
    report_error: str | None = None
    findings: list[Finding] = dataclasses.field(default_factory=list)
    guards: dict[tuple[Any, ...], _Guard] = dataclasses.field(default_factory=dict)
    policies: dict[str, Policy] = dataclasses.field(default_factory=dict)
    runner_modules: tuple[str, ...] = ()

    def keep(self, findings: Sequence[Finding]) -> None:
        self.findings.extend(findings)
        workeroutput = getattr(self.config, "workeroutput", None)
        if isinstance(workeroutput, dict):
            workeroutput.setdefault(_WORKER_KEY, []).extend(f.to_dict() for f in findings)


_STATE = pytest.StashKey[_State]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(policy=None, *, allow=(), deny=(), mode=None): guard this test with an "
        "importwall policy; policy= replaces the session policy, allow=/deny= add module "
        "rules for this test only, mode= overrides the session mode.")
    reference = _policy_setting(config)
    mode = config.getoption("importwall_mode") or _ini(config, "importwall_mode")
    if mode is not None and mode not in _MODES:
        raise pytest.UsageError(f"importwall_mode = {mode!r}; use one of {', '.join(_MODES)}")
    report = config.getoption("importwall_report")
    report_format = config.getoption("importwall_report_format")
    if report is not None:
        _check_format(report_format)
    base = _load(reference, option=True) if reference else None
    config.stash[_STATE] = _State(config, base, mode, report, report_format,
                                  runner_modules=_runner_modules(config))


def _check_format(name: str) -> None:
    from importwall.errors import ReportFormatError
    from importwall.report.writer import reporter

    try:
        reporter(name)
    except ReportFormatError as error:
        raise pytest.UsageError(str(error)) from None


def _ini(config: pytest.Config, name: str) -> str | None:
    """An ini setting, ``None`` when unset or blank."""
    value = config.getini(name)
    text = str(value).strip() if value else ""
    return text or None


def _policy_setting(config: pytest.Config) -> str | None:
    """The session policy reference, made absolute where it is a path."""
    option = config.getoption("importwall")
    if option is not None and option != _BARE:
        return _absolute(option, str(config.invocation_params.dir))
    ini = _ini(config, "importwall_policy")
    if ini is not None:
        base = str(config.inipath.parent) if config.inipath else str(config.rootpath)
        return _absolute(ini, base)
    if option == _BARE:
        from importwall.settings import ENV_POLICY

        env = os.environ.get(ENV_POLICY)
        if not env:
            raise pytest.UsageError(
                "--importwall needs a policy: write --importwall=POLICY, set importwall_policy "
                f"in the ini file, or set {ENV_POLICY}")
        return env
    return None


def _absolute(reference: str, base: str) -> str:
    """Paths are taken relative to ``base``; a bare name may be a shipped pack."""
    candidate = os.path.join(base, os.path.expanduser(reference))
    return candidate if os.path.exists(candidate) else reference


def _load(reference: str, *, option: bool) -> Policy:
    from importwall.errors import PolicyError
    from importwall.policy import load_policy

    try:
        return load_policy(reference)
    except PolicyError as error:
        hint = ""
        if option and (reference.endswith(".py") or os.path.isdir(reference)):
            hint = ("\n(--importwall took a test path as its policy: write "
                    "--importwall=POLICY)")
        raise pytest.UsageError(f"importwall: {error}{hint}") from None


def _runner_modules(config: pytest.Config) -> tuple[str, ...]:
    """Module names whose own imports never count: pytest, pluggy and installed plugins.
    conftest files are the project's test code, so their imports do count."""
    names = set(_RUNNER_PACKAGES)
    for plugin in config.pluginmanager.get_plugins():
        name = getattr(plugin, "__name__", None)
        path = getattr(plugin, "__file__", None) or ""
        if isinstance(name, str) and os.path.basename(path) != "conftest.py":
            names.add(name)
    return tuple(sorted(names))


# --------------------------------------------------------------------------- guards


def _guard(state: _State, node: pytest.Item | pytest.Collector) -> _Guard | None:
    """The guard for ``node`` from its markers and the session settings, or ``None`` when
    nothing asks for one."""
    markers = list(node.iter_markers(MARKER))
    if state.base_policy is None and not markers:
        return None
    requests = [_MarkerRequest.parse(marker, node) for marker in markers]
    policy_ref = next((r.policy for r in requests if r.policy), None)
    mode = next((r.mode for r in requests if r.mode), None)
    key = (policy_ref, mode, tuple((r.allow, r.deny) for r in requests))
    guard = state.guards.get(key)
    if guard is None:
        guard = _build_guard(state, policy_ref, mode, requests)
        state.guards[key] = guard
    return guard


def _build_guard(state: _State, policy_ref: str | None, mode: str | None,
                 requests: Sequence[_MarkerRequest]) -> _Guard:
    from importwall.errors import ConfigurationError
    from importwall.policy import ImportException, Policy, Rule
    from importwall.runtime.api import resolve_mode
    from importwall.runtime.matcher import Matcher

    if policy_ref is not None:
        base = state.policies.get(policy_ref)
        if base is None:
            base = state.policies[policy_ref] = _load(policy_ref, option=False)
    else:
        base = state.base_policy or Policy(path="<importwall marker>", files=())
    top = len(base.files)
    allow: list[Rule] = []
    deny: list[Rule] = []
    # iter_markers yields the closest marker first: it gets the highest precedence.
    for distance, request in enumerate(requests):
        precedence = top + len(requests) - distance
        source = f"@pytest.mark.{MARKER} on {request.where}"
        allow += [Rule(p, "allowed by a test marker", "error", source, precedence)
                  for p in request.allow]
        deny += [Rule(p, "denied by a test marker", "error", source, precedence)
                 for p in request.deny]
    # The runner's own imports never count, and neither do imports OF the runner: pytest
    # and its plugins are loaded in every test process, whatever a serving policy says.
    exempt = [ImportException("*", name, "the test runner's own imports", "pytest")
              for name in state.runner_modules]
    exempt += [ImportException(name, "*", "the test runner is always loaded", "pytest")
               for name in state.runner_modules]
    imports = dataclasses.replace(
        base.imports, allow=(*base.imports.allow, *allow), deny=(*base.imports.deny, *deny),
        exceptions=(*base.imports.exceptions, *exempt))
    derived = dataclasses.replace(base, imports=imports)
    try:
        resolved = resolve_mode(mode or state.mode, base, environ={})
    except ConfigurationError as error:
        raise pytest.UsageError(str(error)) from None
    return _Guard(derived, resolved, Matcher.from_policy(derived))


@dataclasses.dataclass(frozen=True)
class _MarkerRequest:
    """One ``@pytest.mark.importwall(...)``, validated."""

    where: str
    policy: str | None = None
    mode: str | None = None
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    @classmethod
    def parse(cls, marker: pytest.Mark, node: pytest.Item | pytest.Collector) -> _MarkerRequest:
        where = node.nodeid or str(node.path)
        kwargs = dict(marker.kwargs)
        if marker.args:
            if len(marker.args) > 1 or "policy" in kwargs:
                _marker_error(where, "takes one positional argument, the policy")
            kwargs["policy"] = marker.args[0]
        unknown = sorted(set(kwargs) - {"policy", "mode", "allow", "deny"})
        if unknown:
            _marker_error(where, f"unknown argument(s) {', '.join(unknown)}; "
                          "use policy=, mode=, allow=, deny=")
        policy = kwargs.get("policy")
        if policy is not None:
            if not isinstance(policy, str | os.PathLike):
                _marker_error(where, "policy= must be a path or a shipped pack name")
            policy = _absolute(os.fspath(policy), str(node.path.parent))
        mode = kwargs.get("mode")
        if mode is not None and mode not in _MODES:
            _marker_error(where, f"mode={mode!r}; use one of {', '.join(_MODES)}")
        return cls(where, policy, mode, _patterns(kwargs.get("allow"), "allow", where),
                   _patterns(kwargs.get("deny"), "deny", where))


def _patterns(value: object, name: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    _marker_error(where, f"{name}= must be a module pattern or a list of them")
    return ()


def _marker_error(where: str, problem: str) -> None:
    raise pytest.UsageError(f"@pytest.mark.{MARKER} on {where}: {problem}")


@contextmanager
def _firewall(guard: _Guard, mode: str) -> Iterator[Firewall]:
    """A firewall first on ``sys.meta_path`` for the duration; removed by identity, so a
    firewall that was already there (``importwall run -- pytest``) is left as it was.

    A module an earlier test (or a plugin) imported is in ``sys.modules`` and never reaches
    a finder again, so the firewall's import guard watches the loaded modules this test's
    policy denies: an ``import`` statement naming one is still charged to the test.
    """
    from importwall.runtime.finder import Firewall

    firewall = Firewall(guard.policy, mode, matcher=guard.matcher, helpers=_IMPORT_HELPERS)
    for name in guard.loaded.now(guard.matcher):
        firewall.guard.watch(name)
    sys.meta_path.insert(0, firewall)
    try:
        yield firewall
    finally:
        firewall.guard.uninstall()
        if firewall in sys.meta_path:
            sys.meta_path.remove(firewall)


def _attributed(state: _State, findings: Sequence[Finding], nodeid: str,
                phase: str) -> list[Finding]:
    """Findings labelled with the test, their chains trimmed of the runner's frames."""
    out = []
    for finding in findings:
        chain = list(finding.chain)
        while chain and (chain[0].module in _ENTRY_MODULES or _is_runner(state, chain[0].module)):
            chain.pop(0)
        # The test goes into the message too: every report format shows it, and the same
        # import site reached from two tests stays two findings in the report.
        out.append(dataclasses.replace(
            finding, chain=tuple(chain), message=f"{finding.message} (in {phase} of {nodeid})",
            details={**finding.details, "test": nodeid, "phase": phase}))
    return out


def _is_runner(state: _State, module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in state.runner_modules)


def _failure(guard: _Guard, findings: Sequence[Finding], what: str) -> str:
    from importwall.testing import describe_all

    return (f"importwall: {what} imported {len(findings)} module(s) that policy "
            f"{guard.policy.path} forbids ({guard.mode} mode)\n{describe_all(findings)}")


# --------------------------------------------------------------------------- hooks


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Guard a test module while it is imported. The firewall only records here (the
    module's own ``pytestmark`` is not known before it is imported); afterwards the
    findings its markers still forbid are charged to the module."""
    state = collector.config.stash.get(_STATE, None)
    if state is None or state.base_policy is None or not isinstance(collector, pytest.Module):
        return (yield)
    session_guard = _guard(state, collector)
    assert session_guard is not None
    with _firewall(session_guard, "audit") as firewall:
        report = yield
    if not firewall.findings:
        return report
    guard = _guard(state, collector) or session_guard
    still = [f for f in firewall.findings if _still_denied(guard, f)]
    findings = _attributed(state, still, collector.nodeid, "collect")
    state.keep(findings)
    if findings and guard.mode == "enforce" and report.outcome != "failed":
        report.outcome = "failed"
        report.longrepr = _failure(guard, findings, f"test module {collector.nodeid}")
    return report


def _still_denied(guard: _Guard, finding: Finding) -> bool:
    decision = guard.matcher.decide(finding.subject)
    return (decision is not None and decision.denied
            and guard.matcher.exception_for(finding.subject, finding.importer) is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _guarded(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _guarded(item, "call"))


def _guarded(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    state = item.config.stash.get(_STATE, None)
    guard = _guard(state, item) if state is not None else None
    if state is None or guard is None:
        return (yield)
    raised: BaseException | None = None
    with _firewall(guard, guard.mode) as firewall:
        try:
            yield
        except BaseException as error:  # re-raised below unless the test fails
            raised = error
    findings = _attributed(state, firewall.findings, item.nodeid, phase)
    state.keep(findings)
    # A blocked import fails the test even when the code (or pytest.importorskip) caught
    # the ModuleNotFoundError: serving would have taken that fallback silently.
    if findings and guard.mode == "enforce" and not isinstance(raised, KeyboardInterrupt):
        pytest.fail(_failure(guard, findings, f"test {item.nodeid}") + _also(raised),
                    pytrace=False)
    if raised is not None:
        raise raised


def _also(raised: BaseException | None) -> str:
    from importwall.errors import ForbiddenImportError, ForbiddenImportRuntimeError

    if isinstance(raised, pytest.skip.Exception):
        # pytest.importorskip turns the firewall's ModuleNotFoundError into a skip.
        return "\n(the blocked import would otherwise have skipped the test)"
    cause = raised
    while cause is not None:
        if isinstance(cause, ForbiddenImportError | ForbiddenImportRuntimeError):
            return ""  # the block itself (perhaps wrapped, as monkeypatch does): shown above
        cause = cause.__cause__
    return "" if raised is None else f"\n(the test then raised {type(raised).__name__}: {raised})"


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take over a finished worker's findings."""
    from importwall.findings import Finding

    state = node.config.stash.get(_STATE, None)
    output = getattr(node, "workeroutput", None) or {}
    if state is not None:
        state.findings.extend(Finding.from_dict(d) for d in output.get(_WORKER_KEY, ()))


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(_STATE, None)
    if state is None or state.report_path is None or hasattr(session.config, "workerinput"):
        return
    state.report_error = _write_report(state)
    if state.report_error is not None and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or hasattr(config, "workerinput"):
        return
    if not state.findings and state.base_policy is None:
        return
    write: Callable[[str], None] = terminalreporter.write_line
    terminalreporter.section("importwall")
    for finding in sorted(state.findings, key=_order):
        test = finding.details.get("test", "?")
        write(f"{finding.severity.upper()} {test}: {finding.action} {finding.subject!r} "
              f"by rule {finding.rule} ({finding.source})")
        modules = [frame.module for frame in finding.chain]
        if modules:
            write(f"    chain: {' -> '.join([*modules, finding.subject])}")
    write(f"{len(state.findings)} forbidden import(s)" if state.findings
          else "no forbidden imports")
    if state.report_error:
        terminalreporter.write_line(state.report_error, red=True)
    elif state.report_path:
        write(f"importwall report written to {state.report_path}")


def _order(finding: Finding) -> tuple[str, str, str]:
    return (str(finding.details.get("test", "")), finding.subject, finding.rule or "")


def _write_report(state: _State) -> str | None:
    """Write the session's findings as a standard importwall report (any report format);
    the problem when it cannot be written."""
    import time

    from importwall.errors import ReportFormatError
    from importwall.report import Report
    from importwall.report.model import rule_labels
    from importwall.report.writer import write_report

    assert state.report_path is not None
    base = state.base_policy
    report = Report.build(
        state.findings, policy=base.path if base is not None else None,
        rules=rule_labels(base) if base is not None else (), generated=time.time(),
        metadata={"runner": "pytest", "pytest": pytest.__version__})
    try:
        write_report(report, state.report_format, state.report_path)
    except ReportFormatError as error:
        return str(error)
    return None


# --------------------------------------------------------------------------- fixture


@pytest.fixture
def importwall_assert_clean(pytestconfig: pytest.Config) -> Callable[..., CleanResult]:
    """:func:`importwall.testing.assert_clean` with the session's policy and the ini
    ``pythonpath`` folders as defaults."""
    from importwall.testing import assert_clean

    state = pytestconfig.stash.get(_STATE, None)
    default_policy = state.base_policy if state is not None else None
    default_path = [str(p) for p in pytestconfig.getini("pythonpath")]

    def check(target: str, policy: Any = None, **kwargs: Any) -> CleanResult:
        kwargs.setdefault("pythonpath", default_path)
        return assert_clean(target, policy if policy is not None else default_policy,
                            **kwargs)

    return check

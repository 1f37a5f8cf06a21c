"""The firewall: a ``sys.meta_path`` finder that applies a policy to every import.

It sits first on ``sys.meta_path`` and never finds anything itself: for an allowed name
it returns ``None`` at once (one cached dict lookup), letting the real finders work. For a
denied name it works out who imported it, records a finding, and then, by mode:

* ``enforce`` raises :class:`~importwall.errors.ForbiddenImportError`;
* ``warn`` emits an :class:`~importwall.errors.ImportWallWarning` pointing at the import
  line, and the import proceeds;
* ``audit`` only records.

The finder keeps its own references to what it calls (a program under test may patch
``warnings`` or ``threading``) and never recurses into itself: an import triggered while
it is handling one (by a warning filter, a sink) passes straight through.

Standard library only: this module is on the start-up path.
"""

# Only what is built in or already loaded at interpreter start: ``threading``, ``warnings``
# and ``importlib.machinery`` are Python modules on top of ``_thread``, ``_warnings`` and
# ``_frozen_importlib_external`` (the same functions), and cost every process their import.
import _frozen_importlib_external
import _thread
import _warnings
import _weakref
import os
import sys

from importwall._lean import replace, suppress
from importwall.policy import MODES, Policy
from importwall.runtime.matcher import Decision, Matcher

TYPE_CHECKING = False  # typing is not imported at run time: this module is on the start-up path
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence
    from importlib.machinery import ModuleSpec
    from types import CodeType, FrameType, ModuleType
    from typing import Any

    # Bound at run time by _load_judging(), on the first denied import: see there.
    from importwall.errors import (
        ForbiddenImportError,
        ForbiddenImportRuntimeError,
        ImportWallWarning,
    )
    from importwall.findings import (
        ACTION_ABSENT,
        ACTION_BLOCKED,
        ACTION_PRELOADED,
        ACTION_WARNED,
        KIND_IMPORT,
        KIND_INTERNAL,
        Finding,
    )
    from importwall.runtime import chain as _chain
    from importwall.runtime._importlib_bootstrap_guard import ImportGuard

    Sink = Callable[[Finding], None]

    _ACTIONS: "dict[str, str]" = {}  # mode -> action
    _CODES: "dict[str, str]" = {}  # action -> finding code
    _GUARD_CODES: "tuple[CodeType, CodeType]"  # the guard's two ways in
    _monotonic: "Callable[[], float]"
else:
    _chain = None  # not loaded yet: _load_judging()
    _GUARD_CODES = ()
    _monotonic = None

_loading = _thread._local()  # this thread is loading what judging needs: _load_judging()


def _load_judging() -> bool:
    """Import what judging a denied import needs (the errors, the findings, the chain
    walk, the import guard) and bind their names here, once per process; ``False`` while
    this thread is already doing it.

    Only a denied import needs them: a firewall that denies nothing never loads them, and
    an interpreter start with an active firewall imports four modules fewer
    (benchmarks/README.md, "Active start-up, lazily (session 4)"). The imports made here pass
    straight through every firewall (:meth:`Firewall._judge_once` lets an import through
    while this thread loads): under ``deny = ["*"]`` importwall's own modules are denied
    too, and judging them would need them.
    """
    if getattr(_loading, "active", False):
        return False
    _loading.active = True
    try:
        import time

        from importwall import errors, findings
        from importwall.runtime import chain
        from importwall.runtime._importlib_bootstrap_guard import ImportGuard

        actions = {"enforce": findings.ACTION_BLOCKED, "warn": findings.ACTION_WARNED,
                   "audit": findings.ACTION_RECORDED}
        codes = {
            findings.ACTION_BLOCKED: "import-blocked",
            findings.ACTION_WARNED: "import-warned",
            findings.ACTION_RECORDED: "import-recorded",
            findings.ACTION_PRELOADED: "import-preloaded",
            findings.ACTION_ABSENT: "import-absent",
        }
        globals().update(
            ForbiddenImportError=errors.ForbiddenImportError,
            ForbiddenImportRuntimeError=errors.ForbiddenImportRuntimeError,
            ImportWallWarning=errors.ImportWallWarning,
            ACTION_ABSENT=findings.ACTION_ABSENT, ACTION_BLOCKED=findings.ACTION_BLOCKED,
            ACTION_PRELOADED=findings.ACTION_PRELOADED, ACTION_WARNED=findings.ACTION_WARNED,
            KIND_IMPORT=findings.KIND_IMPORT, KIND_INTERNAL=findings.KIND_INTERNAL,
            Finding=findings.Finding, ImportGuard=ImportGuard, _ACTIONS=actions,
            _CODES=codes,
            _GUARD_CODES=(ImportGuard._import.__code__, ImportGuard._gcd_import.__code__),
            _monotonic=time.monotonic,
            _chain=chain)  # last: _chain set means everything above is
    finally:
        _loading.active = False
    return True


_warn_explicit = _warnings.warn_explicit  # warnings.warn_explicit
_getframe = sys._getframe
_get_ident = _thread.get_ident
FLUSH_EVERY = 1.0
"""Seconds between two hand-overs of the hit counts to the sinks (and at exit)."""
_READ_FILE = _frozen_importlib_external.SourceFileLoader.get_data.__code__  # FileLoader's
# importlib.util is frozen on 3.11+ and a plain file on 3.10.
_UTIL_SUFFIXES = ("<frozen importlib.util>", os.path.join("importlib", "util.py"))
_RUNPY_SUFFIXES = ("<frozen runpy>", os.sep + "runpy.py")
_MACHINERY_MODULES = ("importlib", "importwall", "_frozen_importlib")


class Firewall:
    """Applies one policy's import rules in one process.

    Findings are kept in :attr:`findings` (in order) and handed to every sink.
    """

    def __init__(self, policy: "Policy", mode: str, matcher: "Matcher | None" = None,
                 sinks: "Sequence[Sink]" = (), helpers: "Collection[str]" = ()) -> None:
        """``helpers``: modules whose frames are skipped when finding the importer (see
        :func:`importwall.runtime.chain.locate`)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        self.policy = policy
        self.mode = mode
        self.matcher = matcher if matcher is not None else Matcher.from_policy(policy)
        self.findings: list[Finding] = []
        self._helpers = frozenset(helpers)
        self._sinks = list(sinks)
        self._lock = _thread.allocate_lock()  # threading.Lock
        self._busy = _thread._local()  # threading.local
        self._seen: set[tuple[str, str, int]] = set()
        self._let_through: set[str] = set()
        self._present: set[str] = set()
        # warn/audit: the statements judged, (module, id(code), instruction) -> (code,
        # finding key): the code is kept, so its id stays.
        self._seen_at: dict[tuple[str, int, int], tuple[CodeType, tuple[str, str, int]]] = {}
        # Hits: import attempts judged, per finding key (module, site file, line); the
        # finding recorded for each key, what the sinks were last told.
        self._hits: dict[tuple[str, str, int], int] = {}
        self._hit_findings: dict[tuple[str, str, int], Finding] = {}
        self._hits_told: dict[tuple[str, str, int], int] = {}
        self._hit_sinks: list[Any] = []
        self._tell_at = 0.0
        # The marks of the statement runs counted (see _hit_entering): (thread, where, keys).
        self._run: tuple[int, tuple[int, int], set[tuple[str, str, int]]] | None = None
        self._unguarded: tuple[int, tuple[int, int], set[tuple[str, str, int]]] | None = None
        self._quiet: set[str] = set()
        self._guard: ImportGuard | None = None  # made when first needed: see guard
        self._runtime_error = policy.imports.blocked_error == "runtime"

    def __repr__(self) -> str:
        return f"<importwall.Firewall mode={self.mode} policy={self.policy.path!r}>"

    # -- hits

    # In warn and audit one run of an import statement can be judged more than once: by
    # the finder on the way in (for a package and its submodule, `import a.b.c`), then by
    # the guard as it returns (once for each name of a from-list). A run counts one hit a
    # finding. The finder marks what it counted, with its thread: ``_run``, keyed by the
    # frame that called the guard (it judges this run again when it returns, and uses the
    # mark up), or ``_unguarded``, keyed by the site's frame (no guard wraps the
    # statement: it was installed by this very judgement). The guard's side keeps the
    # rest of one run in the list it hands over (``counted``). Keys are ids and
    # instruction offsets: no frame is kept alive, and a repeated hit reads one attribute.

    def _hit_entering(self, key: "tuple[str, str, int]", site: "FrameType | None") -> None:
        """The finder lets ``key``'s import go on: count it unless this run of the
        statement is counted already."""
        if site is None:
            self._hit(key)
            return
        slot, token = _statement(site)
        thread = _get_ident()
        mark = getattr(self, slot)
        if mark is not None and mark[0] == thread and mark[1] == token:
            if key in mark[2]:
                return  # this run of the statement is counted already
            mark[2].add(key)
        else:
            setattr(self, slot, (thread, token, {key}))
        self._hit(key)

    def _hit_returned(self, key: "tuple[str, str, int]", caller: "FrameType | None",
                      counted: "list[Any] | None") -> None:
        """The guard judges a statement that returned: count ``key`` unless the finder
        counted this run on the way in, or the guard did for another name of it."""
        run = self._run
        if run is not None and run[0] == _get_ident():
            self._run = None  # used up, or left by a run the guard did not see end
            if caller is not None and run[1] == (id(caller), caller.f_lasti):
                if counted is not None:
                    counted.extend(run[2])
                if key in run[2]:
                    return
        if counted is not None:
            if key in counted:
                return
            counted.append(key)
        self._hit(key)

    def _hit(self, key: "tuple[str, str, int]") -> None:
        """Count one more attempt at the finding of ``key`` (if it is recorded)."""
        hits = self._hits
        if key in hits:
            hits[key] += 1
            if self._hit_sinks and _monotonic() >= self._tell_at:
                self.flush_hits()

    def _record_site(self, key: "tuple[str, str, int]", finding: "Finding") -> None:
        """Record the first finding of an import site, with its first hit."""
        self._hits[key] = 1
        self._hit_findings[key] = finding
        self.record(finding)

    def flush_hits(self) -> None:
        """Hand the hit counts that changed to the sinks that take them (``hits``
        method): at most every :data:`FLUSH_EVERY` seconds while imports go on, and at
        exit. A failing sink is recorded, not raised."""
        if not self._hits:
            return  # nothing judged (nor the judging code loaded)
        self._tell_at = _monotonic() + FLUSH_EVERY
        with self._lock:
            told = self._hits_told
            changed = [(self._hit_findings[key], total)
                       for key, total in list(self._hits.items())
                       if total > 1 and told.get(key) != total]
            for key, total in list(self._hits.items()):
                told[key] = total
            sinks = list(self._hit_sinks)
        if not changed:
            return
        for sink in sinks:
            try:
                sink.hits(changed)
            except Exception as error:
                with self._lock:
                    self.findings.append(internal_error(f"a finding sink failed: {error!r}"))

    def _forked(self) -> None:
        """In a forked child: its findings and hits are its own (the memo, the marks and
        the counts are the parent's), recorded in its own record file."""
        self._lock = _thread.allocate_lock()
        self._busy = _thread._local()
        self._run = self._unguarded = None
        self._seen.clear()
        self._seen_at.clear()
        self._hits.clear()
        self._hit_findings.clear()
        self._hits_told.clear()
        self._tell_at = 0.0
        if self._hit_sinks:
            _flush_at_multiprocessing_exit(self)

    @property
    def guard(self) -> "ImportGuard":
        """The import guard (imports of watched modules that are already loaded), made the
        first time it is needed: the first module to watch, or a caller asking. A firewall
        that never watches a module does not import the guard's module, nor the judging
        code (:func:`_load_judging`) the guard calls back into."""
        guard = self._guard
        if guard is None:
            if _chain is None:
                _load_judging()
            with self._lock:
                guard = self._guard
                if guard is None:
                    guard = self._guard = ImportGuard(self._judge_loaded, self._quiet)
        return guard

    @guard.setter
    def guard(self, guard: "ImportGuard") -> None:
        self._guard = guard

    @property
    def _error_class(self) -> "type[ForbiddenImportError] | type[ForbiddenImportRuntimeError]":
        """The blocked-import error the policy asks for (``[imports] blocked_error``)."""
        if _chain is None:
            _load_judging()
        return ForbiddenImportRuntimeError if self._runtime_error else ForbiddenImportError

    # -- the meta-path finder protocol

    def find_spec(self, fullname: str, path: "Sequence[str] | None" = None,
                  target: "ModuleType | None" = None) -> "ModuleSpec | None":
        try:
            if fullname.rpartition(".")[0] in self.matcher.allowed_below:
                return None  # no rule reaches below the package: no call, no lookup
            decision = self.matcher.decide(fullname)
            if decision is None or not decision.denied or _is_availability_probe():
                return None
        except Exception as error:  # an import we cannot judge: see fail_closed
            self.fail_closed(fullname, None, error)
            return None
        return self._judge_once(fullname, decision, loading=True, asked=True, path=path,
                                target=target)

    def invalidate_caches(self) -> None:
        """Part of the finder protocol; the decision cache depends only on the policy."""

    # -- handling a denied import

    def _judge_loaded(self, fullname: str, counted: "list[Any] | None" = None) -> None:
        """Called by the guard when an import statement names a watched, loaded module
        (``counted``: see :class:`ImportGuard`)."""
        try:
            caller: FrameType | None = _getframe(2)  # _judge_loaded <- guard <- importer
        except ValueError:
            caller = None
        try:
            self._judge_loaded_from(caller, fullname, counted)
        except (ForbiddenImportError, ForbiddenImportRuntimeError):
            raise
        except Exception as error:
            self.fail_closed(fullname, None, error)

    def _judge_loaded_from(self, caller: "FrameType | None", fullname: str,
                           counted: "list[Any] | None" = None) -> None:
        if caller is not None:
            if caller.f_code is _READ_FILE:
                # The import system reading a module's file: io.open_code imports `_io`
                # from C on every read. No import statement of the program names it.
                return
            if self.mode != "enforce" and _chain.site_module_in(
                    caller, self._let_through, self._helpers):
                # Named by a module that warn/audit let load: _judge would record nothing
                # (the common case with deny = ["*"]: `import os` in each such module).
                return
        if self.mode != "enforce" and self._let_through:
            # ``import a.b.c`` where warn/audit let a.b load: enforce would have stopped
            # the import at a.b, and that is the finding to match (a.b.c itself may have
            # been loaded since by a library allowed to).
            fullname = _outermost(fullname, self._let_through)
            seen = (None if caller is None
                    else self._seen_at.get((fullname, id(caller.f_code), caller.f_lasti)))
            if seen is not None:
                # A statement whose finding is recorded: no walk, no line number; one
                # more hit, unless the finder counted this run of it on the way in.
                if self._run is None and counted is None:
                    self._hit(seen[1])  # the common case: no mark to look at
                else:
                    self._hit_returned(seen[1], caller, counted)
                return
        decision = self.matcher.decide(fullname)
        if decision is not None and decision.denied:
            self._judge_once(fullname, decision, loading=False,
                             returned=(caller, counted))

    def _judge_once(self, fullname: str, decision: "Decision", loading: bool,
                    asked: bool = False, path: "Sequence[str] | None" = None,
                    target: "ModuleType | None" = None,
                    returned: "tuple[FrameType | None, list[Any] | None] | None" = None
                    ) -> "ModuleSpec | None":
        """:meth:`_judge`, unless this thread is already inside it: an import made while
        importwall handles one (a sink, a warning filter) passes straight through.
        ``asked``: the import system asked the finder (with ``path`` and ``target``: the
        module may not be installed); otherwise the module is loaded, or its code is
        running (strict mode's hook). ``returned``: the guard judges a statement that
        returned, (the frame that called the guard, the names counted for this run).
        Returns the spec :meth:`_judge` found, if any."""
        busy = self._busy
        if getattr(busy, "active", False):
            return None
        if _chain is None and not _load_judging():
            return None  # an import made while this thread loads the judging code
        busy.active = True
        try:
            return self._judge(fullname, decision, loading, asked, path, target, returned)
        except (ForbiddenImportError, ForbiddenImportRuntimeError):
            raise
        except Exception as error:
            self.fail_closed(fullname, decision, error)
            return None
        finally:
            busy.active = False

    def fail_closed(self, fullname: str, decision: "Decision | None",
                    error: "BaseException") -> None:
        """importwall failed while judging an import that may be denied: an
        ``internal-error`` finding and, in ``enforce`` mode, the blocked-import error (an
        import importwall cannot judge is not let through); ``warn`` and ``audit`` let the
        host program go on."""
        if _chain is None and not _load_judging():
            return  # importwall's own modules, imported while this thread loads them
        what = f"{type(error).__name__}: {error}"
        enforce = self.mode == "enforce"
        self.record(internal_error(
            f"importwall failed while judging the import of {fullname!r} ({what}); "
            + ("blocked: enforce mode fails closed" if enforce else "let through")))
        if not enforce:
            return
        rule = decision.rule if decision is not None else None
        raise self._error_class(
            fullname, decision.label if decision is not None else "fail-closed",
            f"importwall could not judge this import ({what}), and enforce mode refuses "
            "what it cannot judge", None, (), rule.source if rule is not None else None)

    def _judge(self, fullname: str, decision: "Decision", loading: bool,
               asked: bool = False, path: "Sequence[str] | None" = None,
               target: "ModuleType | None" = None,
               returned: "tuple[FrameType | None, list[Any] | None] | None" = None
               ) -> "ModuleSpec | None":
        # Decide from the import site alone first; the whole chain is captured only when a
        # finding may be recorded or raised. In audit mode with ``deny = ["*"]`` nearly
        # every import ends at one of the early returns below.
        frame, from_list = _chain.locate(skip=3, helpers=self._helpers)
        if self.matcher.exception_for(fullname, _chain.importer_of(frame)) is not None:
            if loading:
                # Loaded for a library that may: later imports of it by anyone else
                # bypass the finder (sys.modules), so the guard must watch it.
                self.guard.watch(fullname)
            return None
        action = _ACTIONS[self.mode]
        if action != ACTION_BLOCKED and _chain.runs_inside(frame, self._let_through):
            # Imported by a denied module that warn/audit let load: a consequence of that
            # module's own finding (sklearn.datasets loading its 20 submodules), not
            # another leak to report.
            if loading:
                self._let_load(fullname)
            return None
        judged, judged_decision = fullname, decision
        if action != ACTION_BLOCKED and self._let_through:
            # A submodule of a module warn/audit let load, asked for at another site:
            # enforce stops this import at that module, so that is the finding to match.
            judged = _outermost(fullname, self._let_through)
            outer = self.matcher.decide(judged) if judged != fullname else None
            if outer is not None and outer.denied:
                judged_decision = outer
            else:
                judged = fullname
        # After the let-through test: a frame's line number is worked out from its code's
        # line table, which costs more the further down a long module the import is.
        key = (judged, *_chain.site_key(frame))
        spec = None
        if asked:
            # What the import system would find next. In warn/audit the spec found is
            # handed back to it, so that a denied import is looked up once, not twice.
            present, spec = self._look_up(fullname, path, target)
            if not present and judged == fullname:
                self._judge_absent(fullname, decision, frame, from_list, key)
                return None
        if action != ACTION_BLOCKED:
            if loading:
                self._let_load(fullname)
            if frame is not None:
                # The statement, by code and instruction: the guard sees it again when it
                # returns, and each time it runs (the code is kept, so its id stays).
                self._seen_at[(judged, id(frame.f_code), frame.f_lasti)] = (frame.f_code, key)
            # The import goes on: this run of the statement may be judged again (by the
            # guard when it returns, by the finder for a submodule it names) and counts
            # once (the first time, the finding below is the first hit).
            if returned is None:
                self._hit_entering(key, frame)
            else:
                self._hit_returned(key, *returned)
            if key in self._seen:
                return spec  # this site's finding is recorded (and warned) already
        site = _chain.describe(frame, from_list)
        finding = self._finding(judged, judged_decision, action, site.importer, site.chain)
        first_time = key not in self._seen
        if first_time:
            # One finding per import site: a lazy import in a request handler runs on
            # every request, and must not fill the record with copies; its hits count.
            self._seen.add(key)
            self._record_site(key, finding)
        else:
            self._hit(key)  # enforce: every attempt is stopped, and is a hit
        if action == ACTION_BLOCKED:
            rule = decision.rule
            error = self._error_class(fullname, decision.label, rule.reason, site.importer,
                                      site.chain, rule.source)
            if site.from_list and isinstance(error, ImportError):
                error.name = None  # keep importlib from swallowing it; see chain._FROM_LIST
            raise error
        if action == ACTION_WARNED and first_time:
            self._warn(finding)
        return spec

    def _let_load(self, fullname: str) -> None:
        """warn/audit let ``fullname`` load: later imports of it are answered from
        sys.modules, so the guard must watch it for the next import site to be judged as
        enforce would judge it."""
        self._let_through.add(fullname)
        if not (fullname.startswith(_MACHINERY_MODULES) or fullname in self._helpers):
            # Its own import statements are consequences: the guard skips them without a
            # frame walk (importlib's and importwall's are charged to their callers).
            self._quiet.add(fullname)
        self.guard.watch(fullname)

    def _look_up(self, fullname: str, path: "Sequence[str] | None",
                 target: "ModuleType | None") -> "tuple[bool, ModuleSpec | None]":
        """Whether another finder on ``sys.meta_path`` finds ``fullname``, and its spec:
        what the import system would do next. (True, None) when that cannot be told (a
        finder that fails or is of the old protocol): judged as installed. In enforce a
        name found once is not looked up again (its imports are blocked, not loaded)."""
        if self.mode == "enforce" and fullname in self._present:
            return True, None
        for finder in list(sys.meta_path):
            if isinstance(finder, Firewall):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                return True, None
            try:
                spec = find_spec(fullname, path, target)
            except Exception:
                return True, None
            if spec is not None:
                if self.mode == "enforce":
                    self._present.add(fullname)
                return True, spec
        return False, None

    def _judge_absent(self, fullname: str, decision: "Decision", frame: "FrameType | None",
                      from_list: bool, key: "tuple[str, str, int]") -> None:
        """A denied module that is not installed: the import fails as it would without
        importwall (the usual ModuleNotFoundError, in every mode: a library's
        ``try: import pyspark except ImportError`` goes on), and an ``import-absent``
        finding at ``info`` says which site asked for it."""
        if key in self._seen:
            self._hit(key)  # fails each time, in every mode: each attempt is a hit
            return
        self._seen.add(key)
        site = _chain.describe(frame, from_list)
        finding = self._finding(fullname, decision, ACTION_ABSENT, site.importer, site.chain)
        finding = replace(finding, severity="info")
        self._record_site(key, finding)

    def _finding(self, fullname: str, decision: "Decision", action: str, importer: "str | None",
                 frames: "tuple[Any, ...]") -> "Finding":
        rule = decision.rule
        by = f" by {importer}" if importer else ""
        verb = {ACTION_PRELOADED: "was already imported before the firewall started",
                ACTION_ABSENT: f"failed{by}: it is not installed"}.get(action, f"{action}{by}")
        return Finding(
            kind=KIND_IMPORT,
            code=_CODES[action],
            severity=rule.severity,
            subject=fullname,
            message=f"import of {fullname!r} {verb}: forbidden by rule {decision.label}",
            rule=decision.label,
            reason=rule.reason,
            source=rule.source,
            action=action,
            importer=importer,
            chain=frames,
            details={"mode": self.mode},
        )

    def _warn(self, finding: "Finding") -> None:
        site = finding.chain[-1] if finding.chain else None
        message = finding.message + (f" ({finding.reason})" if finding.reason else "")
        self.warn_at(message, site.file if site else "<importwall>", site.line if site else 0,
                     module=site.module if site else None)

    def warn_at(self, message: str, filename: str, lineno: int,
                module: "str | None" = None) -> None:
        """Emit an :class:`ImportWallWarning` pointing at ``filename:lineno``.

        A warnings filter may turn it into an exception (``python -W error``, pytest's
        ``filterwarnings = error``); in warn mode that must not break the host, so the
        message goes to stderr instead and the failure is recorded.
        """
        if _chain is None:
            _load_judging()
        try:
            if module is None:  # an explicit module=None silences warn_explicit
                _warn_explicit(message, ImportWallWarning, filename, lineno)
            else:
                _warn_explicit(message, ImportWallWarning, filename, lineno, module=module)
        except Exception as error:  # never break the host
            try:  # noqa: SIM105 - contextlib is not worth importing at interpreter start
                sys.stderr.write(f"{filename}:{lineno}: ImportWallWarning: {message}\n")
            except Exception:  # no stderr (pythonw, closed): record only
                pass
            self.record(internal_error(
                f"a warning could not be shown as a warning ({type(error).__name__}); "
                "it was written to stderr"))

    def record(self, finding: "Finding") -> None:
        """Keep a finding and hand it to the sinks. A failing sink is recorded, not raised:
        importwall's own trouble must never break the host program."""
        with self._lock:
            self.findings.append(finding)
            sinks = list(self._sinks)
        for sink in sinks:
            try:
                sink(finding)
            except Exception as error:
                with self._lock:
                    self.findings.append(internal_error(f"a finding sink failed: {error!r}"))

    def add_sink(self, sink: "Sink") -> None:
        """Hand every finding to ``sink``; one with a ``hits(changes)`` method is also
        handed the hit counts that changed, as (finding, total) pairs (:meth:`flush_hits`)."""
        with self._lock:
            self._sinks.append(sink)
            if callable(getattr(sink, "hits", None)):
                first = not self._hit_sinks
                self._hit_sinks.append(sink)
            else:
                first = False
        if first:
            import atexit  # built in: costs nothing to import

            atexit.register(self.flush_hits)
            _forget_at_fork(self)

    # -- activation-time survey

    def survey_loaded(self, modules: "dict[str, ModuleType]") -> "list[Finding]":
        """Record denied modules that were imported before the firewall started."""
        found = []
        for name in sorted(modules):
            decision = self.matcher.decide(name)
            if decision is None or not decision.denied:
                continue
            if _chain is None:
                _load_judging()
            finding = self._finding(name, decision, ACTION_PRELOADED, None, ())
            finding = replace(finding, severity="warning")
            self.record(finding)
            self.guard.watch(name)
            found.append(finding)
        return found


def _statement(site: "FrameType") -> "tuple[str, tuple[int, int]]":
    """Where the finder marks the run of the import statement at ``site`` it judges (see
    :meth:`Firewall._hit_entering`): the nearest guard call between here and the site is
    the one for this statement, and its caller is the frame the guard hands over when it
    returns; without one, the site itself."""
    frame: FrameType | None = _getframe(2)
    while frame is not None and frame is not site:
        code = frame.f_code
        if code is _GUARD_CODES[0] or code is _GUARD_CODES[1]:
            caller = frame.f_back
            if caller is not None:
                return "_run", (id(caller), caller.f_lasti)
        frame = frame.f_back
    return "_unguarded", (id(site), site.f_lasti)


_FIREWALLS: "list[Any]" = []  # weak references to the firewalls with hit sinks


def _forget_at_fork(firewall: "Firewall") -> None:
    """Have a forked child clear ``firewall``'s memo and counts (:meth:`Firewall._forked`)."""
    if not _FIREWALLS and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
    _FIREWALLS[:] = [ref for ref in _FIREWALLS if ref() is not None]
    _FIREWALLS.append(_weakref.ref(firewall))


def _after_fork_in_child() -> None:
    for ref in list(_FIREWALLS):
        firewall = ref()
        if firewall is not None:
            with suppress(Exception):
                firewall._forked()


def _flush_at_multiprocessing_exit(firewall: "Firewall") -> None:
    """A multiprocessing worker ends with ``os._exit``: atexit never runs. Its finalizers
    do (``util._exit_function``), but those of the parent are cleared after the fork, and
    then the after-fork callbacks run: register one that adds ours."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(firewall, _finalize_flush)


def _finalize_flush(firewall: "Firewall") -> None:
    util = sys.modules["multiprocessing.util"]
    util.Finalize(firewall, firewall.flush_hits, exitpriority=100)


def _outermost(fullname: str, modules: "Collection[str]") -> str:
    """The shortest dotted prefix of ``fullname`` (itself included) that is in
    ``modules``; ``fullname`` when none is."""
    end = fullname.find(".")
    while end != -1:
        if fullname[:end] in modules:
            return fullname[:end]
        end = fullname.find(".", end + 1)
    return fullname


def _is_availability_probe() -> bool:
    """Whether ``importlib.util.find_spec`` asked, rather than an import statement.

    Libraries probe optional dependencies with ``find_spec(name) is not None`` (accelerate
    probes wandb and deepspeed, transformers probes deepspeed). A probe imports nothing, so
    there is nothing to record, and raising there would break the library instead of letting
    it fall back; the import that may follow is judged like any other.
    """
    try:
        caller = _getframe(3).f_code  # find_spec <- importlib._bootstrap._find_spec <- caller
        asker = _getframe(4).f_code
    except ValueError:
        return False
    if asker.co_filename.endswith(_RUNPY_SUFFIXES):
        return False  # runpy looks a module up to run it: `python -m`, runpy.run_module
    return caller.co_name == "find_spec" and caller.co_filename.endswith(_UTIL_SUFFIXES)


def internal_error(message: str) -> "Finding":
    """A finding for importwall's own failure, recorded in warn and audit modes."""
    if _chain is None:
        _load_judging()
    return Finding(kind=KIND_INTERNAL, code="internal-error", severity="warning",
                   subject="importwall", message=message)


def installed(meta_path: "list[Any] | None" = None) -> "Firewall | None":
    """The firewall on ``sys.meta_path``, if any."""
    for finder in sys.meta_path if meta_path is None else meta_path:
        if isinstance(finder, Firewall):
            return finder
    return None

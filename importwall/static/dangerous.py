"""Globals a model file must never reference: each pattern with the reason it is dangerous.

A pattern names a module (and covers its submodules and everything in them), or one global
(``module.name``, covering ``module.name.attr``). The scan in
:mod:`importwall.static.classify` checks this list before anything else: a dangerous global
is an error whatever the known-safe list or the policy's ``[models] allow`` say.

This list is the second line of defence. The first is the allowlist: a global that is
neither known-safe nor allowed by the policy is reported as unknown, so a payload through a
function missing here (the way the denylist scanners' bypass advisories work) is still
reported. The entries name the sources of the payloads they catch where one exists:
picklescan's, modelscan's and fickling's advisories and bypass write-ups.
"""

from __future__ import annotations

from importwall.runtime.matcher import PatternTrie

_PROCESS = "runs a program or a shell command when the file is loaded"
_CODE = "runs Python code of the attacker's choosing when the file is loaded"
_BUILD_CODE = "constructs code objects or functions from bytes when the file is loaded"
_NETWORK = "opens network connections (download, exfiltration) when the file is loaded"
_FILES = "writes, moves or deletes files when the file is loaded"
_IMPORT = "imports any module the file names when it is loaded"
_NESTED = "loads a nested payload (pickle, marshal, another model file) this scan cannot see"
_NATIVE = "calls native code or manipulates raw memory when the file is loaded"
_ATTRIBUTES = ("fetches or changes any attribute (getattr(os, 'system')) when the file is "
               "loaded")
_INTERPRETER = "changes the running interpreter (modules, hooks, threads) when loaded"
_PACKAGES = "installs packages or creates environments when the file is loaded"

DANGEROUS: dict[str, str] = {
    # -- processes
    "os": "reaches the operating system (os.system, os.exec*, os.remove, ...) when the file "
          "is loaded",
    "posix": _PROCESS, "nt": _PROCESS, "subprocess": _PROCESS, "pty": _PROCESS,
    "_posixsubprocess": _PROCESS,  # CVE-2025-10157 (JFrog, picklescan)
    "_winapi": _PROCESS,
    "asyncio": _PROCESS,  # asyncio.unix_events._UnixSubprocessTransport: CVE-2025-10157
    "multiprocessing": _PROCESS,  # multiprocessing.util.spawnv_passfds: modelscan #338
    "concurrent": _PROCESS,
    "platform.popen": _PROCESS, "platform._syscmd_ver": _PROCESS,
    "uuid._get_command_stdout": _PROCESS,  # promptfoo/modelaudit#581
    "uuid._popen": _PROCESS,
    "webbrowser": _PROCESS, "commands": _PROCESS, "popen2": _PROCESS,
    "pydoc": _PROCESS,  # pydoc.pipepager; pydoc.locate imports: picklescan blocklist
    "_pyrepl": _PROCESS,  # _pyrepl.pager.pipe_pager
    "_osx_support": _PROCESS, "_aix_support": _PROCESS,
    "distutils.spawn": _PROCESS, "setuptools": _PROCESS,
    "signal": _INTERPRETER,
    # -- code runners
    "builtins.eval": _CODE, "builtins.exec": _CODE, "builtins.compile": _CODE,
    "builtins.execfile": _CODE, "builtins.breakpoint": _CODE, "builtins.input": _CODE,
    "builtins.globals": _CODE, "builtins.locals": _CODE, "builtins.vars": _ATTRIBUTES,
    "builtins.apply": _CODE,
    "runpy": _CODE, "code": _CODE, "codeop": _CODE,
    "idlelib": _CODE,  # GHSA-m869-42cg-3xwr, GHSA-3gf5-cxq9-w223 and others (picklescan)
    "lib2to3": _CODE,  # lib2to3.pgen2.pgen.ParserGenerator.make_label: GHSA-p9w7-82w4-7q8m
    "pdb": _CODE, "bdb": _CODE, "timeit": _CODE,  # GHSA-v7x6-rv5q-mhwc (timeit)
    "cProfile": _CODE, "profile": _CODE,  # GHSA-9w88-8rmg-7g2p, GHSA-7wx9-6375-f5wh
    "trace": _CODE,  # GHSA-5qwp-399c-mjwf
    "doctest": _CODE,  # doctest.debug_script: GHSA-fqq6-7vqf-w3fg
    "unittest.mock": _CODE,
    "numpy.testing._private.utils.runstring": _CODE,  # picklescan blocklist
    "numpy.f2py": _CODE,  # crackfortran.getlincoef evaluates strings: fickling#210
    "numpy.distutils": _PROCESS,
    "torch.jit.unsupported_tensor_ops": _CODE,  # execWrapper: GHSA-vr7h-p6mm-wpmh
    "torch._dynamo": _CODE,  # guards.GuardBuilder.get: GHSA-86cj-95qr-2p4f
    "torch._inductor": _PROCESS,  # codecache.compile_file runs a compiler command
    "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression": _CODE,
    "torch.utils.bottleneck": _CODE,  # run_cprofile: GHSA-4r9r-ch6f-vxmx
    "torch.utils.collect_env": _PROCESS,  # collect_env.run: GHSA-f745-w6jp-hpxx
    "torch.utils.cpp_extension": _PROCESS,
    "torch.hub": _NETWORK,
    "mlflow.projects": _PROCESS,  # backend.local._run_entry_point: modelscan #338
    "IPython": _CODE, "jupyter_client": _PROCESS,
    # -- code construction
    "types.CodeType": _BUILD_CODE, "types.FunctionType": _BUILD_CODE,
    "types.LambdaType": _BUILD_CODE, "types.MethodType": _BUILD_CODE,
    "types.ModuleType": _IMPORT,
    "marshal": _BUILD_CODE,
    "cloudpickle.cloudpickle._make_function": _BUILD_CODE,
    "cloudpickle.cloudpickle._make_code": _BUILD_CODE,
    "cloudpickle.cloudpickle._builtin_type": _BUILD_CODE,  # _builtin_type('CodeType')
    "cloudpickle.cloudpickle._make_skeleton_class": _BUILD_CODE,
    "cloudpickle.cloudpickle._make_skeleton_enum": _BUILD_CODE,
    "cloudpickle.cloudpickle._class_setstate": _BUILD_CODE,
    "cloudpickle.cloudpickle.subimport": _IMPORT,
    "cloudpickle.cloudpickle.dynamic_subimport": _IMPORT,
    "cloudpickle.cloudpickle._function_setstate": _BUILD_CODE,
    "cloudpickle.cloudpickle._make_cell": _BUILD_CODE,
    "cloudpickle.cloudpickle._make_empty_cell": _BUILD_CODE,
    "cloudpickle.cloudpickle._getattribute": _ATTRIBUTES,
    "cloudpickle.cloudpickle._lookup_module_and_qualname": _IMPORT,
    "cloudpickle.cloudpickle._file_reconstructor": _FILES,
    "cloudpickle.cloudpickle_fast": _BUILD_CODE,
    # dill's reconstruction helpers that build code, import, open files or fetch attributes
    # (Trail of Bits, "Never a dill moment"); its data helpers (_create_array, ...) are
    # derived as known-safe like any library's.
    "dill._dill._create_function": _BUILD_CODE, "dill._dill._create_code": _BUILD_CODE,
    "dill._dill._create_ftype": _BUILD_CODE, "dill._dill._create_type": _BUILD_CODE,
    "dill._dill._create_cell": _BUILD_CODE, "dill._dill._create_capsule": _NATIVE,
    "dill._dill._load_type": _BUILD_CODE, "dill._dill._import_module": _IMPORT,
    "dill._dill._eval_repr": _CODE, "dill._dill._get_attr": _ATTRIBUTES,
    "dill._dill._getattr": _ATTRIBUTES, "dill._dill._getattribute": _ATTRIBUTES,
    "dill._dill._create_filehandle": _FILES, "dill._dill._create_weakproxy": _ATTRIBUTES,
    "dill._dill._create_typemap": _INTERPRETER,
    "dill.loads": _NESTED, "dill.load": _NESTED, "dill._dill.loads": _NESTED,
    "srsly.cloudpickle": _BUILD_CODE,
    "joblib.externals.cloudpickle": _BUILD_CODE,
    # -- network
    "socket": _NETWORK, "_socket": _NETWORK, "ssl": _NETWORK,  # ssl.get_server_certificate
    "http": _NETWORK, "httplib": _NETWORK,  # GHSA-hgrh-qx5j-jfwx
    "urllib.request": _NETWORK, "urllib2": _NETWORK, "urllib3": _NETWORK,
    "ftplib": _NETWORK, "smtplib": _NETWORK, "telnetlib": _NETWORK, "poplib": _NETWORK,
    "imaplib": _NETWORK, "nntplib": _NETWORK, "xmlrpc": _NETWORK, "socketserver": _NETWORK,
    "requests": _NETWORK, "httpx": _NETWORK, "aiohttp": _NETWORK,
    "pandas.io.parsers": _NETWORK,  # read_csv(url): modelscan #338
    "pandas.io.html": _NETWORK, "pandas.io.json": _NETWORK,
    # -- files
    "builtins.open": _FILES, "io.open": _FILES, "io.FileIO": _FILES, "_io": _FILES,
    "io.open_code": _FILES, "codecs.open": _FILES,
    "logging.FileHandler": _FILES, "logging.handlers": _FILES, "logging.config": _CODE,
    "shutil": _FILES, "tempfile": _FILES,
    "fileinput": _FILES, "zipfile": _FILES, "tarfile": _FILES,
    "distutils.file_util": _FILES,  # write_file: CVE-2025-10155 (JFrog)
    "distutils.dir_util": _FILES,
    "sqlite3": _FILES, "dbm": _FILES, "shelve": _NESTED,
    "linecache": _FILES,
    # -- import machinery
    "builtins.__import__": _IMPORT, "importlib": _IMPORT, "imp": _IMPORT,
    "pkgutil": _IMPORT,  # pkgutil.resolve_name: GHSA-vvpj-8cmc-gx39
    "zipimport": _IMPORT, "sys": _INTERPRETER, "builtins.__build_class__": _BUILD_CODE,
    "numpy.core._ufunc_reconstruct": _IMPORT,  # resolved when its arguments are constants
    "numpy._core._ufunc_reconstruct": _IMPORT,
    "pydoc.locate": _IMPORT,
    # -- attribute access
    "builtins.getattr": _ATTRIBUTES,  # resolved when its arguments are constants
    "builtins.setattr": _ATTRIBUTES, "builtins.delattr": _ATTRIBUTES,
    "operator.attrgetter": _ATTRIBUTES, "operator.methodcaller": _ATTRIBUTES,
    "operator.itemgetter": _ATTRIBUTES,
    "_operator": _ATTRIBUTES,  # GHSA-955r-x9j8-7rhh
    "functools.partial": "wraps another callable so that calling it hides what runs: "
                         "functools.partial(os.system, ...) (picklescan blocklist)",
    "functools.reduce": _CODE,
    "gc": _INTERPRETER, "threading": _INTERPRETER, "_thread": _INTERPRETER,
    "atexit": _INTERPRETER, "site": _INTERPRETER, "sysconfig": _INTERPRETER,
    "inspect": _ATTRIBUTES, "ctypes": _NATIVE, "_ctypes": _NATIVE, "cffi": _NATIVE,
    "numpy.ctypeslib": _NATIVE, "mmap": _NATIVE,
    # -- nested payloads
    "pickle": _NESTED, "_pickle": _NESTED, "cPickle": _NESTED,  # GHSA-84r2-jw7c-4r5q
    "joblib.load": _NESTED, "joblib.numpy_pickle.load": _NESTED,
    "numpy.load": _NESTED, "numpy.lib.npyio": _NESTED, "numpy.lib._npyio_impl": _NESTED,
    "pandas.read_pickle": _NESTED, "pandas.io.pickle": _NESTED,
    "torch.load": _NESTED, "torch.serialization": _NESTED,
    "torch.storage._load_from_bytes": _NESTED,
    "torch.utils._config_module": _NESTED,  # ConfigModule.load_config: GHSA-vv6j-3g6g-2pvj
    "torch.utils.data.datapipes.utils.decoder": _NESTED,  # basichandlers: GHSA-h3qp-7fh3-f8h4
    "keras.models.load_model": _NESTED, "tensorflow": _CODE,
    # -- packages
    "pip": _PACKAGES,  # pip.main: CVE-2025-1716
    "ensurepip": _PACKAGES,  # ensurepip._run_pip: GHSA-xp4f-hrf8-rxw7
    "venv": _PACKAGES,
}
"""Pattern -> why a model that references it is dangerous."""

_SAFE_EXCEPTIONS = frozenset({
    # os.stat results and terminal sizes are plain structs, pickled by real programs.
    "os.stat_result", "os.terminal_size", "os.times_result", "os.uname_result",
    "posix.stat_result", "posix.terminal_size", "posix.times_result", "posix.uname_result",
    "nt.stat_result", "nt.terminal_size",
})

# Python 2 pickles (protocols 0-2) name builtins ``__builtin__``: same reasons.
DANGEROUS.update({"__builtin__" + pattern[len("builtins"):]: reason
                  for pattern, reason in list(DANGEROUS.items())
                  if pattern.startswith("builtins.")})

_TRIE: PatternTrie[str] = PatternTrie()
for _pattern in DANGEROUS:
    _TRIE.add(_pattern, _pattern)


def _most_specific(name: str) -> str | None:
    found = _TRIE.matches(name)
    return max(found, key=lambda p: p.count(".")) if found else None


def dangerous_pattern(module: str, name: str) -> str | None:
    """The most specific entry of :data:`DANGEROUS` covering global ``module.name``.

    A name that is an attribute path through a module (``logging`` + ``os.system``, which
    ``find_class`` follows for protocol 4 and later) is checked at every dot too, so an
    innocent-looking module cannot be a way round the list."""
    full = f"{module}.{name}"
    if full in _SAFE_EXCEPTIONS:
        return None
    found = _most_specific(full)
    if found is not None or "." not in name:
        return found
    parts = name.split(".")
    for start in range(len(parts) - 1):
        tail = ".".join(parts[start:])
        if tail not in _SAFE_EXCEPTIONS:
            found = _most_specific(tail)
            if found is not None:
                return found
    return None


def dangerous_reason(module: str, name: str) -> str | None:
    """Why global ``module.name`` is dangerous, or None."""
    pattern = dangerous_pattern(module, name)
    return None if pattern is None else DANGEROUS[pattern]

"""The firewall inside a running interpreter: everything on the start-up path.

* :mod:`importwall._bootstrap` (re-exported as ``runtime.bootstrap``): start from the
  environment, once per process;
* :mod:`~importwall.runtime.api`: ``activate()`` / ``deactivate()`` / ``active()``;
* :mod:`~importwall.runtime.matcher`: the compiled policy, one lookup per dotted segment;
* :mod:`~importwall.runtime.finder`: the ``sys.meta_path`` hook that judges each import;
* :mod:`~importwall.runtime.chain`: who imported it, and the chain that led there;
* :mod:`~importwall.runtime._importlib_bootstrap_guard`: imports of already-loaded modules;
* :mod:`~importwall.runtime.strict`: the audit hook that keeps strict mode strict;
* :mod:`~importwall.runtime.propagate`: the settings handed to child processes;
* :mod:`~importwall.runtime.records`: per-process record files, written as findings come;
* :mod:`~importwall.runtime.record_reader`: the record files read back (not at start-up);
* :mod:`~importwall.runtime.losses`: lost-record notices to the launcher (not at start-up);
* :mod:`~importwall.runtime.supervise`: run a command as a child, transparently;
* :mod:`~importwall.runtime.distributions`: which modules a distribution provides;
* :mod:`~importwall.runtime.probe`: import an entry point and report what was seen.

Standard library only, held by the import-linter contracts in ``pyproject.toml``: this
package runs at interpreter start in every serving process.
"""

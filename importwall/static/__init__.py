"""Checks that read code and files without importing or running them.

* :mod:`~importwall.static.sourcefinder`: where a module's source is, found like the import
  system would, without importing;
* :mod:`~importwall.static.importsites`: the import statements of one file (and a cache);
* :mod:`~importwall.static.scan`: import chains from entry points to denied modules;
* :mod:`~importwall.static.pickleops` and :mod:`~importwall.static.modelscan`: what a model
  file would import and call, read from its opcodes;
* :mod:`~importwall.static.fingerprint`: the training environment, recorded;
* :mod:`~importwall.static.metadata`: installed distributions and versions.
"""

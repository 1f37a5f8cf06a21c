"""The ``importwall`` command line: the only layer that parses arguments and prints.

* :mod:`~importwall.cli.main`: parse, dispatch, and turn errors into exit statuses;
* :mod:`~importwall.cli.registry`: the static table of commands (name, module, summary);
* :mod:`~importwall.cli.options`: the options several commands share;
* :mod:`~importwall.cli.output`: writing a command's findings as a report;
* :mod:`importwall.cli.commands`: one module per command, argparse wiring over the
  libraries (:mod:`importwall.audit`, :mod:`importwall.inject`, :mod:`importwall.static`,
  ...), which never import this package.
"""

"""One module per ``importwall`` command: ``DESCRIPTION``, ``configure(parser)`` and
``run(args)``, listed in :data:`importwall.cli.registry.COMMANDS`. A command module holds
the argparse wiring and what the command prints; the work is done by the libraries."""

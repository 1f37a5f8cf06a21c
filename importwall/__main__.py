"""``python -m importwall``: the same as the ``importwall`` command."""

from importwall.cli.main import main

raise SystemExit(main())

"""``python -m importwall``: the same as the ``importwall`` command."""

from importwall.cli import main

raise SystemExit(main())

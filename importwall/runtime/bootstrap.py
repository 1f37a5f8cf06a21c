"""The start-up hook, as :mod:`importwall._bootstrap` defines it: kept at this path for
code that imports it from here. The start-up files call ``importwall._bootstrap.startup()``.
"""

from importwall._bootstrap import is_importwall_cli, startup

__all__ = ["is_importwall_cli", "startup"]

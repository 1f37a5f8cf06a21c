"""One module per report format, each exposing ``FORMAT_VERSION`` and
``render(report, options) -> str``; :mod:`importwall.report.writer` picks one by name."""

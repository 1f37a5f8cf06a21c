"""The JSON report: :meth:`Report.to_dict`, validated by ``schemas/report-v1.schema.json``."""

from __future__ import annotations

import json

from importwall.report.model import REPORT_SCHEMA_VERSION, Report
from importwall.report.writer import RenderOptions

FORMAT_VERSION = str(REPORT_SCHEMA_VERSION)


def render(report: Report, options: RenderOptions) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"

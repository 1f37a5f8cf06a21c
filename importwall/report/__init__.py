"""The audit report: findings from every process, combined and written in any format.

* :mod:`~importwall.report.model`: :class:`Report` (de-duplicated, sorted findings), how
  rules are named, and the JSON schema;
* :mod:`~importwall.report.writer`: picks a format and writes it atomically;
* :mod:`~importwall.report.formats`: one module per format (text, json, sarif, junit,
  markdown, html).
"""

from __future__ import annotations

from importwall.report.model import (
    REPORT_SCHEMA_VERSION,
    Report,
    ReportItem,
    load_records,
    rule_id,
    rule_labels,
    schema_path,
    split_source,
)
from importwall.runtime.record_reader import ProcessInfo, read_record_file, record_files

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "ProcessInfo",
    "Report",
    "ReportItem",
    "load_records",
    "read_record_file",
    "record_files",
    "rule_id",
    "rule_labels",
    "schema_path",
    "split_source",
]

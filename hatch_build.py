"""Build hook: the wheel carries the policy's JSON Schema, generated at build time from
the loader's own table (importwall/policy/schema.py), so that it is never written by hand
and never out of date."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class PolicySchemaHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install runs `importwall check --schema` from the source
        sys.path.insert(0, self.root)  # this source tree's importwall, standard library only
        try:
            from importwall.policy.json_schema import IN_WHEEL, policy_json_schema_text
        finally:
            sys.path.remove(self.root)
        self._folder = tempfile.mkdtemp(prefix="importwall-build-")
        path = os.path.join(self._folder, os.path.basename(IN_WHEEL))
        with open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(policy_json_schema_text())
        build_data["force_include"][path] = IN_WHEEL

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        folder = getattr(self, "_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

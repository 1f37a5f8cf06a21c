"""Chains stay exact when captures reuse the outer chain of a module that imports several
modules in turn (audit mode captures one for every import)."""

from __future__ import annotations

import json


def test_each_import_gets_its_own_lines_when_outer_chains_are_reused(project) -> None:
    project.policy('version = 1\nmode = "audit"\n[imports]\ndeny = ["tracked*"]\n')
    project.write({
        "app/__init__.py": "import app.first\nimport app.second\n",
        "app/first.py": "import tracked_a\nimport tracked_b\n",
        "app/second.py": "x = 1\nimport tracked_c\n\ndef lazy():\n    import tracked_d\n",
        "tracked_a.py": "", "tracked_b.py": "", "tracked_c.py": "", "tracked_d.py": "",
    })
    result = project.run("""
import json
import importwall
firewall = importwall.activate("policy.toml")
import app
app.second.lazy()
print(json.dumps({f.subject: [(fr.module, fr.line, fr.function) for fr in f.chain]
                  for f in firewall.findings}))
""")
    assert result.returncode == 0, result.output
    chains = {name: [tuple(frame) for frame in chain]
              for name, chain in json.loads(result.stdout).items()}
    main = ("__main__", 5, None)
    assert chains["tracked_a"] == [main, ("app", 1, None), ("app.first", 1, None)]
    assert chains["tracked_b"] == [main, ("app", 1, None), ("app.first", 2, None)]
    assert chains["tracked_c"] == [main, ("app", 2, None), ("app.second", 2, None)]
    assert chains["tracked_d"] == [("__main__", 6, None), ("app.second", 5, "lazy")]

"""[distributions] deny: training-only distributions installed, imported or not."""

from __future__ import annotations

from pathlib import Path

from envcheck_helpers import write_policy
from helpers import write_files

from importwall.envcheck.installed import check_distributions
from importwall.static.metadata import installed_distributions


def _site(root: Path, *dists: tuple[str, str]) -> Path:
    files = {}
    for name, version in dists:
        folder = f"{name.replace('-', '_')}-{version}.dist-info"
        files[f"{folder}/METADATA"] = (f"Metadata-Version: 2.1\nName: {name}\n"
                                       f"Version: {version}\n")
        files[f"{folder}/RECORD"] = ""
    return write_files(root, files)


def test_denied_distributions_are_found_in_a_site_folder(tmp_path: Path) -> None:
    site = _site(tmp_path / "site", ("scikit-learn", "1.5.1"), ("Optuna", "3.6.1"),
                 ("jupyter_core", "5.7.2"), ("numpy", "2.0.1"))
    policy = write_policy(tmp_path, """
        [distributions]
        deny = [{ distribution = "scikit_learn", reason = "training only" }, "optuna",
                { distribution = "jupyter*", severity = "warning" }]
    """)
    installed = installed_distributions([str(site)])
    assert installed == {"scikit-learn": "1.5.1", "optuna": "3.6.1",
                         "jupyter-core": "5.7.2", "numpy": "2.0.1"}
    findings = check_distributions(policy.section("distributions"), installed)
    assert [(f.subject, f.severity, f.reason) for f in findings] == [
        ("jupyter-core", "warning", None), ("optuna", "error", None),
        ("scikit-learn", "error", "training only")]
    assert findings[2].message == ("distribution scikit-learn 1.5.1 is installed in this "
                                   "environment: forbidden by rule 'scikit-learn'")


def test_the_real_environment_is_read(tmp_path: Path) -> None:
    installed = installed_distributions()
    assert "pytest" in installed and "psutil" in installed
    policy = write_policy(tmp_path, '[distributions]\ndeny = ["pytest"]\n')
    [finding] = check_distributions(policy.section("distributions"), installed)
    assert finding.subject == "pytest"

"""Reading the modules a distribution provides from its .dist-info, standard library only."""

from __future__ import annotations

from pathlib import Path

import importlib_metadata

from importwall.runtime.distributions import modules_from_record, normalize, top_level_modules


def make_dist(site: Path, name: str, version: str, files: list[str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    record = [f"{path},sha256=x,1" for path in files]
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_namespace_package_distributions_name_their_full_dotted_path(tmp_path: Path) -> None:
    make_dist(tmp_path, "google-cloud-bigquery", "3.0.0", [
        "google/cloud/bigquery/__init__.py",
        "google/cloud/bigquery/client.py",
        "google/cloud/bigquery/__pycache__/client.cpython-311.pyc",
        "google_cloud_bigquery-3.0.0.dist-info/METADATA",
    ])
    assert top_level_modules("Google_Cloud.BigQuery", [str(tmp_path)]) == [
        "google.cloud.bigquery"]


def test_single_modules_extensions_and_packages(tmp_path: Path) -> None:
    assert modules_from_record([
        "six.py,sha256=x,1",
        "fastlib/__init__.py,,",
        "fastlib/_core.cpython-311-x86_64-linux-gnu.so,,",
        "_speedups.cpython-311-x86_64-linux-gnu.so,,",
        "../../bin/tool,,",
        "fastlib-1.0.dist-info/RECORD,,",
        "fastlib.pth,,",
    ]) == {"six", "fastlib", "_speedups"}


def test_a_distribution_that_is_not_installed_provides_nothing(tmp_path: Path) -> None:
    assert top_level_modules("not-installed-anywhere", [str(tmp_path)]) == []


def test_agrees_with_importlib_metadata_on_real_installed_distributions() -> None:
    provided = importlib_metadata.packages_distributions()
    for name in ("pluggy", "iniconfig", "hypothesis", "rich", "pytest"):
        expected = sorted(
            module for module, dists in provided.items()
            if module.isidentifier() and module != "__pycache__"
            and normalize(name) in map(normalize, dists))
        assert top_level_modules(name) == expected, name


def test_names_are_normalized_as_pep_503_says() -> None:
    assert normalize("Scikit_Learn") == normalize("scikit.learn") == "scikit-learn"

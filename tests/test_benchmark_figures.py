"""The README's speed figures are the committed benchmark files' (benchmarks/figures.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _figures():
    spec = importlib.util.spec_from_file_location("figures", ROOT / "benchmarks" / "figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_quotes_every_benchmark_figure():
    lines = _figures().readme_lines()
    assert lines, "no benchmark results are committed under benchmarks/results/"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [line for line in lines if line not in readme]
    assert not missing, f"the README does not quote these benchmark lines (run benchmarks/figures.py): {missing}"


def test_the_benchmark_files_record_where_they_were_measured():
    import json

    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        result = json.loads(path.read_text())
        assert {"date", "cores", "torch"} <= set(result["machine"]), path

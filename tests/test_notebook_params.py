"""The parameters cells of notebooks 05-07 (read, not executed): notebooks that reuse notebook
03's tuned student declare its training parameters under the same names and defaults, so a
profile (or none) finds the same cached artifact; every profile key they get is declared."""

from __future__ import annotations

import nbformat
import papermill as pm
import pytest

from unerlib.pipeline import load_profile, notebook_parameters

REUSERS = ("05_domain_breakdown", "07_explore")
OWN = {"05_domain_breakdown": {"breakdown_limit", "breakdown_datasets"},
       "06_supervised_multitask": {"supervised_passages", "supervised_datasets", "supervised_max_steps",
                                   "supervised_limit"},
       "07_explore": {"passage", "types", "use_tuned", "adapter"}}


def _params(project_root, stem):
    return pm.inspect_notebook(str(project_root / "notebooks" / f"{stem}.ipynb"))


@pytest.mark.parametrize("stem", REUSERS)
def test_reusers_declare_notebook_03_training_parameters(project_root, stem):
    nb03 = {k: v for k, v in _params(project_root, "03_training").items() if k != "eval_limit"}
    mine = _params(project_root, stem)
    assert set(nb03) <= set(mine)
    for name, spec in nb03.items():
        assert (mine[name]["inferred_type_name"], mine[name]["default"]) == \
            (spec["inferred_type_name"], spec["default"]), name
    assert OWN[stem] <= set(mine)


@pytest.mark.parametrize("stem", sorted(OWN))
def test_notebook_is_clean_and_typed(project_root, stem):
    nb = nbformat.read(str(project_root / "notebooks" / f"{stem}.ipynb"), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():  # name: type = value  # comment
        if line.strip() and not line.startswith((" ", ")")):
            assert ": " in line.split("=")[0] and "#" in line, line
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    assert OWN[stem] <= set(pm.inspect_notebook(str(project_root / "notebooks" / f"{stem}.ipynb")))


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_profiles_set_only_declared_parameters(project_root, profile):
    prof = load_profile(profile, project_root)
    for stem in OWN:
        params = notebook_parameters(prof, project_root / "notebooks" / f"{stem}.ipynb")  # raises on a typo
        assert set(prof["notebooks"].get(stem, {})) <= set(params)

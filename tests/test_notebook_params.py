"""The parameters cells of the chapters after notebook 03 (read, not executed): the chapters
that reuse notebook 03's student or recipe read it from the run manifest
(unerlib.runs.headline) and declare none of its parameters; every profile key a notebook
gets is declared."""

from __future__ import annotations

import nbformat
import papermill as pm
import pytest

from unerlib.pipeline import load_profile, notebook_parameters

MANIFEST_READERS = ("04_negative_sampling_ablation", "05_domain_breakdown", "06_supervised_multitask", "07_explore",
                    "10_error_analysis", "11_scaling")
OWN = {"04_negative_sampling_ablation": {"strategies", "seeds", "ablation_limit", "ablation_passages",
                                         "ablation_negatives"},
       "05_domain_breakdown": {"breakdown_limit", "breakdown_datasets", "breakdown_untuned"},
       "11_scaling": {"scaling_sizes", "scaling_limit"},
       "06_supervised_multitask": {"supervised_passages", "supervised_datasets", "supervised_max_steps",
                                   "supervised_limit"},
       "07_explore": {"passage", "types", "use_tuned", "adapter", "interactive"},
       "10_error_analysis": {"n_resamples", "bootstrap_seed"}}


def _params(project_root, stem):
    return pm.inspect_notebook(str(project_root / "notebooks" / f"{stem}.ipynb"))


@pytest.mark.parametrize("stem", MANIFEST_READERS)
def test_manifest_readers_declare_no_training_parameter(project_root, stem):
    from unerlib.runs import STUDENT_PARAMS

    declared = set(_params(project_root, stem))
    assert not declared & set(STUDENT_PARAMS), sorted(declared & set(STUDENT_PARAMS))
    nb = nbformat.read(str(project_root / "notebooks" / f"{stem}.ipynb"), as_version=4)
    assert any("headline()" in c.source for c in nb.cells if c.cell_type == "code")


def test_notebook_03_records_every_parameter_the_manifest_needs(project_root):
    from unerlib.runs import STUDENT_PARAMS, notebook_defaults

    assert set(STUDENT_PARAMS) <= set(notebook_defaults("03_training"))


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


@pytest.mark.parametrize("profile", ["smoke", "default", "full", "paper"])
def test_profiles_set_only_declared_parameters(project_root, profile):
    prof = load_profile(profile, project_root)
    for stem in OWN:
        params = notebook_parameters(prof, project_root / "notebooks" / f"{stem}.ipynb")  # raises on a typo
        assert set(prof["notebooks"].get(stem, {})) <= set(params)

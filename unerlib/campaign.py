"""The quality campaign: student configurations compared on the validation suite.

Every configuration is a set of student parameters over one shared base (teacher data,
training recipe, inference settings); each is trained and scored on the validation suite
(:data:`unerlib.registry.VALIDATION`: corpora that are neither teacher sources, nor
zero-shot test sets, nor in the domain breakdown), never on the seven test sets. A
configuration is kept over the baseline only when its paired difference on the validation
average is resolved above zero; one with seed replicates is ranked by its draws' mean.
``uner campaign`` runs it and writes the results JSON that the campaign chapter shows
(committed under ``campaign/``, with machine and date).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from .campaign_carry import carry_earlier, other_machines, speed_ratio
from .campaign_configs import CONFIGS, PAIRS, REPLICATES, UNAFFORDABLE
from .campaign_pairs import pair_sentence, pair_table, training_spread  # noqa: F401  (the pairs live there)
from .campaign_suite import (EMPTY_CHECK, EMPTY_CHECKS, SUITES, VALIDATION_SETS, empty_check_size,  # noqa: F401
                             suite_sizes, suite_table)
from .registry import VALIDATION, teacher_sources
from .runs import LATER_DEFAULTS

def parse_configs(spec: str | Sequence[str]) -> dict[str, dict[str, Any]]:
    """Configurations by name (``"all"`` or a comma list of :data:`CONFIGS` names)."""
    if spec == "all":
        return dict(CONFIGS)
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise ValueError(f"unknown campaign configurations {unknown}; known: {', '.join(CONFIGS)}")
    return {n: CONFIGS[n] for n in names}


#: the profile parameters a campaign configuration starts from (its training recipe and inference)
BASE_PARAMS: tuple[str, ...] = ("negatives", "n_negatives", "seed", "max_new_tokens", "quantize", "empty_bias",
                                "constrain_spans", "one_type_per_entity", "learning_rate",
                                "epochs", "max_steps", "batch_size", "lora", "lora_r", "lora_alpha", "max_length",
                                "bf16", "lora_layers")


#: the profile parameters that rewrite a share of the training conversations (lower-cased text,
#: title-cased types), in a base only when set
CONVERSATION_SHARES: tuple[str, ...] = ("lowercase", "titlecase")


#: the profile parameters that make the teacher data (a configuration may change ``sources``)
DATA_BASE: tuple[str, ...] = ("teacher", "teacher_model", "base_url", "n_passages", "max_passage_tokens", "sources")


def campaign_base(params: dict[str, Any]) -> dict[str, Any]:
    """The base of every configuration from a profile's (or notebook 03's) parameters:
    the teacher data's parameters, the student's and its inference settings."""
    params = {**LATER_DEFAULTS, **params}  # a run recorded before the options existed
    missing = [k for k in ("student", *BASE_PARAMS) if k not in params]
    if missing:
        raise ValueError(f"the campaign needs the student parameters {missing}")
    data = {k: params.get(k) for k in DATA_BASE}
    data["sources"] = data["sources"] or "default"
    # the conversation shares, only when set: the bases of rounds before them keep their keys
    shares = {k: params[k] for k in CONVERSATION_SHARES if params.get(k)}
    # likewise the decoding of types in lower case, only when set
    lower = {"lower_types": True} if params.get("lower_types") else {}
    return {"model": params["student"], **data, **{k: params[k] for k in BASE_PARAMS}, **shares, **lower}


def run_campaign(base: dict[str, Any], configs: dict[str, dict[str, Any]],
                 sets: dict[str, int] | Sequence[str] = VALIDATION_SETS, limit: int | None = None,
                 progress: bool = True,
                 root: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None):
    """Build the teacher data and train (both cached), then score every configuration on
    the validation sets.

    ``base`` is :func:`campaign_base`'s; a configuration overrides any of its keys
    (``sources``: a mix of :data:`unerlib.registry.SOURCE_MIXES` or a comma list).
    ``sets`` and ``limit`` give the sentences per set (:func:`suite_sizes`).
    Returns one row per (configuration, set), the columns of
    :func:`unerlib.evaluation.evaluate_sets` plus ``config``, ``data`` and ``adapter``.
    """
    import pandas as pd

    from .artifacts import artifact_label
    from .evaluation import evaluate_sets
    from .experiments import build_student, build_teacher_data

    sizes = suite_sizes(sets, limit)
    unknown = [s for s in sizes if s.partition(":")[0] not in VALIDATION]
    if unknown:
        raise ValueError(f"{unknown} are not in the validation suite ({', '.join(VALIDATION)}); "
                         f"settings are never chosen on the test sets")
    frames = []
    for name, overrides in configs.items():
        params = {**base, **overrides}
        data_path, _ = build_teacher_data(teacher=params["teacher"], n_passages=params["n_passages"],
                                          seed=params["seed"], max_tokens=params["max_passage_tokens"],
                                          sources=teacher_sources(params["sources"]),
                                          teacher_model=params["teacher_model"] or None,
                                          base_url=params["base_url"] or None, student=params["model"],
                                          progress=progress, root=root, data_root=data_root)
        train = {k: v for k, v in params.items() if k not in (*DATA_BASE, "negatives", "n_negatives",
                                                              "seed", "max_new_tokens", "quantize", "empty_bias",
                                                              "constrain_spans", "one_type_per_entity",
                                                              "lower_types")}
        adapter = build_student(data_path, negatives=params["negatives"], n_negatives=params["n_negatives"],
                                seed=params["seed"], progress=progress, root=root, **train)
        scores = pd.concat([evaluate_sets(params["model"], adapter, sets=[name], limit=n,
                                          max_new_tokens=params["max_new_tokens"], quantize=params["quantize"],
                                          empty_bias=params["empty_bias"], constrain_spans=params["constrain_spans"],
                                          one_type_per_entity=params["one_type_per_entity"],
                                          lower_types=params.get("lower_types", False),
                                          progress=progress, root=root, data_root=data_root)
                            for name, n in sizes.items()], ignore_index=True)
        frames.append(scores.assign(config=name, data=artifact_label(Path(data_path).parent, root),
                                    adapter=Path(adapter).name, train_seconds=train_seconds(adapter)))
    return pd.concat(frames, ignore_index=True)


def train_seconds(adapter: str | os.PathLike) -> float | None:
    """The training time a student folder records (``uner_train.json``), if any."""
    meta = Path(adapter) / "uner_train.json"
    seconds = json.loads(meta.read_text()).get("train_seconds") if meta.is_file() else None
    return round(seconds, 1) if seconds else None


def summary(scores, baseline: str | None = None):
    """One row per configuration: validation average F1 with its interval, the paired
    difference against ``baseline`` (default: the first configuration) with its interval
    and verdict, and the share of empty answers beside gold's."""
    import pandas as pd

    from .intervals import average_interval, paired
    from .stats import verdict

    names = list(dict.fromkeys(scores["config"]))
    baseline = baseline or names[0]
    base = scores[scores["config"] == baseline]
    rows = []
    for name in names:
        sub = scores[scores["config"] == name]
        avg = average_interval(sub)
        row = {"config": name, "F1": round(avg.value, 2), "F1 low": round(avg.low, 2), "F1 high": round(avg.high, 2),
               "empty answers %": round(100 * sub["empty"].sum() / sub["questions"].sum(), 1),
               "gold empty %": round(100 * sub["gold_empty"].sum() / sub["questions"].sum(), 1),
               "precision": round(float(sub["precision"].mean()), 1), "recall": round(float(sub["recall"].mean()), 1),
               "train s": sub["train_seconds"].iloc[0] if "train_seconds" in sub else None}
        if name != baseline:
            diff = paired(sub, base)
            row.update({f"minus {baseline}": round(diff.value, 2), "diff low": round(diff.low, 2),
                        "diff high": round(diff.high, 2), "verdict": verdict(diff)})
        rows.append(row)
    return pd.DataFrame(rows)


#: the training seconds a kept configuration may take: the issue's 15 minutes for the headline
#: student on two CPU cores (the report's other students, the ablation's and the scaling
#: curve's, have their own passage counts in the profile, so they do not scale with it)
TRAIN_BUDGET_S = 900.0


def draws_of(table, configs: dict[str, dict[str, Any]] | None) -> dict[str, list[str]]:
    """For each configuration of ``table``, the configurations in it that are draws of the same
    recipe: itself, then those whose definition differs from it in ``seed`` alone (its
    replicates). Without ``configs`` every configuration is its only draw."""
    from .campaign_pairs import _differ

    names = list(table["config"])
    if not configs:
        return {n: [n] for n in names}
    return {n: [n, *(m for m in names if m != n and n in configs and m in configs
                     and _differ(configs[n], configs[m]) == {"seed"})] for n in names}


def recipe_scores(table, configs: dict[str, dict[str, Any]] | None) -> dict[str, tuple[float, str]]:
    """Each configuration's score for the choice, and how it was reached: the mean of its
    draws' validation averages when it has replicates (:func:`draws_of`); for a decoding of a
    replicated student (differing from it only in :data:`DECODING_KEYS`), that student's mean
    shifted by the decoding's own difference from it; else its own average."""
    from .campaign_pairs import DECODING_KEYS, _differ

    f1 = dict(zip(table["config"], table["F1"]))
    if not configs:
        return {n: (v, "") for n, v in f1.items()}
    draws = draws_of(table, configs)
    mean = {n: sum(f1[d] for d in ds) / len(ds) for n, ds in draws.items()}
    out: dict[str, tuple[float, str]] = {}
    for n, ds in draws.items():
        if len(ds) > 1:
            out[n] = (mean[n], f"{mean[n]:.1f} F1 as the mean of its {len(ds)} draws ("
                      + ", ".join(f"{f1[d]:.1f}" for d in ds) + ")")
            continue
        parents = [p for p in draws if p != n and len(draws[p]) > 1 and n in configs and p in configs
                   and set() < _differ(configs[n], configs[p]) <= set(DECODING_KEYS)]
        if parents:
            p = max(parents, key=lambda q: len(draws[q]))
            score = mean[p] + f1[n] - f1[p]
            out[n] = (score, f"{score:.1f} F1 as the mean of the {len(draws[p])} draws of `{p}` ({mean[p]:.1f}) "
                      f"shifted by this decoding's {f1[n] - f1[p]:+.1f} on its first draw")
        else:
            out[n] = (f1[n], "")
    return out


def choose(table, budget_s: float = TRAIN_BUDGET_S,
           configs: dict[str, dict[str, Any]] | None = None) -> tuple[str, str]:
    """The configuration kept and why: the best validation average among those whose
    paired difference over the baseline (the first row) is resolved above zero and whose
    measured training time is within ``budget_s`` seconds (a configuration without a
    recorded time counts as within), else the baseline. With ``configs``, configurations are
    ranked by :func:`recipe_scores` (a replicated recipe by its draws' mean, a decoding of it
    by that mean and its own shift), since two draws of one recipe differ by more than the
    paired interval says. Replicates
    (:data:`REPLICATES`) and the configurations of :data:`UNAFFORDABLE` are never kept; the
    reason names those resolved above the baseline that were left out although they score
    above the one kept, and why."""
    import pandas as pd

    baseline = table["config"].iloc[0]
    recipe = recipe_scores(table, configs)
    score = {n: v for n, (v, _) in recipe.items()}
    better = table[table.get("verdict", "") == "supported"] if "verdict" in table else table.iloc[0:0]
    better = better[~better["config"].isin(REPLICATES)]
    col = f"minus {baseline}"
    unaffordable = [r for _, r in better.iterrows() if r["config"] in UNAFFORDABLE]
    better = better[~better["config"].isin(list(UNAFFORDABLE))]

    def within(row) -> bool:
        s = row.get("train s")
        return s is None or bool(pd.isna(s)) or s <= budget_s

    def scored(name: str) -> str:
        return f", {recipe[name][1]}" if recipe[name][1] else ""

    over = [r for _, r in better.iterrows() if not within(r)]
    better = better[[within(r) for _, r in better.iterrows()]] if not better.empty else better
    def left_out(row, why: str) -> str:
        return (f"; `{row['config']}` is resolved above it ({row[col]:+.1f} F1, paired 95% interval "
                f"[{row['diff low']:+.1f}, {row['diff high']:+.1f}]{scored(row['config'])}) but {why}")

    # the configurations left out that score above the one kept: those the rule would otherwise keep
    floor = -float("inf") if better.empty else max(score[n] for n in better["config"])
    note = "".join(left_out(r, f"trains {r['train s']:.0f} s, over the training budget of {budget_s:.0f} s")
                   for r in over if score[r["config"]] > floor)
    note += "".join(left_out(r, UNAFFORDABLE[r["config"]] + ("" if within(r) else f", and trains "
                                                             f"{r['train s']:.0f} s, over the budget of {budget_s:.0f} s"))
                    for r in unaffordable if score[r["config"]] > floor)
    if better.empty:
        return baseline, (f"no configuration within the training budget beats the baseline `{baseline}` with a "
                          f"paired interval above zero on the validation suite{note}; the baseline is kept")
    best = better[better["config"] == max(better["config"], key=score.get)].iloc[0]
    ranked = "" if not configs else (" (over the draws of its student's recipe)" if recipe[best["config"]][1] else
                                     " (a single draw)")
    return str(best["config"]), (f"`{best['config']}` has the highest validation average{ranked} among the "
                                 f"configurations within the training budget resolved above the baseline `{baseline}` "
                                 f"({best[col]:+.1f} F1, paired 95% interval [{best['diff low']:+.1f}, "
                                 f"{best['diff high']:+.1f}]{scored(best['config'])}){note}")


def empty_check(scores, base: dict[str, Any], configs: dict[str, dict[str, Any]],
                check: tuple[str, int] = EMPTY_CHECK, progress: bool = True,
                root: str | os.PathLike | None = None, data_root: str | os.PathLike | None = None):
    """Each configuration's student scored by :func:`unerlib.emptiness.empty_summary` on one
    validation set (``check``: set and sentences), loaded as the campaign evaluates it (its
    ``quantize``); one row per configuration, each (student, quantization) cached."""
    import numpy as np
    import pandas as pd

    from .artifacts import artifact_dir, artifacts_root, building, is_done, mark_done, write_json_atomic
    from .emptiness import EmptyScores, empty_scores, empty_summary
    from .inference import load_questions
    from .student import load_student

    name, n = check
    rows, done, questions = [], {}, []
    for config, adapter in dict(zip(scores["config"], scores["adapter"])).items():
        quantize = {**base, **configs.get(config, {})}["quantize"]
        if (adapter, quantize) not in done:
            folder = artifact_dir("empty_scores", {"model": base["model"], "adapter": f"students/{adapter}",
                                                   "data": name, "limit": n, "quantize": quantize}, root)
            path = folder / "scores.json"
            if not is_done(folder):
                with building(folder):
                    if not is_done(folder):
                        student = load_student(base["model"], str(artifacts_root(root) / "students" / adapter),
                                               quantize=quantize)
                        questions = questions or load_questions(name, n, data_root)  # read once, if needed
                        got = empty_scores(student, questions, progress=progress)
                        write_json_atomic(path, {k: getattr(got, k).tolist() for k in ("log_prob", "gold_empty", "sentence")})
                        mark_done(folder)
            saved = json.loads(path.read_text())
            done[adapter, quantize] = empty_summary(EmptyScores(*(np.asarray(saved[k])
                                                                  for k in ("log_prob", "gold_empty", "sentence"))))
        rows.append({"config": config, **done[adapter, quantize]})
    return pd.DataFrame(rows)


def _rank(name: str) -> int:
    """A configuration's place in :data:`CONFIGS` (others last): the order of every table."""
    return list(CONFIGS).index(name) if name in CONFIGS else len(CONFIGS)


def results(scores, base: dict[str, Any], configs: dict[str, dict[str, Any]], limits: dict[str, int],
            machine: dict[str, Any] | None = None, empty=None, check: tuple[str, int] = EMPTY_CHECK,
            earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON the campaign chapter shows: base, configurations, sentences per validation
    set (``limits``), per-set rows (with their per-sentence ``counts`` as one string, so that a
    later round can pair against them), summary and choice, :func:`pair_table`, and :func:`empty_check`'s
    table (``empty``) when given.

    ``earlier``: a results file of the same base and sentences (or of a suite that ``limits``
    grows by a set: see :func:`unerlib.campaign_carry.carry_earlier`). Every configuration it
    holds that is not in ``scores`` and whose definition in :data:`CONFIGS` is unchanged is
    carried as recorded, and the table, the choice and the pairs are made over all of them. One
    recorded without per-sentence counts (files written before round 10) keeps its recorded
    summary row, and a pair that needs it its recorded interval. ``rescored`` gives, for each
    configuration scored again, the largest change of a per-set F1 against the earlier file, and
    ``earlier_machines`` the machines the carried rows were measured on. The training budget of
    the choice is :data:`TRAIN_BUDGET_S` in the first rows' seconds, the earlier file's
    ``budget_s`` in its own: scaled by ``speed`` (:func:`unerlib.campaign_carry.speed_ratio`)
    when this machine trains the same students faster or slower, and written as ``budget_s``."""
    import pandas as pd

    from .intervals import count_sets

    scores = scores.assign(counts=[" ".join(map(str, c.ravel())) for c in count_sets(scores)])
    carried = carry_earlier(earlier, scores, base, limits) if earlier is not None else None
    speed = speed_ratio(earlier, scores) if earlier is not None and "train_seconds" in scores else None
    earlier_budget = float(earlier.get("budget_s", TRAIN_BUDGET_S)) if earlier is not None else TRAIN_BUDGET_S
    budget = earlier_budget * (speed or 1.0)
    if carried is not None:
        scores = pd.concat([scores, carried.scores], ignore_index=True)
        configs = {**configs, **carried.configs}
    configs = dict(sorted(configs.items(), key=lambda kv: _rank(kv[0])))
    baseline = next(iter(configs))
    if carried is not None and baseline in carried.legacy:
        raise ValueError(f"the baseline `{baseline}` is recorded without per-sentence counts: score it again")
    scores = scores.sort_values("config", key=lambda s: s.map(_rank), kind="stable", ignore_index=True)
    table = pd.concat([summary(scores, baseline), pd.DataFrame(carried.summary if carried else [])],
                      ignore_index=True)
    table = table.sort_values("config", key=lambda s: s.map(_rank), kind="stable", ignore_index=True)
    kept, why = choose(table, budget_s=budget, configs=configs)
    if speed and abs(speed - 1.0) > 0.05:
        why += (f" (the budget is {earlier_budget:.0f} s on the machine of the earlier rows; this machine trained the "
                f"same students {speed:.2f} times as long, so it is {budget:.0f} s here)")
    elif earlier_budget != TRAIN_BUDGET_S:
        why += (f" (the budget is {TRAIN_BUDGET_S:.0f} s on the machine of the first rows, {budget:.0f} s in the "
                f"earlier file's seconds, as it recorded)")
    pairs = pair_table(scores).to_dict(orient="records") + (carried.pairs if carried else [])
    position = {p: i for i, p in enumerate(PAIRS)}
    pairs.sort(key=lambda r: position.get((r["config"], r["against"]), len(position)))
    cols = ["config", "dataset", "f1", "f1_low", "f1_high", "precision", "recall", "sentences", "questions",
            "empty", "gold_empty", "cap_hits", "loop_stops", "parse_failures", "data", "adapter"]
    cols += ["train_seconds"] if "train_seconds" in scores else []
    per_set = [{**row, "counts": counts} for row, counts in
               zip(json.loads(scores[cols].round(2).to_json(orient="records")), scores["counts"])]
    per_set = sorted(per_set + (carried.per_set if carried else []), key=lambda r: _rank(r["config"]))
    empty_rows = json.loads(empty.to_json(orient="records")) if empty is not None else []
    checked = {r["config"] for r in empty_rows}
    empty_rows += [r for r in (carried.empty_rows if carried else []) if r["config"] not in checked]
    return {"base": base, "configs": configs, "validation_sets": sorted({r["dataset"] for r in per_set}), "limits": limits,
            "per_set": per_set, "summary": json.loads(table.to_json(orient="records")), "kept": kept, "why": why,
            "pairs": json.loads(json.dumps(pairs)),
            **({"empty_check": {"set": check[0], "sentences": check[1],
                                "rows": sorted(empty_rows, key=lambda r: _rank(r["config"]))}} if empty_rows else {}),
            **({"rescored": carried.rescored} if carried and carried.rescored else {}),
            **({"speed": speed} if speed else {}),
            **({"budget_s": round(budget, 1)} if speed or budget != TRAIN_BUDGET_S else {}),
            **({"earlier_machines": other_machines(earlier, machine or {})} if earlier is not None else {}),
            "machine": machine or {}}


def load_results(path: str | os.PathLike) -> dict[str, Any]:
    """A campaign results JSON; a clear error when it is missing."""
    from .data import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"no campaign results at {path}: run `uner campaign --out {path}` first")
    return json.loads(path.read_text())

"""Carrying an earlier round's results file into a new one: the configurations it holds that a
round does not score again, the rows that complete a configuration scored on a grown suite's new
sets only, and the machines those rows were measured on (see :func:`unerlib.campaign.results`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .campaign_configs import CONFIGS


class Carried(NamedTuple):
    """What an earlier results file gives a round (see :func:`results`)."""
    scores: Any  # its rows recorded with per-sentence counts, as score rows
    configs: dict[str, dict[str, Any]]  # every configuration carried (or completed)
    legacy: set[str]  # those recorded without counts
    per_set: list[dict[str, Any]]  # the legacy configurations' per-set rows
    summary: list[dict[str, Any]]  # and their summary rows
    pairs: list[dict[str, Any]]  # the recorded pairs that need a legacy configuration
    empty_rows: list[dict[str, Any]]  # the carried configurations' empty-check rows
    rescored: dict[str, float]  # configuration scored again -> largest per-set F1 change


def carry_earlier(earlier: dict[str, Any], scores, base: dict[str, Any], limits: dict[str, int]) -> Carried:
    """The configurations of ``earlier`` not in ``scores`` whose definition in :data:`CONFIGS`
    is unchanged, and how far the ones scored again moved.

    ``limits`` may add sets to the earlier file's suite (a suite grows by a set): a
    configuration scored now on some sets only (the new ones, say) is completed with the
    earlier file's rows of the others, which must be of the same student (its adapter key)
    and carry their per-sentence counts; a configuration not scored now is then not carried,
    since it lacks the new sets (it stays in the earlier file)."""
    import pandas as pd

    from .data import DataError

    was_limits = earlier["limits"]
    if (earlier["base"] != base or any(limits.get(s) != n for s, n in was_limits.items())):
        raise ValueError("an earlier round is carried only onto the same base and sentences per set, "
                         f"or a suite that adds sets to them (it has {earlier['base']} and {was_limits})")
    grown = set(limits) != set(was_limits)
    old = pd.DataFrame(earlier["per_set"])
    scored = set(scores["config"])
    rescored = {}
    for name in scored & set(old["config"]):
        was = old[old["config"] == name].set_index("dataset")["f1"]
        now = scores[scores["config"] == name].set_index("dataset")["f1"].round(2)
        shared = now.index.intersection(was.index)
        if len(shared):
            rescored[name] = round(float((now[shared] - was[shared]).abs().max()), 2)
    unchanged = {c for c in earlier["configs"] if CONFIGS.get(c) == earlier["configs"][c]}
    sets_now = scores.groupby("config")["dataset"].agg(set).to_dict()
    partial = {c for c, got in sets_now.items() if not got >= set(limits)}
    frames = []
    for name in sorted(partial):
        missing = set(limits) - sets_now[name]
        rows = old[(old["config"] == name) & old["dataset"].isin(missing)]
        adapters = set(scores.loc[scores["config"] == name, "adapter"])
        if (name not in unchanged or set(rows["dataset"]) != missing or "counts" not in rows
                or not rows["counts"].map(lambda c: isinstance(c, str)).all() or set(rows["adapter"]) != adapters):
            raise DataError(f"`{name}` is scored on {sorted(sets_now[name])} only, and the earlier file has no rows "
                            f"of the same student with per-sentence counts for {sorted(missing)}")
        frames.append(rows)
    carried = [] if grown else [c for c in earlier["configs"] if c not in scored and c in unchanged]
    old_whole = old[old["config"].isin(carried)]
    counted = (old_whole["counts"].map(lambda c: isinstance(c, str)) if "counts" in old_whole
               else pd.Series(False, index=old_whole.index))
    legacy = set(old_whole.loc[~counted, "config"])
    completed = pd.concat([old_whole[counted], *frames], ignore_index=True)
    kept = [*carried, *sorted(partial)]
    return Carried(completed, {c: earlier["configs"][c] for c in kept}, legacy,
                    [r for r in earlier["per_set"] if r["config"] in legacy],
                    [r for r in earlier["summary"] if r["config"] in legacy],
                    [r for r in earlier.get("pairs", []) if {r["config"], r["against"]} & legacy],
                    [r for r in (earlier.get("empty_check") or {}).get("rows", []) if r["config"] in kept],
                    rescored)


def other_machines(earlier: dict[str, Any], machine: dict[str, Any]) -> list[dict[str, Any]]:
    """The machines of an earlier file's rows, each once and without this round's (a chain of
    rounds on one machine names it once)."""
    out: list[dict[str, Any]] = []
    for m in [*earlier.get("earlier_machines", []), earlier.get("machine", {})]:
        if m and m not in out and m != machine:
            out.append(m)
    return out


def speed_ratio(earlier: dict[str, Any], scores) -> float | None:
    """How many times as long this round's machine trains a student as the earlier file's did:
    the median, over the students scored now (by adapter key, under any configuration name: a
    decoding lever reuses its student) that the earlier file records a training time for, of the
    time measured now over the recorded one (1.0 for a student taken from the cache); None when
    no student was timed in both. A student's recorded time is its configuration's ``train s`` in
    the earlier summary (its rows may carry times from machines before that file's)."""
    import statistics

    summary_s = {r["config"]: r["train s"] for r in earlier.get("summary", []) if r.get("train s")}
    recorded = {r["adapter"]: summary_s[r["config"]] for r in earlier.get("per_set", []) if r["config"] in summary_s}
    ratios = [now / recorded[adapter] for adapter, now in
              scores.groupby("adapter")["train_seconds"].first().items()
              if now and adapter in recorded]
    return round(statistics.median(ratios), 3) if ratios else None

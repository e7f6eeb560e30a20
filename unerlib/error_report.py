"""The error analysis for reading: tables and generated prose over :mod:`unerlib.errors`'s
results (the analysis itself stays there), and the answer rates that explain a score near
zero on sets whose gold answers are mostly empty."""

from __future__ import annotations

from .errors import ERROR_KINDS, KINDS, top_examples


# --------------------------------------------------------------------------- tables for the report


def with_total(table, label: str = "all sets"):
    """The table with a last row summing its columns."""
    import pandas as pd

    total = table.sum(numeric_only=True).to_frame(label).T.astype(table.dtypes.to_dict())
    return pd.concat([table, total])


HEALTH_COLUMNS: dict[str, str] = {"answers": "answers", "empty": "empty []", "parse_failures": "parse failures",
                                  "no_list": "no list", "invalid_json": "invalid JSON",
                                  "not_a_list_of_strings": "not strings", "cap_hits": "cap hits",
                                  "cap_hit_failures": "cap hits unparsed"}


def health_table(health):
    """:func:`analyse_sets`'s ``health`` for reading: named columns and an all-sets row."""
    return with_total(health[list(HEALTH_COLUMNS)]).rename(columns=HEALTH_COLUMNS)


def type_table(types, digits: int = 1):
    """The per-type scores for reading: only (set, type) pairs with a gold or a predicted
    entity, precision/recall/F1 rounded, and the F1 interval as ``[low, high]``."""
    sub = types[(types["gold"] > 0) | (types["predicted"] > 0)]
    out = sub[["dataset", "type", "sentences", "gold", "predicted", "correct", "precision", "recall", "f1"]]
    out = out.round(digits).assign(**{"F1 95% interval": [f"[{lo:.{digits}f}, {hi:.{digits}f}]" for lo, hi in
                                                          zip(sub["f1_low"], sub["f1_high"])]})
    return out.rename(columns={"f1": "F1"}).reset_index(drop=True)


def examples_or_note(table, kind: str, n: int = 5, width: int = 160):
    """:func:`top_examples`, or a one-line note (Markdown) when the kind never occurs."""
    top = top_examples(table, kind, n, width)
    if len(top):
        return top
    from IPython.display import Markdown

    return Markdown(f"*No {kind} entity in these answers.*")


# --------------------------------------------------------------------------- prose


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def _n(k: int, word: str) -> str:
    """``1 set``, ``7 sets``."""
    return f"{k} {word}{'' if k == 1 else 's'}"


def health_summary(health, max_new_tokens: int | str | None = None) -> str:
    """A paragraph on the answers the official parser could not read and the answers cut
    at the token cap, from :func:`analyse_sets`'s ``health`` table (one row per set)."""
    n = int(health["answers"].sum())
    if n == 0:
        return "No answers to inspect."
    fails = int(health["parse_failures"].sum())
    text = [f"Of {_n(n, 'answer')} over {_n(len(health), 'set')}, {fails} ({_pct(fails, n)}) could not be read by the "
            f"official parser"]
    if fails:
        reasons = [(int(health[c].sum()), label) for c, label in
                   (("no_list", "did not open with a one-line JSON list"), ("invalid_json", "were not valid JSON"),
                    ("not_a_list_of_strings", "held an item that is not a string"))]
        text.append(": " + ", ".join(f"{k} {label}" for k, label in reasons if k))
        worst = health["parse_failures"].div(health["answers"].where(health["answers"] > 0)).idxmax()
        text.append(". They score as empty answers, so every gold entity they were asked about counts as missed")
        rates = health["parse_failures"].div(health["answers"].where(health["answers"] > 0))
        if len(health) > 1 and rates.max() > rates.min():
            text.append(f"; the share is highest on {worst} "
                        f"({_pct(health.loc[worst, 'parse_failures'], health.loc[worst, 'answers'])})")
    text.append(". ")
    empty = int(health["empty"].sum())
    text.append(f"{_n(empty, 'answer')} ({_pct(empty, n)}) {'was' if empty == 1 else 'were'} a readable empty list `[]`. ")
    recorded = int(health["cap_hits_recorded"].sum()) if "cap_hits_recorded" in health else 0
    if max_new_tokens == "auto":
        cap = "its set's token cap (the set's longest gold answer plus a margin)"
    else:
        cap = f"the {max_new_tokens}-token cap" if max_new_tokens else "the token cap"
    hits, hit_fails = int(health["cap_hits"].sum()), int(health["cap_hit_failures"].sum())
    if recorded == 0:
        text.append(f"These predictions do not record whether an answer reached {cap} (the predictor that "
                    "wrote them did not record it), so cap hits count as 0 here.")
    elif hits == 0:
        text.append(f"None of the {recorded} answers with the flag recorded reached {cap}, so the cap cut no "
                    f"answer short.")
    else:
        text.append(f"{_n(hits, 'answer')} ({_pct(hits, recorded)} of the {recorded} with the flag recorded) reached "
                    f"{cap}; {hit_fails} of them could not be parsed, so raising the cap would turn "
                    f"at most that many parse failures into readable answers.")
    return "".join(text)


def kinds_summary(counts) -> str:
    """A paragraph on the kinds of errors, from :func:`error_counts` (one row per set)."""
    totals = counts[list(KINDS)].sum()
    errors = int(totals[list(ERROR_KINDS)].sum())
    gold = int(totals["correct"] + totals["missed"])
    predicted = int(totals[list(KINDS[:-1])].sum())
    if errors == 0:
        return (f"Over {_n(len(counts), 'set')} the student made no error: {int(totals['correct'])} correct entities "
                f"and nothing missed.")
    ranked = sorted((k for k in ERROR_KINDS if totals[k]), key=lambda k: -totals[k])
    parts = ", ".join(f"{k} {int(totals[k])} ({_pct(totals[k], errors)})" for k in ranked)
    absent = [k for k in ERROR_KINDS if not totals[k]]
    if absent:
        parts += f"; none {' or '.join(absent)}"
    text = [f"Over {_n(len(counts), 'set')} the student named {int(totals['correct'])} gold entities correctly out of "
            f"{gold} ({_pct(totals['correct'], gold)} recall), from {predicted} entities predicted"
            + (f" ({_pct(totals['correct'], predicted)} precision)." if predicted else ".")
            + f" Its {errors} errors, largest kind first: {parts}. "]
    wrong = [k for k in ERROR_KINDS if k != "missed"]
    n_wrong = int(totals[wrong].sum())
    if n_wrong:
        top = max(wrong, key=lambda k: totals[k])
        text.append(f"Of the {n_wrong} wrong predictions, {top} is the most common kind "
                    f"({_pct(totals[top], n_wrong)}). ")
        located = int(totals["wrong type"] + totals["wrong boundary"])
        text.append(f"{located} of them ({_pct(located, n_wrong)}) are mentions the student found but typed or "
                    f"cut differently from the gold; {int(totals['hallucinated'])} name text the passage "
                    f"does not contain. ")
    per_set = counts[list(ERROR_KINDS)]
    shares = per_set.div(per_set.sum(axis=1).where(per_set.sum(axis=1) > 0), axis=0)
    if len(counts) > 1 and shares["hallucinated"].notna().any() and shares["hallucinated"].max() > 0:
        worst = shares["hallucinated"].idxmax()
        text.append(f"The share of hallucinated entities among a set's errors is highest on {worst} "
                    f"({100 * shares.loc[worst, 'hallucinated']:.1f}%).")
    return "".join(text).strip()


def types_summary(types, level: float = 0.95) -> str:
    """A paragraph on the per-type scores and how far their intervals resolve them, from
    :func:`analyse_sets`'s ``types`` table."""
    present = types[types["gold"] > 0]
    if present.empty:
        return "No type of these sets has a gold entity in the sentences evaluated."
    silent = int(((types["gold"] == 0) & (types["predicted"] == 0)).sum())
    zero = present[present["correct"] == 0]
    width = (present["f1_high"] - present["f1_low"])
    text = [f"{len(present)} of {len(types)} (set, type) pairs have gold entities in the sentences evaluated "
            f"({silent} have neither a gold nor a predicted entity and are left out of the table); "
            f"{len(zero)} of them ({_pct(len(zero), len(present))}) are never predicted correctly "
            f"(F1 0). The median width of the {100 * level:.0f}% intervals is {width.median():.1f} F1 points"]
    few = int((present["sentences"] < 10).sum())
    if few:
        text.append(f"; {few} pairs rest on fewer than 10 sentences, where the bootstrap interval is "
                    f"itself unreliable (one sentence gives an interval of zero width, which says nothing)")
    if width.max() <= 0:
        return "".join(text) + "."
    wide = present.loc[width.idxmax()]
    text.append(f". The widest interval is {wide['type']} on {wide['dataset']} "
                f"({wide['f1']:.1f}, from {wide['f1_low']:.1f} to {wide['f1_high']:.1f}): two types whose "
                f"intervals overlap this much are not told apart by this evaluation.")
    return "".join(text)


# --------------------------------------------------------------------------- answer rates


def answer_rates(evaluations, digits: int = 1):
    """Per evaluated set (rows of :func:`unerlib.evaluation.evaluate_sets`): how often gold
    names an entity and how often the student does (an answer the parser cannot read counts
    as empty, as the metric scores it), beside precision, recall and F1 with its interval."""
    import pandas as pd

    q = evaluations["questions"].where(evaluations["questions"] > 0)
    named = q - evaluations["empty"] - evaluations["parse_failures"]
    out = pd.DataFrame({
        "dataset": evaluations["dataset"], "sentences": evaluations["sentences"], "questions": evaluations["questions"],
        "gold names an entity %": 100 * (q - evaluations["gold_empty"]) / q,
        "student names one %": 100 * named / q,
        "precision": evaluations["precision"], "recall": evaluations["recall"], "F1": evaluations["f1"],
        "F1 95% interval": [f"[{lo:.{digits}f}, {hi:.{digits}f}]"
                            for lo, hi in zip(evaluations["f1_low"], evaluations["f1_high"])]})
    return out.round(digits).reset_index(drop=True)


def answer_rates_summary(rates) -> str:
    """A paragraph on :func:`answer_rates`: the gap between how often the student names an
    entity and how often gold does, and the sets where that gap is widest."""
    if rates.empty:
        return "No sets to compare."
    gold, named = rates["gold names an entity %"], rates["student names one %"]
    worst = rates.loc[rates["F1"].idxmin()]
    text = [f"Over {_n(len(rates), 'set')}, gold names an entity for {gold.median():.1f}% of the questions "
            f"(median; from {gold.min():.1f}% to {gold.max():.1f}%), the student for {named.median():.1f}% "
            f"(from {named.min():.1f}% to {named.max():.1f}%). "]
    over = int((named > gold).sum())
    text.append(f"On {over} of them the student names something more often than gold does; every such answer to a "
                f"question gold leaves empty is a false positive, so precision falls with the gold rate whatever "
                f"the student recognises. ")
    text.append(f"The lowest F1 is on {worst['dataset']} ({worst['F1']:.1f}, interval {worst['F1 95% interval']}), "
                f"where gold names an entity for {worst['gold names an entity %']:.1f}% of the questions and the "
                f"student for {worst['student names one %']:.1f}%.")
    return "".join(text)

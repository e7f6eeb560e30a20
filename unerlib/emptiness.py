"""Does the student's "none" depend on the type? Its probability of an empty answer per question.

A question's *empty probability* is the probability the student gives, at the first token of
its answer, to the tokens that spell a whole empty answer (`` []``, the one token its training
answers ``[]`` with; :func:`unerlib.decoder.empty_answer_ids`). Greedy decoding answers ``[]``
when that token wins, so a student whose empty probability sits near one half for every
question flips many answers between ``[]`` and a list on a small change of its weights.
How well the probability separates the questions gold answers with ``[]`` from the others is
its AUC: 0.5 when the student's "none" ignores the type and the passage, 1.0 when it ranks
every gold-empty question above every other. The interval resamples sentences, as
:mod:`unerlib.stats` does for F1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .stats import DEFAULT_RESAMPLES, Estimate, _check_resamples, _indices, _interval


@dataclass(frozen=True)
class EmptyScores:
    """Per question: log empty probability, whether gold is empty, and its sentence index."""

    log_prob: np.ndarray
    gold_empty: np.ndarray
    sentence: np.ndarray


def empty_scores(student, questions: Sequence, batch_rows: int = 48, progress: bool = True) -> EmptyScores:
    """The log empty probability of every question (one forward pass each, no decoding).

    ``student`` is a :class:`unerlib.student.Student`; ``questions`` are
    :class:`unerlib.inference.Question` with gold answers. Rows are left-padded and batched
    across passages, ``batch_rows`` at a time.
    """
    import torch
    from tqdm.auto import tqdm

    from .decoder import empty_answer_ids
    from .instructions import encode_prefix, encode_question

    if any(q.gold is None for q in questions):
        raise ValueError("every question needs its gold answer to score the student's empty answers")
    tok, model = student.tokenizer, student.model
    empty = torch.tensor(empty_answer_ids(tok))
    prefixes: dict[str, list[int]] = {}
    rows = []
    for q in questions:
        if q.passage not in prefixes:
            prefixes[q.passage] = encode_prefix(tok, q.passage)
        rows.append(prefixes[q.passage] + encode_question(tok, q.type))
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))  # little padding within a batch
    out = np.empty(len(rows))
    pad = tok.pad_token_id
    with torch.inference_mode():
        for start in tqdm(range(0, len(order), batch_rows), disable=not progress, desc="empty answers", unit="batch"):
            idx = order[start:start + batch_rows]
            width = max(len(rows[i]) for i in idx)
            ids = torch.tensor([[pad] * (width - len(rows[i])) + rows[i] for i in idx])
            mask = torch.tensor([[0] * (width - len(rows[i])) + [1] * len(rows[i]) for i in idx])
            positions = (mask.cumsum(1) - 1).clamp(min=0)
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions,
                           logits_to_keep=1).logits[:, -1].float()
            out[idx] = logits.log_softmax(-1)[:, empty].logsumexp(-1).numpy()
    sentence_of = {p: i for i, p in enumerate(prefixes)}
    gold = np.array([json.loads(q.gold) == [] for q in questions])
    return EmptyScores(out, gold, np.array([sentence_of[q.passage] for q in questions]))


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties: half)."""
    import pandas as pd

    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(scores, dtype=float)).rank().to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def empty_auc(scores: EmptyScores, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
              level: float = 0.95) -> Estimate:
    """AUC of the empty probability against gold emptiness, with a percentile interval
    from resampling sentences."""
    _check_resamples(n_resamples)
    value = auc(scores.log_prob, scores.gold_empty)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(scores.sentence == s) for s in np.unique(scores.sentence)]
    samples = np.array([auc(scores.log_prob[idx], scores.gold_empty[idx])
                        for idx in (np.concatenate([groups[i] for i in row])
                                    for row in _indices(rng, len(groups), n_resamples))])
    samples = samples[~np.isnan(samples)]  # a resample whose gold answers are all of one kind
    return _interval(value, samples, level) if samples.size else Estimate(value, float("nan"), float("nan"))


def empty_summary(scores: EmptyScores, n_resamples: int = DEFAULT_RESAMPLES) -> dict[str, float]:
    """The row of one student: AUC [95%], median empty probability (percent) on gold-empty
    and on the other questions, and the share of questions whose empty probability lies
    between 0.25 and 0.75, where a small change of the weights flips the greedy answer."""
    p = np.exp(scores.log_prob)
    est = empty_auc(scores, n_resamples)
    gold = scores.gold_empty
    return {"questions": int(len(p)), "AUC": round(est.value, 3), "AUC low": round(est.low, 3),
            "AUC high": round(est.high, 3),
            "P(empty) | gold empty": round(float(np.median(p[gold])) * 100, 1) if gold.any() else None,
            "P(empty) | gold names one": round(float(np.median(p[~gold])) * 100, 1) if (~gold).any() else None,
            "near one half %": round(float(((p > 0.25) & (p < 0.75)).mean()) * 100, 1)}


def empty_sentences(table, baseline: str | None = None) -> str:
    """What :func:`empty_summary`'s rows (one per configuration, column ``config``) say, in
    words: the baseline's (default: first row's) AUC and medians, and the range of AUCs."""
    import pandas as pd

    table = table.assign(**{c: pd.to_numeric(table[c]) for c in ("AUC", "AUC low", "AUC high")})
    row = table.iloc[0] if baseline is None else table[table["config"] == baseline].iloc[0]
    if pd.isna(row["AUC"]):
        return (f"The baseline `{row['config']}`'s AUC cannot be read here: gold's answers to the questions "
                "checked are all empty or all not.")
    separates = row["AUC low"] > 0.5
    text = (f"The baseline `{row['config']}` gives an empty answer a median probability of "
            f"{row['P(empty) | gold empty']:.0f}% where gold is empty and {row['P(empty) | gold names one']:.0f}% "
            f"where gold names an entity; its AUC is {row['AUC']:.2f} [{row['AUC low']:.2f}, {row['AUC high']:.2f}] "
            + ("(above chance, but far from a clean separation)" if separates and row["AUC"] < 0.8 else
               "(above chance)" if separates else "(not resolved from chance)")
            + f". {row['near one half %']:.0f}% of its questions have an empty probability between 0.25 and 0.75, "
              "where a small change of the weights flips the greedy answer between `[]` and a list.")
    read = table.dropna(subset=["AUC"])
    lo, hi = read.loc[read["AUC"].idxmin()], read.loc[read["AUC"].idxmax()]
    return text + (f" Over the configurations the AUC runs from {lo['AUC']:.2f} (`{lo['config']}`) to "
                   f"{hi['AUC']:.2f} (`{hi['config']}`).")

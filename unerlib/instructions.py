"""The conversation format of UniversalNER, in one place for training and inference.

The official ``ie_as_qa`` template (FastChat ``ADD_COLON_TWO``: ``sep=" "``, ``sep2="</s>"``)
renders a conversation as::

    {SYSTEM} USER: Text: {passage} ASSISTANT: I've read this text.</s>USER: What describes
    {type} in the text? ASSISTANT: ["..."]</s>USER: ...

Here ``</s>`` is the student's own end-of-sequence token. Token ids are built piece by
piece (prefix, question, answer), never by re-tokenizing the joined string, so that
training sees exactly the tokens inference feeds the model, and the passage prefix can be
computed once and shared by every question about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

SYSTEM = "A virtual assistant answers questions from a user based on the provided text."
ACK = "I've read this text."


def prefix_text(passage: str) -> str:
    """The shared start of every question about ``passage``, up to the end-of-turn token."""
    return f"{SYSTEM} USER: Text: {passage} ASSISTANT: {ACK}"


def question_text(entity_type: str) -> str:
    """One question turn, ending where the assistant's answer begins."""
    return f"USER: What describes {entity_type} in the text? ASSISTANT:"


def answer_text(entities: Sequence[str]) -> str:
    """The assistant's answer: a space, then the JSON list (end token added separately)."""
    return " " + json.dumps(list(entities), ensure_ascii=False)


def render(passage: str, turns: Sequence[tuple[str, Sequence[str] | None]], eos: str = "</s>") -> str:
    """The whole conversation as text (for display): ``turns`` are (type, answer or None)."""
    out = prefix_text(passage) + eos
    for typ, answer in turns:
        out += question_text(typ)
        if answer is not None:
            out += answer_text(answer) + eos
    return out


@dataclass(frozen=True)
class PromptTokens:
    """Token ids of a passage prefix (ending with the end token) and of its questions."""

    prefix: list[int]
    questions: list[list[int]]


def encode_prefix(tokenizer, passage: str) -> list[int]:
    """Token ids of :func:`prefix_text` (with the tokenizer's own start token, if it adds
    one), followed by the end-of-sequence token."""
    ids = tokenizer(prefix_text(passage), add_special_tokens=True)["input_ids"]
    return list(ids) + [tokenizer.eos_token_id]


def encode_question(tokenizer, entity_type: str) -> list[int]:
    """Token ids of one question turn."""
    return list(tokenizer(question_text(entity_type), add_special_tokens=False)["input_ids"])


def encode_answer(tokenizer, entities: Sequence[str]) -> list[int]:
    """Token ids of one answer, with the end-of-sequence token."""
    ids = tokenizer(answer_text(entities), add_special_tokens=False)["input_ids"]
    return list(ids) + [tokenizer.eos_token_id]


def encode_prompts(tokenizer, passage: str, types: Sequence[str]) -> PromptTokens:
    """The prefix and question ids for every type asked about one passage."""
    return PromptTokens(encode_prefix(tokenizer, passage), [encode_question(tokenizer, t) for t in types])


# --------------------------------------------------------------------------- training data

NEGATIVE_STRATEGIES = ("none", "uniform", "frequency", "corpus", "complete")


@dataclass
class Conversation:
    """One passage and its questions: (type, answer entities); ``[]`` marks a negative."""

    passage: str
    turns: list[tuple[str, list[str]]]
    source: str = ""


def positive_turns(item: dict) -> list[tuple[str, list[str]]]:
    """(type, entities) of a Pile-NER-type record, as its answers give them."""
    import re

    conv = item["conversations"]
    out = []
    for q, a in zip(conv[2::2], conv[3::2]):
        m = re.match(r"^What describes (.*) in the text\?$", q["value"])
        if not m:
            continue
        try:
            ents = json.loads(a["value"])
        except json.JSONDecodeError:
            continue
        if isinstance(ents, list):
            out.append((m.group(1), [str(e) for e in ents]))
    return out


def build_conversations(
    data: Sequence[dict],
    negatives: str = "frequency",
    n_negatives: int = 2,
    seed: int = 0,
    type_map: dict[str, str] | None = None,
) -> list[Conversation]:
    """Turn Pile-NER-type records into training conversations (paper, Section 3).

    Every type present is asked, its answer the entities in order of appearance; then
    ``n_negatives`` types absent from the passage are asked with answer ``[]``, drawn
    ``uniform`` over all types, by ``frequency`` (probability proportional to the type's
    mention count over the whole dataset), from the passage's own ``corpus`` (the types of
    the passages with the same ``source``, by their frequency there: for a gold corpus its
    label set, which is how the evaluation asks), ``complete`` (as ``corpus``, but none for
    the passages of :data:`unerlib.registry.PARTIAL_SOURCES`, whose unlisted types may still
    be in them: with the gold-corpus teacher every negative is then a true one), or none.
    ``type_map`` merges name variants (see :func:`unerlib.typefreq.merge_variants`).
    Question order is shuffled; ``seed`` fixes everything.
    """
    import random
    from collections import Counter

    from .registry import PARTIAL_SOURCES

    if negatives not in NEGATIVE_STRATEGIES:
        raise ValueError(f"negatives must be one of {NEGATIVE_STRATEGIES}, not {negatives!r}")
    rng = random.Random(seed)
    tmap = type_map or {}
    positives = []
    freq: Counter = Counter()
    for item in data:
        merged: dict[str, list[str]] = {}
        for typ, ents in positive_turns(item):
            typ = tmap.get(typ, typ)
            merged.setdefault(typ, []).extend(e for e in ents if e not in merged.get(typ, []))
        merged = {t: e for t, e in merged.items() if e}
        positives.append(merged)
        for t, e in merged.items():
            freq[t] += len(e)
    types = sorted(freq)
    weights = [freq[t] for t in types] if negatives == "frequency" else [1] * len(types)
    by_source: dict[str, Counter] = {}
    own_pool = negatives in ("corpus", "complete")
    if own_pool:
        for item, merged in zip(data, positives):
            by_source.setdefault(item.get("source", ""), Counter()).update({t: len(e) for t, e in merged.items()})
    out = []
    for item, merged in zip(data, positives):
        turns = list(merged.items())
        pool, pool_w = types, weights
        if own_pool:
            own = by_source[item.get("source", "")]
            partial = negatives == "complete" and item.get("source", "") in PARTIAL_SOURCES
            pool = [] if partial else sorted(own)
            pool_w = [own[t] for t in pool]
        if negatives != "none" and n_negatives > 0 and len(pool) > len(merged):
            chosen: list[str] = []
            for _ in range(50 * n_negatives):
                t = rng.choices(pool, weights=pool_w)[0]
                if t not in merged and t not in chosen:
                    chosen.append(t)
                    if len(chosen) == n_negatives:
                        break
            turns.extend((t, []) for t in chosen)
        rng.shuffle(turns)
        passage = item["conversations"][0]["value"]
        passage = passage[len("Text: "):] if passage.startswith("Text: ") else passage
        out.append(Conversation(passage, turns, item.get("source", "")))
    return out


def check_share(share: float) -> float:
    """``share`` when it lies between 0 and 1 (a share of the conversations), else a ValueError."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a share of the conversations must lie between 0 and 1, got {share}")
    return share


def _chosen(n: int, share: float, seed: int | str) -> set[int]:
    """A seeded sample of ``round(share * n)`` of the indices ``0..n-1`` (``share`` checked by
    :func:`check_share`): the conversations a share rewrites."""
    import random

    return set(random.Random(seed).sample(range(n), round(check_share(share) * n)))


def lowercase_share(convs: Sequence[Conversation], share: float, seed: int = 0) -> list[Conversation]:
    """``convs`` with a seeded ``share`` of them (0 to 1) written in lower case, passage and
    answers alike (types as asked): two zero-shot sets (MIT Movie, MIT Restaurant) and the
    MultiCoNER II validation views are lower-cased queries, the teacher passages are cased."""
    chosen = _chosen(len(convs), share, seed)
    return [Conversation(c.passage.lower(), [(t, [e.lower() for e in ents]) for t, ents in c.turns], c.source)
            if i in chosen else c for i, c in enumerate(convs)]


def titlecase_share(convs: Sequence[Conversation], share: float, seed: int = 0) -> list[Conversation]:
    """``convs`` with a seeded ``share`` of them (0 to 1) asking every type in title case
    ("restaurant name" -> "Restaurant Name", :func:`unerlib.typenames.title_case`), passage and
    answers unchanged: the teacher data names its types in lower case, while an evaluation file
    may capitalize them (MIT Restaurant's official one does). Drawn apart from
    :func:`lowercase_share`'s conversations, so the two shares overlap only by chance."""
    from .typenames import title_case

    chosen = _chosen(len(convs), share, f"titlecase:{seed}")
    return [Conversation(c.passage, [(title_case(t), ents) for t, ents in c.turns], c.source)
            if i in chosen else c for i, c in enumerate(convs)]


def tokenize_conversation(tokenizer, conv: Conversation, max_length: int = 512,
                          train_ack: bool = False) -> list[dict[str, list[int]]]:
    """Token ids and labels of one conversation, exactly as inference builds its prompts.

    Labels are -100 everywhere but the answer tokens and their end token (and, with
    ``train_ack``, the acknowledgement turn, as the official training code does). A
    conversation longer than ``max_length`` is split between turns, each piece repeating
    the passage prefix, so no answer is ever cut.
    """
    prefix = encode_prefix(tokenizer, conv.passage)
    prefix_labels = [-100] * len(prefix)
    if train_ack:
        head = tokenizer(f"{SYSTEM} USER: Text: {conv.passage} ASSISTANT:", add_special_tokens=True)["input_ids"]
        if prefix[:len(head)] == list(head):
            prefix_labels = [-100] * len(head) + prefix[len(head):]
    pieces, ids, labels = [], list(prefix), list(prefix_labels)
    for typ, ents in conv.turns:
        q, a = encode_question(tokenizer, typ), encode_answer(tokenizer, ents)
        if len(ids) + len(q) + len(a) > max_length and len(ids) > len(prefix):
            pieces.append({"input_ids": ids, "labels": labels})
            ids, labels = list(prefix), list(prefix_labels)
        ids += q + a
        labels += [-100] * len(q) + a
    if len(ids) > len(prefix):
        pieces.append({"input_ids": ids, "labels": labels})
    return pieces


def highlight_trained(tokenizer, example: dict[str, list[int]]) -> str:
    """HTML of one tokenized example with the trained (labelled) tokens highlighted."""
    import html

    parts = []
    for tok, lab in zip(example["input_ids"], example["labels"]):
        text = html.escape(tokenizer.decode([tok]))
        parts.append(f'<mark style="background:#ffd54f">{text}</mark>' if lab != -100 else text)
    return '<div style="font-family:monospace;white-space:pre-wrap">' + "".join(parts) + "</div>"

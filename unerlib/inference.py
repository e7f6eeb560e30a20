"""Zero-shot inference: ask a student about many (passage, type) questions, fast.

The official code renders one full prompt per question and generates for each. Here each
passage's prefix (system line, passage, acknowledgement turn) runs through the model
once; its key/value cache is copied to a batch holding every question about that passage,
so the model only reads the short question turns and the answers. The questions of
several passages (of similar length) are decoded as one batch: on a CPU a decode step
costs about as much for one row as for a hundred, since reading the weights dominates.
Prefixes and questions of unequal length are padded *between* prefix and question, masked
out, and given the position ids they would have without padding, so each answer is the one
the model gives to its prompt alone.

Decoding is greedy and deterministic; an answer stops at the end-of-sequence token, at
the first token containing ``]`` (the official parser reads nothing after it), as soon as
its first visible character is not ``[`` (the official parser would score it empty
whatever follows; ``stop_unparseable=False`` lets such prose run on), or after
``max_new_tokens``. A passage longer than ``max_passage_tokens`` is split at word
boundaries into windows that fit; each window is asked every question and the answers are
merged (union in order of appearance), so no text is dropped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .data import DataError, conversation_rows, find_spans
from .instructions import PromptTokens, encode_prefix, encode_prompts, encode_question
from .metrics import parse_entities


@dataclass(frozen=True)
class Question:
    """One (passage, type) question; ``gold`` is the gold answer string when known."""

    id: str
    passage: str
    type: str
    gold: str | None = None


@dataclass
class Prediction:
    """The raw answer to a question and the entity strings parsed from it."""

    id: str
    type: str
    raw: str
    entities: list[str]
    windows: int = 1


@dataclass
class InferenceStats:
    """Tokens run through the model (prompt and decode steps) and questions answered."""

    questions: int = 0
    tokens: int = 0
    passages: int = 0
    split_passages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def entity_offsets(passage: str, entities: Iterable[str]) -> list[dict[str, Any]]:
    """Every occurrence of each entity in the passage, as ``{"text", "start", "end"}``.

    Exact matches come first; failing those, case-insensitive matches marked
    ``"verbatim": False``; failing both, one entry with ``start``/``end`` None.
    """
    import re

    out: list[dict[str, Any]] = []
    for ent in entities:
        spans = find_spans(passage, ent)
        if spans:
            out.extend({"text": ent, "start": s, "end": e} for s, e in spans)
            continue
        # case-insensitive on the passage itself (str.lower() may change lengths)
        spans = [m.span() for m in re.finditer(re.escape(ent), passage, re.IGNORECASE)] if ent else []
        if spans:
            out.extend({"text": passage[s:e], "start": s, "end": e, "verbatim": False} for s, e in spans)
        else:
            out.append({"text": ent, "start": None, "end": None, "verbatim": False})
    return out


def stop_token_ids(tokenizer) -> frozenset[int]:
    """Ids of every token whose text contains ``]``, plus the end-of-sequence token."""
    vocab = tokenizer.get_vocab()
    ids = {i for i in vocab.values() if "]" in tokenizer.decode([i])}
    return frozenset(ids | {tokenizer.eos_token_id})


def split_passage(tokenizer, passage: str, max_tokens: int) -> list[str]:
    """Windows of the passage, cut at spaces, whose prefix fits in ``max_tokens`` tokens."""
    if len(encode_prefix(tokenizer, passage)) <= max_tokens:
        return [passage]
    overhead = len(encode_prefix(tokenizer, ""))
    budget = max(max_tokens - overhead, 8)
    windows, current, used = [], [], 0
    for word in passage.split(" "):
        n = len(tokenizer(" " + word, add_special_tokens=False)["input_ids"])
        if current and used + n > budget:
            windows.append(" ".join(current))
            current, used = [], 0
        current.append(word)
        used += n
    if current:
        windows.append(" ".join(current))
    return windows


def shared_prefix(prompt: PromptTokens) -> PromptTokens:
    """Move the tokens every question starts with (``USER: What describes``) into the
    prefix, so they too run once. The token sequence of each question is unchanged."""
    qs = prompt.questions
    n = 0
    if len(qs) > 1:
        shortest = min(len(q) for q in qs)
        while n < shortest - 1 and all(q[n] == qs[0][n] for q in qs):
            n += 1
    return PromptTokens(prompt.prefix + qs[0][:n], [q[n:] for q in qs]) if n else prompt


class HFPredictor:
    """The shared-prefix batched greedy decoder over a transformers model."""

    def __init__(self, model, tokenizer, max_new_tokens: int = 64, max_passage_tokens: int = 1024,
                 stop_unparseable: bool = True):
        self.model = model
        self.stop_unparseable = stop_unparseable
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.max_passage_tokens = max_passage_tokens
        self.stop_ids = stop_token_ids(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.stats = InferenceStats()
        import inspect

        params = inspect.signature(model.forward).parameters
        # transformers 5 renamed past_key_values to cache; logits_to_keep skips the LM head
        # on prompt positions whose logits nobody reads
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._last_only = {"logits_to_keep": 1} if "logits_to_keep" in params else {}

    def finished(self, generated: list[int]) -> bool:
        """Whether an answer is complete: an end or ``]`` token, or (with
        ``stop_unparseable``) a first visible character other than ``[``."""
        if generated[-1] in self.stop_ids:
            return True
        if self.stop_unparseable:
            text = self.tokenizer.decode(generated, skip_special_tokens=True).lstrip()
            return bool(text) and not text.startswith("[")
        return False

    def _forward(self, cache, **kwargs):
        if cache is not None:
            kwargs[self._cache_kw] = cache
        out = self.model(use_cache=True, **self._last_only, **kwargs)
        return out, (getattr(out, "cache", None) or out.past_key_values)

    def answer(self, prompt: PromptTokens) -> list[list[int]]:
        """Generated ids for every question of one passage (prefix computed once)."""
        return self.answer_many([prompt])[0]

    def answer_many(self, prompts: Sequence[PromptTokens]) -> list[list[list[int]]]:
        """Generated ids for every question of several passages, decoded as one batch.

        Each prefix runs once (right-padded to the longest); its cache rows are copied to
        the rows of its questions; every row is laid out as ``prefix, padding, question``
        with the padding masked and position ids that continue the row's own prefix, so
        each answer is the one the model gives to its prompt alone. Finished rows are
        dropped from the batch once a quarter of it has finished.
        """
        import torch

        device = self.model.device
        prompts = [shared_prefix(p) for p in prompts]
        lens = [len(p.prefix) for p in prompts]
        Lp = max(lens)
        owner = [j for j, p in enumerate(prompts) for _ in p.questions]
        questions = [q for p in prompts for q in p.questions]
        B = len(questions)
        with torch.inference_mode():
            ids = [p.prefix + [self.pad_id] * (Lp - n) for p, n in zip(prompts, lens)]
            pmask = [[1] * n + [0] * (Lp - n) for n in lens]
            ppos = [list(range(n)) + [n - 1] * (Lp - n) for n in lens]
            _, cache = self._forward(None, input_ids=torch.tensor(ids, device=device),
                                     attention_mask=torch.tensor(pmask, device=device),
                                     position_ids=torch.tensor(ppos, device=device))
            self.stats.tokens += sum(lens)
            cache.batch_select_indices(torch.tensor(owner, device=device))
            L = max(len(q) for q in questions)
            ids, mask, pos = [], [], []
            for j, q in zip(owner, questions):
                pad, P = L - len(q), lens[j]
                ids.append([self.pad_id] * pad + q)
                mask.append(pmask[j] + [0] * pad + [1] * len(q))
                pos.append([P] * pad + list(range(P, P + len(q))))
                self.stats.tokens += len(q)
            mask_t = torch.tensor(mask, device=device)
            pos_t = torch.tensor(pos, device=device)
            out, cache = self._forward(cache, input_ids=torch.tensor(ids, device=device),
                                       attention_mask=mask_t, position_ids=pos_t)
            generated: list[list[int]] = [[] for _ in range(B)]
            rows = list(range(B))  # question index of each row of the batch
            alive = [True] * B  # per row: still decoding
            next_pos = pos_t[:, -1] + 1
            logits = out.logits[:, -1, :]
            for step in range(self.max_new_tokens):
                tokens = logits.argmax(dim=-1).tolist()
                for r, (qi, tok) in enumerate(zip(rows, tokens)):
                    if alive[r]:
                        generated[qi].append(tok)
                        alive[r] = not self.finished(generated[qi])
                n_alive = sum(alive)
                if not n_alive or step == self.max_new_tokens - 1:
                    break
                if n_alive <= 0.75 * len(rows):
                    keep = [r for r, a in enumerate(alive) if a]
                    idx = torch.tensor(keep, device=device)
                    cache.batch_select_indices(idx)
                    mask_t, next_pos = mask_t[idx], next_pos[idx]
                    rows, tokens, alive = [rows[r] for r in keep], [tokens[r] for r in keep], [True] * len(keep)
                mask_t = torch.cat([mask_t, mask_t.new_ones((len(rows), 1))], dim=1)
                out, cache = self._forward(cache, input_ids=torch.tensor(tokens, device=device)[:, None],
                                           attention_mask=mask_t, position_ids=next_pos[:, None])
                self.stats.tokens += n_alive
                next_pos = next_pos + 1
                logits = out.logits[:, -1, :]
        answers: list[list[list[int]]] = [[] for _ in prompts]
        for j, ids_ in zip(owner, generated):
            answers[j].append(ids_)
        return answers

    def answer_naive(self, prompt_ids: list[int]) -> list[int]:
        """One question the official way: the whole prompt through ``generate``, with the
        same greedy decoding and stopping rule (used by the benchmark as the baseline)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        finished, start = self.finished, len(prompt_ids)

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return torch.tensor([finished(input_ids[0, start:].tolist())], device=input_ids.device)

        with torch.inference_mode():
            inp = torch.tensor([prompt_ids], device=self.model.device)
            out = self.model.generate(
                input_ids=inp, attention_mask=torch.ones_like(inp), max_new_tokens=self.max_new_tokens,
                do_sample=False, temperature=None, top_p=None, top_k=None,
                stopping_criteria=StoppingCriteriaList([_Stop()]), pad_token_id=self.pad_id,
            )
        new = out[0, len(prompt_ids):].tolist()
        self.stats.tokens += len(prompt_ids) + max(len(new) - 1, 0)
        return new

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)


def group_by_passage(questions: Sequence[Question]) -> list[tuple[str, list[int]]]:
    """(passage, indices of its questions), passages in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        groups.setdefault(q.passage, []).append(i)
    return list(groups.items())


def predict(student, questions: Sequence[Question], max_new_tokens: int = 64,
            max_passage_tokens: int = 1024, backend: str = "hf", progress: bool = True,
            method: str = "fast", max_batch: int = 128,
            max_batch_tokens: int = 32768) -> tuple[list[Prediction], InferenceStats]:
    """Answer every question; returns predictions in question order and token statistics.

    Identical (passage, type) questions are answered once. The fast method decodes the
    questions of several passages together (passages of similar length grouped), at most
    ``max_batch`` questions and ``max_batch_tokens`` cached positions at a time.

    ``method="naive"`` answers one question at a time through ``generate`` (the official
    loop); ``backend="vllm"`` uses vLLM with prefix caching (extra ``gpu``).
    """
    if backend == "vllm":
        return _predict_vllm(student, questions, max_new_tokens, max_passage_tokens)
    if backend != "hf":
        raise ValueError(f"unknown backend {backend!r} (hf or vllm)")
    if method not in ("fast", "naive"):
        raise ValueError(f"unknown method {method!r} (fast or naive)")
    from tqdm.auto import tqdm

    engine = HFPredictor(student.model, student.tokenizer, max_new_tokens, max_passage_tokens)
    tok = student.tokenizer
    # work items: one prompt per (window, chunk of at most max_batch types), with the
    # question indices that receive each answer
    items: list[tuple[PromptTokens, list[list[int]]]] = []
    for passage, idx in group_by_passage(questions):
        # a passage repeated in a dataset (a header, a code placeholder) is asked each type once
        askers: dict[str, list[int]] = {}
        for i in idx:
            askers.setdefault(questions[i].type, []).append(i)
        types = list(askers)
        windows = split_passage(tok, passage, max_passage_tokens)
        engine.stats.passages += 1
        engine.stats.split_passages += len(windows) > 1
        for window in windows:
            for start in range(0, len(types), max_batch):
                batch = types[start:start + max_batch]
                items.append((encode_prompts(tok, window, batch), [askers[t] for t in batch]))
    # answers arrive in batch order; each item's index restores window order
    raws: list[list[tuple[int, str]]] = [[] for _ in questions]
    prompts = [p for p, _ in items]
    bar = tqdm(total=sum(len(p.questions) for p in prompts), desc=f"answering ({method})",
               unit="q", disable=not progress)
    groups = _pack(prompts, max_batch, max_batch_tokens, max_new_tokens) if method == "fast" else [[k] for k in range(len(items))]
    for group in groups:
        if method == "fast":
            outs = engine.answer_many([prompts[k] for k in group])
        else:
            outs = [[engine.answer_naive(prompts[k].prefix + q) for q in prompts[k].questions] for k in group]
        for k, answers in zip(group, outs):
            for ids, receivers in zip(answers, items[k][1]):
                text = engine.decode(ids)
                for i in receivers:
                    raws[i].append((k, text))
            bar.update(len(prompts[k].questions))
    bar.close()
    engine.stats.questions = len(questions)
    return [_merge(q, [text for _, text in sorted(r)]) for q, r in zip(questions, raws)], engine.stats


def _pack(prompts: Sequence[PromptTokens], max_batch: int, max_tokens: int, max_new_tokens: int) -> list[list[int]]:
    """Indices of ``prompts`` grouped for one decoding batch each: sorted by prefix length,
    then filled while the questions fit in ``max_batch`` rows and the padded cache
    (rows x (prefix + question + answer)) in ``max_tokens`` positions."""
    groups: list[list[int]] = []
    current: list[int] = []
    rows = longest = 0
    for k in sorted(range(len(prompts)), key=lambda k: len(prompts[k].prefix)):
        prompt = prompts[k]
        n = len(prompt.questions)
        length = len(prompt.prefix) + max(len(q) for q in prompt.questions) + max_new_tokens
        if current and (rows + n > max_batch or (rows + n) * max(longest, length) > max_tokens):
            groups.append(current)
            current, rows, longest = [], 0, 0
        current.append(k)
        rows += n
        longest = max(longest, length)
    if current:
        groups.append(current)
    return groups


def _merge(question: Question, raws: list[str]) -> Prediction:
    if len(raws) == 1:
        return Prediction(question.id, question.type, raws[0], parse_entities(raws[0]))
    merged: dict[str, None] = {}
    for raw in raws:
        for ent in parse_entities(raw):
            merged.setdefault(ent)
    return Prediction(question.id, question.type, json.dumps(list(merged), ensure_ascii=False),
                      list(merged), windows=len(raws))


def _predict_vllm(student, questions, max_new_tokens, max_passage_tokens):
    """vLLM backend: the same prompts as token ids, greedy, stop at ``]``; vLLM's automatic
    prefix caching shares each passage's prefix. ``student`` is a model name or path."""
    try:
        from vllm import LLM, SamplingParams
    except ImportError:
        raise DataError("the vllm backend needs the 'gpu' extra: pip install -e '.[gpu]'") from None
    name = student if isinstance(student, str) else student.name
    llm = LLM(model=name, enable_prefix_caching=True)
    tok = llm.get_tokenizer()
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=["]"], include_stop_str_in_output=True)
    prompts, owners = [], []
    for passage, idx in group_by_passage(questions):
        for window in split_passage(tok, passage, max_passage_tokens):
            prefix = encode_prefix(tok, window)
            for i in idx:
                prompts.append({"prompt_token_ids": prefix + encode_question(tok, questions[i].type)})
                owners.append(i)
    raws: list[list[str]] = [[] for _ in questions]
    for i, out in zip(owners, llm.generate(prompts, params)):
        raws[i].append(out.outputs[0].text)
    stats = InferenceStats(questions=len(questions), extra={"backend": "vllm"})
    return [_merge(q, r) for q, r in zip(questions, raws)], stats


# --------------------------------------------------------------------------- evaluation data


def load_questions(data: str, limit: int | None = None, root: str | os.PathLike | None = None) -> list[Question]:
    """Questions with gold answers from a UniNER evaluation JSON file or a registered dataset
    (its official file when there is one, else its test split converted).

    ``limit`` keeps the first N distinct passages with all their types.
    """
    from .data import data_dir, iter_uniner_conversations

    path = Path(data)
    if path.suffix == ".json" or path.exists():
        rows = list(iter_uniner_conversations(path))
    else:
        from .convert import to_uniner
        from .registry import dataset_types, get_spec, load_dataset

        spec = get_spec(data)
        if "test" in spec.official:
            rows = list(iter_uniner_conversations(data_dir(root) / spec.official["test"]))
        else:
            split = "test" if "test" in spec.splits else next(iter(spec.splits))
            records = load_dataset(data, split, root)
            rows = list(conversation_rows(to_uniner(records, dataset_types(data, records), data), data))
    questions = [Question(qid, passage, typ, gold) for qid, passage, typ, gold in rows]
    if limit:
        keep = {p for p, _ in group_by_passage(questions)[:limit]}
        questions = [q for q in questions if q.passage in keep]
    return questions


def write_predictions(predictions: Sequence[Prediction], path: str | os.PathLike) -> Path:
    """JSON lines ``{"id", "type", "prediction"}``, the input of ``uner score``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for p in predictions:
            fh.write(json.dumps({"id": p.id, "type": p.type, "prediction": p.raw}, ensure_ascii=False) + "\n")
    return path


def evaluate(student, data: str, limit: int | None = None, out: str | os.PathLike | None = None,
             max_new_tokens: int = 64, backend: str = "hf", progress: bool = True,
             root: str | os.PathLike | None = None) -> dict[str, Any]:
    """Zero-shot evaluation on one set: predictions (written to ``out`` when given) scored
    with the official metric; returns the metric with ``by_type`` and token statistics."""
    from .metrics import score, score_by_type

    questions = load_questions(data, limit, root)
    if not questions:
        raise DataError(f"no questions in {data!r}")
    preds, stats = predict(student, questions, max_new_tokens=max_new_tokens, backend=backend, progress=progress)
    if out is not None:
        write_predictions(preds, out)
    raws = [p.raw for p in preds]
    golds = [q.gold or "[]" for q in questions]
    result = score(raws, golds)
    result["by_type"] = score_by_type(raws, golds, [q.type for q in questions])
    result["tokens"] = stats.tokens
    result["passages"] = stats.passages
    return result

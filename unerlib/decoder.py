"""The shared-prefix batched greedy decoder behind :func:`unerlib.inference.predict`.

Each passage's prefix (system line, passage, acknowledgement turn) runs through the model
once; its key/value cache is copied to a batch holding every question about that passage,
so the model only reads the short question turns and the answers. The questions of
several passages (of similar length) are decoded as one batch. Prefixes and questions of
unequal length are padded *between* prefix and question, masked out, and given the
position ids they would have without padding, so each answer is the one the model gives
to its prompt alone.

An answer stops at the end-of-sequence token, at the first token containing ``]`` (the
official parser reads nothing after it), as soon as its first visible character is not
``[`` (the official parser scores it empty whatever follows), or after ``max_new_tokens``;
all three are exact: the official parser would read the same answer had decoding gone on.
An answer that repeats one block of list items three times in a row (a loop, which
usually runs to the cap) leaves its batch, so it no longer holds the short answers beside
it to the cap; :meth:`HFPredictor.finish_loops` then decodes such answers on to their own
end, in batches of their own, so they too are the answers of decoding without any stop.
:meth:`HFPredictor.stop_reason` says which of these ended an answer.

``empty_bias`` (0 by default: the model's own greedy answers) adds that much to the logits
of the tokens spelling ``[]`` at an answer's first step: a decoding option that makes the
student say "none" more often, its value chosen on the validation suite.

``constrain_spans`` (off by default) decodes under :class:`unerlib.constrained.SpanConstraint`:
each answer can only be a JSON list of strings that occur in its passage; the answers that
already are stay as they were. ``score_tokens`` records each chosen token's log-probability
(``last_logprobs``), which :mod:`unerlib.typechoice` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .instructions import PromptTokens

#: why an answer ended: a stop token (end of sequence or ``]``), a first character other
#: than ``[``, a repeated block of list items, or the token cap
STOP_REASONS: tuple[str, ...] = ("end", "unparseable", "loop", "cap")


@dataclass
class InferenceStats:
    """Tokens run through the model (prompt and decode steps) and questions answered."""

    questions: int = 0
    tokens: int = 0
    passages: int = 0
    split_passages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def stop_token_ids(tokenizer) -> frozenset[int]:
    """Ids of every token whose text contains ``]``, plus the end-of-sequence token."""
    vocab = tokenizer.get_vocab()
    ids = {i for i in vocab.values() if "]" in tokenizer.decode([i])}
    return frozenset(ids | {tokenizer.eos_token_id})


class TokenText:
    """The text of single tokens, memoised (special tokens read as empty; no clean-up of
    spaces, so a sequence's pieces join to its decoded text)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self._texts: dict[int, str] = {}

    def __call__(self, token: int) -> str:
        text = self._texts.get(token)
        if text is None:
            text = self.tokenizer.decode([token], skip_special_tokens=True, clean_up_tokenization_spaces=False)
            self._texts[token] = text
        return text


def empty_answer_ids(tokenizer) -> list[int]:
    """Ids of the tokens that spell a whole empty answer (``[]``, `` []``)."""
    return [i for i in tokenizer.get_vocab().values() if tokenizer.decode([i]).strip() == "[]"]


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
                 stop_unparseable: bool = True, stop_loops: bool = True, empty_bias: float = 0.0,
                 constrain_spans: bool = False, score_tokens: bool = False):
        from .constrained import SpanConstraint

        self.model = model
        # the log-probability of each generated token (``last_logprobs`` after answer_many)
        self.score_tokens = score_tokens
        self.last_logprobs: list[list[list[float]]] = []
        self.constraint = SpanConstraint(tokenizer) if constrain_spans else None
        self.empty_bias = empty_bias
        self.empty_ids = empty_answer_ids(tokenizer) if empty_bias else []
        self.stop_unparseable = stop_unparseable
        self.stop_loops = stop_loops
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
        if self.stop_unparseable and not self._opens_list(generated):
            return True
        return self.stop_loops and self.looping(generated)

    def _opens_list(self, generated: list[int]) -> bool:
        """False once the answer's first visible character is known and is not ``[``
        (its first few tokens suffice, unless they are all white space)."""
        head = self.tokenizer.decode(generated[:8], skip_special_tokens=True).lstrip()
        if not head and len(generated) > 8:
            head = self.tokenizer.decode(generated, skip_special_tokens=True).lstrip()
        return not head or head.startswith("[")

    def looping(self, generated: list[int], repeats: int = 3, max_period: int = 48) -> bool:
        """Whether the answer ends with one block of tokens ``repeats`` times in a row, the
        block holding a whole list item (a quote and a comma): ``"Luxembourg", "Luxembourg",
        "Luxembourg", ``. Such an answer runs on to the cap without closing its list."""
        n = len(generated)
        for period in range(2, min(max_period, n // repeats) + 1):
            block = generated[n - period:]
            if all(generated[n - k * period:n - (k - 1) * period] == block for k in range(2, repeats + 1)):
                text = self.tokenizer.decode(block)
                if '"' in text and "," in text:
                    return True
        return False

    def stop_reason(self, generated: list[int]) -> str:
        """Why an answer ended: ``end`` (end of sequence or ``]``), ``unparseable`` (first
        character not ``[``), ``loop`` (see :meth:`looping`) or ``cap`` (``max_new_tokens``)."""
        if generated and generated[-1] in self.stop_ids:
            return "end"
        if self.stop_unparseable and not self._opens_list(generated):
            return "unparseable"
        if self.stop_loops and generated and self.looping(generated):
            return "loop"
        return "cap" if len(generated) >= self.max_new_tokens else "end"

    def _forward(self, cache, **kwargs):
        if cache is not None:
            kwargs[self._cache_kw] = cache
        out = self.model(use_cache=True, **self._last_only, **kwargs)
        return out, (getattr(out, "cache", None) or out.past_key_values)

    def answer(self, prompt: PromptTokens, passage: str | None = None) -> list[list[int]]:
        """Generated ids for every question of one passage (prefix computed once)."""
        return self.answer_many([prompt], None if passage is None else [passage])[0]

    def _passages(self, passages: Sequence[str] | None, n: int) -> Sequence[str] | None:
        if self.constraint is None:
            return None
        if passages is None or len(passages) != n:
            raise ValueError("span-constrained decoding needs the passage of every prompt")
        return passages

    def answer_many(self, prompts: Sequence[PromptTokens],
                    passages: Sequence[str] | None = None) -> list[list[list[int]]]:
        """Generated ids for every question of several passages, decoded as one batch.

        Each prefix runs once (right-padded to the longest); its cache rows are copied to
        the rows of its questions; every row is laid out as ``prefix, padding, question``
        with the padding masked and position ids that continue the row's own prefix, so
        each answer is the one the model gives to its prompt alone. Finished rows are
        dropped from the batch once a quarter of it has finished. ``passages`` (the text of
        each prompt's passage) are needed under ``constrain_spans``.
        """
        import torch

        device = self.model.device
        passages = self._passages(passages, len(prompts))
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
            logprobs: list[list[float]] = [[] for _ in range(B)]
            self._greedy(out, cache, mask_t, pos_t[:, -1] + 1, generated, self.finished,
                         None if passages is None else [passages[j] for j in owner],
                         logprobs if self.score_tokens else None)
        answers: list[list[list[int]]] = [[] for _ in prompts]
        self.last_logprobs = [[] for _ in prompts]
        for j, ids_, lp in zip(owner, generated, logprobs):
            answers[j].append(ids_)
            self.last_logprobs[j].append(lp)
        return answers

    def _greedy(self, out, cache, mask_t, next_pos, generated: list[list[int]], done,
                passages: Sequence[str] | None = None, logprobs: list[list[float]] | None = None) -> None:
        """Greedy decoding of every row of a batch whose prompt has run (``out``, ``cache``),
        appending to ``generated`` until ``done(row's ids)`` or ``max_new_tokens`` in all.
        Finished rows are dropped from the batch once a quarter of it has finished. Under
        ``constrain_spans`` each row's token is the best one its passage's constraint allows;
        ``logprobs`` (parallel to ``generated``) receives each chosen token's log-probability."""
        import torch

        constraint = self.constraint
        states = [constraint.state(g, p) for g, p in zip(generated, passages)] if constraint else []
        rows = list(range(len(generated)))  # row of ``generated`` for each row of the batch
        alive = [len(g) < self.max_new_tokens for g in generated]
        logits = out.logits[:, -1, :]
        first_rows = [r for r, g in enumerate(generated) if not g]
        if self.empty_ids and first_rows:  # a bonus for answering [] at an answer's first token
            first = torch.tensor(first_rows, dtype=torch.long, device=logits.device)
            empty = torch.tensor(self.empty_ids, device=logits.device)
            logits = logits.clone()
            logits[first[:, None], empty] += self.empty_bias
        while True:
            if constraint is None:
                tokens = logits.argmax(dim=-1).tolist()
            else:
                tokens = [self.pad_id] * len(rows)
                for r, qi in enumerate(rows):
                    if alive[r]:
                        if states[qi] is None:
                            raise ValueError("an answer handed to the constrained decoder already breaks the constraint")
                        tokens[r], states[qi] = constraint.choose(logits[r], states[qi], passages[qi])
            if logprobs is not None:
                chosen = torch.tensor(tokens, device=logits.device)[:, None]
                lp = torch.log_softmax(logits.float(), dim=-1).gather(1, chosen)[:, 0].tolist()
            for r, (qi, tok) in enumerate(zip(rows, tokens)):
                if alive[r]:
                    generated[qi].append(tok)
                    if logprobs is not None:
                        logprobs[qi].append(lp[r])
                    alive[r] = not done(generated[qi]) and len(generated[qi]) < self.max_new_tokens
            n_alive = sum(alive)
            if not n_alive:
                return
            if n_alive <= 0.75 * len(rows):
                keep = [r for r, a in enumerate(alive) if a]
                idx = torch.tensor(keep, device=mask_t.device)
                cache.batch_select_indices(idx)
                mask_t, next_pos = mask_t[idx], next_pos[idx]
                rows, tokens, alive = [rows[r] for r in keep], [tokens[r] for r in keep], [True] * len(keep)
            mask_t = torch.cat([mask_t, mask_t.new_ones((len(rows), 1))], dim=1)
            out, cache = self._forward(cache, input_ids=torch.tensor(tokens, device=mask_t.device)[:, None],
                                       attention_mask=mask_t, position_ids=next_pos[:, None])
            self.stats.tokens += n_alive
            next_pos = next_pos + 1
            logits = out.logits[:, -1, :]

    def finish_loops(self, prompts: Sequence[list[int]], generated: Sequence[list[int]],
                     max_batch: int = 32, on_batch=None, passages: Sequence[str] | None = None,
                     logprobs: Sequence[list[float]] | None = None) -> list[list[int]]:
        """Decode answers set aside as loops on to their own end, exactly as if they had
        never stopped: ``prompts[i]`` (prefix and question ids) followed by ``generated[i]``
        is continued greedily until an end or ``]`` token or ``max_new_tokens`` in all.

        The loops of many batches run together in batches of their own (sorted by length,
        left-padded, masked), so a loop no longer holds a whole batch of short answers to
        the cap, and the official scores are those of decoding every answer to its end.
        ``on_batch(n)`` is called after each batch of ``n`` answers (a progress bar);
        ``passages`` (each answer's passage) are needed under ``constrain_spans``;
        ``logprobs`` (each answer's token log-probabilities so far) are continued in place.
        """
        import torch

        passages = self._passages(passages, len(prompts))
        done = lambda ids: ids[-1] in self.stop_ids  # noqa: E731 (the loop stop is off here)
        out_ids = [list(g) for g in generated]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]) + len(generated[i]))
        device = self.model.device
        with torch.inference_mode():
            for start in range(0, len(order), max_batch):
                batch = [i for i in order[start:start + max_batch] if len(out_ids[i]) < self.max_new_tokens]
                if not batch:
                    continue
                seqs = [list(prompts[i]) + out_ids[i] for i in batch]
                L = max(len(s) for s in seqs)
                ids = [[self.pad_id] * (L - len(s)) + s for s in seqs]
                mask = [[0] * (L - len(s)) + [1] * len(s) for s in seqs]
                pos = [[0] * (L - len(s)) + list(range(len(s))) for s in seqs]
                mask_t = torch.tensor(mask, device=device)
                pos_t = torch.tensor(pos, device=device)
                out, cache = self._forward(None, input_ids=torch.tensor(ids, device=device),
                                           attention_mask=mask_t, position_ids=pos_t)
                self.stats.tokens += sum(len(s) for s in seqs)
                rows = [out_ids[i] for i in batch]
                self._greedy(out, cache, mask_t, pos_t[:, -1] + 1, rows, done,
                             None if passages is None else [passages[i] for i in batch],
                             None if logprobs is None else [logprobs[i] for i in batch])
                if on_batch is not None:
                    on_batch(len(batch))
        self.stats.extra["loops_finished"] = self.stats.extra.get("loops_finished", 0) + len(prompts)
        return out_ids

    def answer_naive(self, prompt_ids: list[int], official: bool = False) -> list[int]:
        """One question through ``generate`` on the whole prompt, greedy. With the same
        stopping rule as :meth:`answer_many` by default; ``official=True`` is the official
        loop as published: it stops at the end-of-sequence token or ``max_new_tokens`` only."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        finished, start, eos = self.finished, len(prompt_ids), self.tokenizer.eos_token_id

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                new = input_ids[0, start:].tolist()
                done = new[-1] == eos if official else finished(new)
                return torch.tensor([done], device=input_ids.device)

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



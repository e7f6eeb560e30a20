"""The Python API in one import::

    from unerlib import UniNER

    ner = UniNER.load()                      # or UniNER.load(model=..., adapter="path/to/adapter")
    ner.predict_entities("Barack Obama visited Paris.", ["person", "location"])
    # [{'start': 0, 'end': 12, 'text': 'Barack Obama', 'label': 'person'},
    #  {'start': 21, 'end': 26, 'text': 'Paris', 'label': 'location'}]

A text of any length is cut into windows of at most ``window_tokens`` tokens (at spaces
where possible) that overlap by ``overlap_tokens`` tokens; every window is asked every
label with the fast batched predictor (:func:`unerlib.inference.predict`); each entity
string the model names is located in its window (every occurrence, exact matches first,
else case-insensitive ones), shifted to the offsets of the whole text, and spans found by
two windows are kept once. Nothing is truncated. A span cut by a window edge (e.g. "Barack"
at the very end of a window that stops before "Obama") is dropped when a neighbouring
window sees the same place away from its edges, since that window's answer is the one that
saw the whole context. Entity strings that do not occur in the text are dropped: every
returned span satisfies ``text[span["start"]:span["end"]] == span["text"]``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from .inference import Question, entity_offsets

#: The model :meth:`UniNER.load` uses when none is given: the embedded SmolLM2-135M student.
DEFAULT_MODEL = "smollm2-135m"

#: ``answer(questions) -> one list of entity strings per question`` (the model's side).
AnswerFn = Callable[[Sequence[Question]], list[list[str]]]
#: ``token_spans(text) -> [(start, end), ...]``: character spans of the text's tokens.
TokenSpansFn = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class Window:
    """One window of a text: its characters ``text[start:end]``, and whether each of its
    two edges is a cut inside the text (rather than the text's own start or end)."""

    start: int
    end: int
    cut_left: bool
    cut_right: bool


def word_spans(text: str) -> list[tuple[int, int]]:
    """Whitespace-separated words as character spans (the token counter of tests and stubs)."""
    return [m.span() for m in re.finditer(r"\S+", text)]


def tokenizer_spans(tokenizer) -> TokenSpansFn:
    """Character spans of a tokenizer's tokens (offset mapping of a fast tokenizer; a slow
    one counts the tokens of each word and spreads them over the word)."""

    def spans(text: str) -> list[tuple[int, int]]:
        if getattr(tokenizer, "is_fast", False):
            enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            return [(int(s), int(e)) for s, e in enc["offset_mapping"] if e > s]
        out: list[tuple[int, int]] = []
        for s, e in word_spans(text):
            n = max(1, len(tokenizer(" " + text[s:e], add_special_tokens=False)["input_ids"]))
            step = (e - s) / n
            cuts = [s + round(k * step) for k in range(n)] + [e]
            out.extend((a, b) for a, b in zip(cuts, cuts[1:]) if b > a)
        return out

    return spans


def make_windows(text: str, token_spans: Sequence[tuple[int, int]], window_tokens: int,
                 overlap_tokens: int) -> list[Window]:
    """Overlapping windows covering every token of ``text``.

    Each window holds at most ``window_tokens`` tokens; it ends before a token that starts
    a word when one lies in its second half, else at a token boundary (a very long word is
    cut). The next window starts ``overlap_tokens`` tokens before the previous one's end
    (moved forward to a word start when one is near), so an entity shorter than the
    overlap that a cut splits lies whole inside the next window.
    """
    if window_tokens < 1:
        raise ValueError(f"window_tokens must be positive, got {window_tokens}")
    if not 0 <= overlap_tokens < window_tokens:
        raise ValueError(f"overlap_tokens must be in [0, window_tokens), got {overlap_tokens}")
    toks = list(token_spans)
    n = len(toks)
    if n == 0:
        return []

    def word_start(k: int) -> bool:
        s = toks[k][0]
        return k == 0 or text[s].isspace() or text[s - 1].isspace()

    windows: list[Window] = []
    i = 0
    while True:
        j = min(i + window_tokens, n)
        if j < n:  # cut before a word start in the window's second half, if there is one
            for k in range(j, i + max(1, (j - i) // 2), -1):
                if word_start(k):
                    j = k
                    break
        start, end = toks[i][0], (toks[j][0] if j < n else len(text))
        # whitespace at the edges is no part of the window
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            windows.append(Window(start, end, cut_left=i > 0, cut_right=j < n))
        if j >= n:
            return windows
        nxt = max(j - overlap_tokens, i + 1)
        hi = max(nxt, min(nxt + overlap_tokens // 2, j - 1))
        for k in range(nxt, hi + 1):  # a word start nearby, keeping at least half the overlap
            if word_start(k):
                nxt = k
                break
        i = nxt


def merge_window_spans(text: str, found: Iterable[tuple[Window, str, Sequence[str]]],
                       labels: Sequence[str]) -> list[dict[str, Any]]:
    """Spans of the whole text from (window, label, entity strings) answers.

    Each entity string is located in its window (every occurrence), shifted to document
    offsets and kept once per (start, end, label). A span touching a window's cut edge is
    dropped when another window holds the same characters away from its own cut edges.
    """
    found = list(found)
    candidates: dict[tuple[int, int, str], bool] = {}  # span -> seen away from a cut edge
    for win, label, entities in found:
        chunk = text[win.start:win.end]
        for occ in entity_offsets(chunk, entities):
            if occ["start"] is None or occ["end"] <= occ["start"]:
                continue  # named by the model, absent from the text
            s, e = win.start + occ["start"], win.start + occ["end"]
            at_edge = (win.cut_left and s == win.start) or (win.cut_right and e == win.end)
            key = (s, e, label)
            candidates[key] = candidates.get(key, False) or not at_edge
    windows = list(dict.fromkeys(win for win, _, _ in found))
    order = {lab: k for k, lab in enumerate(labels)}
    out = []
    for (s, e, label), clean in candidates.items():
        if not clean and any(w.start <= s and e <= w.end
                             and not ((w.cut_left and s == w.start) or (w.cut_right and e == w.end))
                             for w in windows):
            continue  # a window that saw these characters whole did not name this span
        out.append({"start": s, "end": e, "text": text[s:e], "label": label})
    out.sort(key=lambda d: (d["start"], d["end"], order.get(d["label"], len(order))))
    return out


def check_labels(labels: Sequence[str] | str) -> list[str]:
    """The entity types asked for, as a list of non-empty strings (one string is one type), else ``ValueError``."""
    if isinstance(labels, str):
        labels = [labels]
    if labels is None or not isinstance(labels, Iterable):
        raise ValueError(f"labels must be a list of entity types (strings), got {type(labels).__name__}")
    out: list[str] = []
    for lab in labels:
        if not isinstance(lab, str):
            raise ValueError(f"each label must be a string, got {lab!r} ({type(lab).__name__})")
        lab = lab.strip()
        if not lab:
            raise ValueError("labels must not contain empty strings")
        if lab not in out:
            out.append(lab)
    if not out:
        raise ValueError("labels must not be empty: give at least one entity type, e.g. ['person']")
    return out


def _check_text(text: Any, where: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{where} must be a string, got {type(text).__name__}")
    return text


class UniNER:
    """A UniversalNER-style recogniser: any entity types, spans with character offsets.

    Build it with :meth:`load` (a model, optionally a LoRA adapter), :meth:`from_student`
    (an already loaded :class:`unerlib.student.Student`), or directly from an ``answer``
    function and a ``token_spans`` function (see :data:`AnswerFn`, :data:`TokenSpansFn`).
    """

    def __init__(self, answer: AnswerFn, token_spans: TokenSpansFn | None = None, *,
                 window_tokens: int = 256, overlap_tokens: int = 32, student: Any = None):
        if not 0 <= overlap_tokens < window_tokens:
            raise ValueError(f"need 0 <= overlap_tokens < window_tokens, got {overlap_tokens}, {window_tokens}")
        self.answer = answer
        self.token_spans = token_spans or word_spans
        self.window_tokens = window_tokens
        self.overlap_tokens = overlap_tokens
        self.student = student

    @classmethod
    def load(cls, model: str | None = None, adapter: str | None = None, *, device: str | None = None,
             dtype: str = "auto", max_new_tokens: int = 64, window_tokens: int = 256,
             overlap_tokens: int = 32, empty_bias: float = 0.0, constrain_spans: bool = False,
             quantize: str = "", one_type_per_entity: bool = False,
             lower_types: bool = False) -> "UniNER":
        """Load a student: ``model`` is the embedded default (:data:`DEFAULT_MODEL`), a local
        folder, a ``.gguf`` file or a Hugging Face id; ``adapter`` a LoRA adapter folder (or
        a fully tuned student's folder); ``empty_bias`` favours ``[]`` at each answer's first
        token (the report's campaign chooses it on a validation suite; 0: the model's own
        answers); ``constrain_spans`` lets answers hold only strings found in the text
        (:mod:`unerlib.constrained`); ``one_type_per_entity`` keeps an entity named under
        several types of a window under the type the student scored highest
        (:mod:`unerlib.typechoice`); ``lower_types`` asks each type in lower case, as the
        teacher data spells every type (the report's since campaign round 17; the entities keep
        your label); ``quantize="bf16"`` (the report's since campaign round 14)
        multiplies every linear layer in bfloat16 on a CPU, faster than float32 and closer to its
        answers than int8; ``"int8_bf16_head"``, ``"int8_body"`` or ``"int8_row"`` answer in int8
        (:mod:`unerlib.quantize`; the README's speed lines)."""
        from .student import load_student

        student = load_student(model or DEFAULT_MODEL, adapter, dtype=dtype, device=device, quantize=quantize)
        return cls.from_student(student, max_new_tokens=max_new_tokens, window_tokens=window_tokens,
                                overlap_tokens=overlap_tokens, empty_bias=empty_bias,
                                constrain_spans=constrain_spans, one_type_per_entity=one_type_per_entity,
                                lower_types=lower_types)

    @classmethod
    def from_student(cls, student, *, max_new_tokens: int = 64, window_tokens: int = 256,
                     overlap_tokens: int = 32, empty_bias: float = 0.0, constrain_spans: bool = False,
                     one_type_per_entity: bool = False, lower_types: bool = False) -> "UniNER":
        """Wrap a loaded student; questions go to the fast batched predictor."""
        from .inference import predict
        from .instructions import encode_prefix

        # the windows already fit; the predictor must not split them again
        budget = window_tokens + len(encode_prefix(student.tokenizer, "")) + 64

        def answer(questions: Sequence[Question], progress: bool = False) -> list[list[str]]:
            if lower_types:
                questions = [dataclasses.replace(q, type=q.type.lower()) for q in questions]
            preds, _ = predict(student, questions, max_new_tokens=max_new_tokens,
                               max_passage_tokens=budget, progress=progress, empty_bias=empty_bias,
                               constrain_spans=constrain_spans, one_type_per_entity=one_type_per_entity)
            return [p.entities for p in preds]

        return cls(answer, tokenizer_spans(student.tokenizer), window_tokens=window_tokens,
                   overlap_tokens=overlap_tokens, student=student)

    def windows(self, text: str) -> list[Window]:
        """The windows :meth:`predict_entities` asks about ``text``."""
        return make_windows(text, self.token_spans(text), self.window_tokens, self.overlap_tokens)

    def predict_entities(self, text: str, labels: Sequence[str] | str,
                         progress: bool = False) -> list[dict[str, Any]]:
        """Entities of the given types in ``text``: ``{"start", "end", "text", "label"}``
        dicts with character offsets, sorted by position."""
        return self.batch_predict_entities([_check_text(text)], labels, progress=progress)[0]

    def batch_predict_entities(self, texts: Sequence[str], labels: Sequence[str] | str,
                               progress: bool = True) -> list[list[dict[str, Any]]]:
        """:meth:`predict_entities` for many texts: every window of every text is asked
        in one call of the batched predictor (with a progress bar unless ``progress=False``)."""
        if isinstance(texts, str):
            raise ValueError("texts must be a list of strings; for one text use predict_entities")
        texts = [_check_text(t, f"texts[{k}]") for k, t in enumerate(texts)]
        labels = check_labels(labels)
        questions: list[Question] = []
        owners: list[tuple[int, Window, str]] = []
        for t, text in enumerate(texts):
            for w, win in enumerate(self.windows(text)):
                chunk = text[win.start:win.end]
                for label in labels:
                    questions.append(Question(f"{t}:{w}:{label}", chunk, label))
                    owners.append((t, win, label))
        answers = self._ask(questions, progress) if questions else []
        if len(answers) != len(questions):
            raise RuntimeError(f"the answer function returned {len(answers)} answers for {len(questions)} questions")
        per_text: list[list[tuple[Window, str, Sequence[str]]]] = [[] for _ in texts]
        for (t, win, label), ents in zip(owners, answers):
            per_text[t].append((win, label, ents))
        return [merge_window_spans(text, found, labels) for text, found in zip(texts, per_text)]

    def _ask(self, questions: Sequence[Question], progress: bool) -> list[list[str]]:
        import inspect

        try:
            takes_progress = "progress" in inspect.signature(self.answer).parameters
        except (TypeError, ValueError):
            takes_progress = False
        answers = self.answer(questions, progress=progress) if takes_progress else self.answer(questions)
        return [list(a) for a in answers]

    def __repr__(self) -> str:
        name = getattr(self.student, "name", None) or getattr(self.answer, "__name__", "answer function")
        adapter = getattr(self.student, "adapter", None)
        return (f"UniNER({name!r}{', adapter=' + repr(adapter) if adapter else ''}, "
                f"window_tokens={self.window_tokens}, overlap_tokens={self.overlap_tokens})")

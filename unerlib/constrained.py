"""Span-constrained decoding: answers that can only be JSON lists of passage strings.

Under the constraint an answer is ``[`` (after at most one space, as the student writes
`` ["``) then zero or more strings separated by commas, then ``]``, on one line, with at
most one space in a row between them (the official parser reads the first ``[...]`` of an answer, on
one line), and every string is a non-empty piece of the passage as written. Each step
takes the highest-scoring token whose text keeps the answer inside that language
(:meth:`SpanConstraint.choose`), so greedy decoding under the constraint gives the
unconstrained answer whenever that answer already satisfies it, and otherwise the best
answer that does. The state is followed character by character (:class:`ListState`), so
tokens that span the grammar (``' ["'``, ``'", "'``, ``'"]'``) are handled as the model
writes them.

Limits: a string may hold no ``"``, ``\\``, ``[``, ``]`` or line break (the official
parser could not read it back); a token that is only part of a multi-byte character
(decoded alone as U+FFFD) is never allowed inside a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

#: states of :class:`ListState`: before ``[``; after ``[``; inside a string; after a
#: string; after a comma; after ``]``
START, OPEN, STRING, AFTER_ITEM, AFTER_COMMA, DONE = range(6)

_NOT_IN_STRING = frozenset('"\\[]\n\r\ufffd')


@dataclass(frozen=True)
class ListState:
    """Where an answer stands in the list language, the string being written, and whether
    the last character was a space outside a string (one space at a time is allowed there)."""

    mode: int = START
    content: str = ""
    space: bool = False

    def feed(self, text: str, passage: str) -> "ListState | None":
        """The state after ``text``, or ``None`` when ``text`` leaves the language."""
        mode, content, space = self.mode, self.content, self.space
        for ch in text:
            if mode == DONE:  # the official parser reads nothing after the list
                continue
            if mode == STRING:
                if ch == '"':
                    if not content:
                        return None
                    mode, content = AFTER_ITEM, ""
                elif ch in _NOT_IN_STRING or (content + ch) not in passage:
                    return None
                else:
                    content += ch
                continue
            if ch == " ":
                if space:
                    return None
                space = True
                continue
            space = False
            if mode == START and ch == "[":
                mode = OPEN
            elif mode in (OPEN, AFTER_COMMA) and ch == '"':
                mode = STRING
            elif mode in (OPEN, AFTER_ITEM) and ch == "]":
                mode = DONE
            elif mode == AFTER_ITEM and ch == ",":
                mode = AFTER_COMMA
            else:
                return None
        return ListState(mode, content, space)


class SpanConstraint:
    """Token choice under the list-of-passage-strings constraint for one tokenizer."""

    def __init__(self, tokenizer, top_k: int = 32):
        from .decoder import TokenText

        self.top_k = top_k
        self.special = frozenset(tokenizer.all_special_ids)
        self.piece = TokenText(tokenizer)  # the text of one token

    def state(self, ids: Sequence[int], passage: str) -> ListState | None:
        """The state after the tokens ``ids`` (``None`` if they already left the language)."""
        state: ListState | None = ListState()
        for token in ids:
            state = state.feed(self.piece(token), passage) if state is not None and token not in self.special else None
        return state

    def step(self, state: ListState, token: int, passage: str) -> ListState | None:
        """The state after one more token, ``None`` if the token is not allowed."""
        if token in self.special:
            return None
        text = self.piece(token)
        return state.feed(text, passage) if text else None

    def choose(self, scores, state: ListState, passage: str) -> tuple[int, ListState]:
        """The highest-scoring allowed token for one row's scores (a 1-d tensor) and the
        state after it: the first allowed among the ``top_k`` best, else among the 1024
        best, else among all tokens in order of score (each wider ranking is computed only
        when the narrower one held no allowed token)."""
        import torch

        n, seen = scores.shape[-1], 0
        for k in (min(self.top_k, n), min(1024, n), n):
            if k <= seen:
                continue
            ranked = (torch.topk(scores, k).indices if k < n else torch.argsort(scores, descending=True)).tolist()
            for token in ranked[seen:]:
                after = self.step(state, token, passage)
                if after is not None:
                    return token, after
            seen = k
        raise RuntimeError("no token continues the answer under the span constraint")


def satisfies(text: str, passage: str) -> bool:
    """Whether an answer's text is a closed list of passage strings (the constraint's language)."""
    state = ListState().feed(text, passage)
    return state is not None and state.mode == DONE

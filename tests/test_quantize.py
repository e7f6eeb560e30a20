"""Int8 inference (unerlib.quantize): the per-row layer against float, a row's result
independent of its batch (which torch's dynamic int8 is not), and the whole tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest_models import *  # noqa: F401,F403
from unerlib.emptiness import empty_scores
from unerlib.inference import Question
from unerlib.quantize import BF16Linear, Int8RowLinear, Int8RowShared, quantize, quantize_dynamic, quantize_rows
from unerlib.student import StudentError, load_student


def _linear(seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(64, 48)


def test_the_row_layer_is_close_to_float():
    linear = _linear()
    x = torch.randn(5, 7, 64)
    got, want = Int8RowLinear.from_linear(linear)(x), linear(x)
    assert got.shape == want.shape == (5, 7, 48) and got.dtype == torch.float32
    assert (got - want).abs().max() < 0.02 * want.abs().max()
    assert not torch.equal(got, want)  # it is int8 arithmetic, not the float layer


def test_a_row_does_not_depend_on_its_batch():
    """A huge row (the few tokens with activations thousands of times the rest) leaves the
    other rows' results exactly as they are alone; one scale per batch does not."""
    linear = _linear(1)
    rows = torch.randn(4, 64)
    batch = torch.cat([rows, 3000 * torch.randn(1, 64)])
    layer = Int8RowLinear.from_linear(linear)
    assert torch.equal(layer(batch)[:4], layer(rows))
    dynamic = quantize_dynamic(torch.nn.Sequential(_linear(1)))
    alone, mixed = dynamic(rows), dynamic(batch)[:4]
    assert (mixed - alone).abs().max() > 10 * (layer(rows) - linear(rows)).abs().max()


def test_quantize_replaces_every_linear_layer(tiny_dir):
    student = load_student(str(tiny_dir))
    n = sum(isinstance(m, torch.nn.Linear) for m in student.model.modules())
    model = quantize(student.model, "int8_row")
    layers = student.model.config.num_hidden_layers
    # q/k/v and gate/up of each layer are multiplied together: 5 slices and 2 joint weights a layer
    assert sum(isinstance(m, Int8RowShared) for m in model.modules()) == 5 * layers
    assert sum(isinstance(m, Int8RowLinear) for m in model.modules()) == n - 3 * layers > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    with pytest.raises(ValueError, match="int8_row"):
        quantize(model, "int4")
    with pytest.raises(StudentError, match="unknown quantization"):
        load_student(str(tiny_dir), quantize="int4")


def test_batched_questions_score_as_alone_under_int8_row(tiny_dir):
    """Through the whole (tiny) model: a question's empty-answer probability is the same in a
    batch of six as alone, up to float rounding in the unquantized parts."""
    student = load_student(str(tiny_dir), quantize="int8_row")
    passages = ["Paris is in France .", "Alan Turing was born in London in 1912 ."]
    qs = [Question(f"{i}-{t}", p, t, json.dumps([])) for i, p in enumerate(passages)
          for t in ("city", "person", "year")]
    alone = empty_scores(student, qs, batch_rows=1, progress=False)
    batched = empty_scores(student, qs, batch_rows=6, progress=False)
    np.testing.assert_allclose(batched.log_prob, alone.log_prob, atol=1e-3)
    floats = empty_scores(load_student(str(tiny_dir)), qs, batch_rows=6, progress=False)
    assert np.abs(batched.log_prob - floats.log_prob).max() < 0.1  # close to the float model's


def test_layers_multiplied_together_give_the_numbers_of_each_alone(tiny_dir, student_tokenizer):
    """Sharing one int8 product among q/k/v (and gate/up) changes no number: the logits are
    equal, bit for bit, to those of every layer quantized alone, step after step of decoding."""
    ids = torch.tensor([student_tokenizer.encode("Text: Paris is in France . What describes city in the text?")])
    logits = []
    for share in (True, False):
        model = quantize_rows(load_student(str(tiny_dir)).model, share_inputs=share)
        with torch.inference_mode():
            out = model(input_ids=ids, use_cache=True)
            step = model(input_ids=out.logits[:, -1:].argmax(-1), past_key_values=out.past_key_values)
        logits.append((out.logits, step.logits))
    assert torch.equal(logits[0][0], logits[1][0]) and torch.equal(logits[0][1], logits[1][1])


def test_shared_layers_hold_no_activations_between_calls(tiny_dir, student_tokenizer):
    """Once q, k and v (gate and up) have their outputs, the joint product is let go, so a
    large batch's activations are not kept alive until the next forward pass."""
    from unerlib.quantize import _SharedInput

    model = quantize_rows(load_student(str(tiny_dir)).model)
    with torch.inference_mode():
        model(input_ids=torch.tensor([student_tokenizer.encode("Paris is in France .")]))
    shared = {m.shared for m in model.modules() if isinstance(m, Int8RowShared)}
    assert shared and all(isinstance(s, _SharedInput) and s.input is None and not s.outputs for s in shared)


def test_int8_body_leaves_the_output_head_in_float(tiny_dir):
    """``int8_body``: every decoder linear layer in int8, the output head the float layer
    itself, so its logits are the head's float product of the int8 body's hidden states."""
    student = load_student(str(tiny_dir))
    head = student.model.lm_head
    model = quantize(student.model, "int8_body")
    assert model.lm_head is head and isinstance(head, torch.nn.Linear)
    linear = [name for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    assert linear == ["lm_head"]
    assert sum(isinstance(m, Int8RowShared) for m in model.modules()) == 5 * model.config.num_hidden_layers
    ids = torch.tensor([[3, 5, 7, 9]])
    with torch.inference_mode():
        out = model(ids, output_hidden_states=True)
        assert torch.allclose(out.logits, head(out.hidden_states[-1]), atol=1e-5)
    rows = quantize(load_student(str(tiny_dir)).model, "int8_row")
    assert isinstance(rows.lm_head, Int8RowLinear)
    assert load_student(str(tiny_dir), quantize="int8_body").model.lm_head.__class__ is torch.nn.Linear


def test_int8_bf16_head_multiplies_the_head_in_bfloat16(tiny_dir):
    """``int8_bf16_head``: the int8 body of ``int8_body``, the head's weights in bfloat16; the
    logits stay float32, close to the float head's and a bfloat16 product's (equal, or one
    bfloat16 step from it where this CPU multiplies the bfloat16 operands in float32)."""
    student = load_student(str(tiny_dir))
    head = student.model.lm_head
    weight = head.weight.detach().clone()
    model = quantize(student.model, "int8_bf16_head")
    assert isinstance(model.lm_head, BF16Linear) and model.lm_head.weight.dtype == torch.bfloat16
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    ids = torch.tensor([[3, 5, 7, 9]])
    with torch.inference_mode():
        out = model(ids, output_hidden_states=True)
    hidden = out.hidden_states[-1]
    assert out.logits.dtype == torch.float32
    expected = torch.nn.functional.linear(hidden.bfloat16(), weight.bfloat16()).float()
    assert _bf16_steps(out.logits, expected).max() <= (0 if model.lm_head.native else 1)
    assert torch.allclose(out.logits, hidden @ weight.T, atol=0.05, rtol=0.02)
    assert not torch.equal(out.logits, hidden @ weight.T)  # it is not the float head
    assert isinstance(load_student(str(tiny_dir), quantize="int8_bf16_head").model.lm_head, BF16Linear)


def test_bf16_multiplies_every_linear_layer_in_bfloat16(tiny_dir):
    """``bf16``: every linear layer (the head among them) a bfloat16 product, the embeddings,
    norms and residual stream left in float32; the logits close to float32's, not equal."""
    ids = torch.tensor([[3, 5, 7, 9]])
    student = load_student(str(tiny_dir))
    n = sum(isinstance(m, torch.nn.Linear) for m in student.model.modules())
    with torch.inference_mode():
        want = student.model(ids).logits
    model = quantize(student.model, "bf16")
    assert sum(isinstance(m, BF16Linear) for m in model.modules()) == n > 0
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert all(p.dtype == torch.float32 for p in model.parameters())  # embeddings and norms
    with torch.inference_mode():
        got = model(ids).logits
    assert got.dtype == torch.float32
    assert (got - want).abs().max() < 0.02 * want.abs().max() and not torch.equal(got, want)
    loaded = load_student(str(tiny_dir), quantize="bf16").model
    assert isinstance(loaded.lm_head, BF16Linear)


def test_bf16_without_bfloat16_instructions_gives_the_bfloat16_products():
    """On a CPU without bfloat16 instructions the same bfloat16 operands are multiplied in
    float32: every output is the bfloat16 product's, or one bfloat16 step from it (the float32
    sums added in another order), and nearly all of them are equal."""
    torch.manual_seed(0)
    for bias in (False, True):
        linear = torch.nn.Linear(96, 160, bias=bias)
        x = torch.randn(4, 11, 96)
        native, emulated = BF16Linear(linear, native=True), BF16Linear(linear, native=False)
        with torch.inference_mode():
            a, b = native(x), emulated(x)
        assert a.dtype == b.dtype == torch.float32 and a.shape == b.shape == (4, 11, 160)
        assert torch.equal(a, a.to(torch.bfloat16).float()) and torch.equal(b, b.to(torch.bfloat16).float())
        steps = _bf16_steps(a, b)
        assert steps.max() <= 1 and (steps == 0).float().mean() > 0.99
        # the emulated layer holds the bfloat16 weights in float32 only for its product
        assert "weight_f32" not in emulated.state_dict() and torch.equal(emulated.weight, native.weight)


def test_bf16_asks_the_cpu_by_default(monkeypatch):
    """``native=None``: the product runs in bfloat16 only on a CPU with bfloat16 instructions."""
    import unerlib.hardware

    linear = torch.nn.Linear(8, 4)
    for has in (True, False):
        monkeypatch.setattr(unerlib.hardware, "cpu_bf16", lambda has=has: has)
        assert BF16Linear(linear).native is has


def _bf16_steps(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """How many bfloat16 steps apart two tensors of bfloat16 values are, element by element."""
    return (a.to(torch.bfloat16).view(torch.int16).int() - b.to(torch.bfloat16).view(torch.int16).int()).abs()

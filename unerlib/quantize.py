"""Int8 and bfloat16 inference on the CPU: the student's linear layers in 8 or 16 bits.

The ways to quantize, all for decoding only (the weights are trained in float):

- ``"int8"``: torch's dynamic quantization (``torch.ao.quantization.quantize_dynamic``):
  weights int8 with one scale per layer, and the activations of a whole batch quantized
  with *one* scale, computed on the fly. In transformer language models a few tokens carry
  activations far larger than the rest ("massive activations"), so that scale leaves the
  other tokens a handful of levels, and a question's answer depends on what else is in its batch.
- ``"int8_row"``: :class:`Int8RowLinear`: weights int8 with one scale per output channel,
  activations int8 with one scale per *row* (per token), the product in exact int32
  arithmetic (``torch._int_mm``). A row's result no longer depends on the other rows, and
  the large tokens only cost themselves precision.
- ``"int8_smooth"``: ``int8_row`` after moving the activations' outlier channels into the
  weights (:mod:`unerlib.smoothing`, SmoothQuant). ``benchmarks/bench_inference.py`` times
  both beside float32; ``uner campaign`` measures their F1 against float32 (notebook 12).
- ``"int8_body"``: ``int8_row`` for the decoder layers, the output head (``lm_head``, which
  ranks every token of the vocabulary at each step) left in float32.
- ``"int8_bf16_head"``: ``int8_row`` for the decoder layers, the output head in bfloat16
  (:class:`BF16Linear`): half the float32 head's bytes per decoding step, multiplied with
  the CPU's bfloat16 instructions where it has them (``benchmarks/bench_inference.py`` times
  it beside ``int8_body`` and ``int8_row``).
- ``"bf16"``: no int8 at all: every linear layer (the head among them) a :class:`BF16Linear`,
  the embeddings, norms and residual stream in float32. Nearly as fast as ``int8_bf16_head``
  on a CPU with bfloat16 instructions, and more of its answers are float32's
  (``benchmarks/results/inference_bf16.json``).
"""

from __future__ import annotations

import warnings

import torch

from .student import QUANTIZE  # the names load_student accepts, defined where it checks them (no torch there)


def _int8_rows(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row of a float matrix in int8 with its own scale (the largest magnitude maps to 127)."""
    scale = rows.abs().amax(1, keepdim=True).clamp_(min=1e-12).div_(127)
    return rows.div(scale).round_().to(torch.int8), scale


class _SharedInput:
    """Linear layers that read the same input (a layer's q/k/v projections, an MLP's gate and
    up projections) multiplied as one int8 matrix: the first to be called computes all their
    outputs, the others take theirs. The weights of each output channel keep their own scale,
    so every output is the one its layer computes alone."""

    def __init__(self, layers: list[torch.nn.Linear]):
        self.sizes = [layer.out_features for layer in layers]
        bias = None
        if any(layer.bias is not None for layer in layers):
            bias = torch.cat([layer.bias.detach() if layer.bias is not None else torch.zeros(layer.out_features)
                              for layer in layers])
        self.linear = Int8RowLinear(torch.cat([layer.weight.detach() for layer in layers]), bias)
        self.input: torch.Tensor | None = None
        self.outputs: list[torch.Tensor] = []
        self.pending: set[int] = set()

    def output(self, x: torch.Tensor, index: int) -> torch.Tensor:
        if self.input is not x or index not in self.pending:
            self.input, self.outputs = x, list(self.linear(x).split(self.sizes, dim=-1))
            self.pending = set(range(len(self.sizes)))
        self.pending.discard(index)
        out = self.outputs[index]
        if not self.pending:  # every layer has its output: hold no activations between calls
            self.input, self.outputs = None, []
        return out


class _LinearRepr:
    """``torch.nn.Linear``'s printed form for the linear layers below."""

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Int8RowLinear(_LinearRepr, torch.nn.Module):
    """A ``torch.nn.Linear`` in int8: weights per output channel, activations per row."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        weight = weight.detach().float()
        scale = weight.abs().amax(1).clamp(min=1e-12) / 127
        self.register_buffer("weight_int8", (weight / scale[:, None]).round().clamp(-127, 127).to(torch.int8))
        self.register_buffer("weight_scale", scale)
        self.register_buffer("bias", None if bias is None else bias.detach().float())
        self.out_features, self.in_features = weight.shape

    @classmethod
    def from_linear(cls, linear: torch.nn.Linear) -> "Int8RowLinear":
        """The int8 form of ``linear``."""
        return cls(linear.weight, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, scale = _int8_rows(x.reshape(-1, self.in_features).float())
        out = torch._int_mm(rows, self.weight_int8.T).float().mul_(scale).mul_(self.weight_scale)
        if self.bias is not None:
            out.add_(self.bias)
        return out.reshape(*x.shape[:-1], self.out_features).to(x.dtype)


class BF16Linear(_LinearRepr, torch.nn.Module):
    """A ``torch.nn.Linear`` with bfloat16 weights: its input rounded to bfloat16, the output
    rounded to bfloat16 and returned in the input's dtype.

    On a CPU without bfloat16 instructions (``native=None`` asks :func:`unerlib.hardware.cpu_bf16`)
    torch's emulated bfloat16 product is several times slower than float32, so the same bfloat16
    operands are multiplied in float32 instead: only the order of the float32 sums may differ,
    which moves an output by one bfloat16 step at most, and rarely."""

    def __init__(self, linear: torch.nn.Linear, native: bool | None = None):
        super().__init__()
        from .hardware import cpu_bf16

        self.register_buffer("weight", linear.weight.detach().to(torch.bfloat16).clone())
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().to(torch.bfloat16).clone())
        self.out_features, self.in_features = linear.out_features, linear.in_features
        self.native = cpu_bf16() if native is None else native
        if not self.native:  # the bfloat16 weights, held in float32 for the float32 product
            self.register_buffer("weight_f32", self.weight.float(), persistent=False)
            self.register_buffer("bias_f32", None if self.bias is None else self.bias.float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.native:
            return torch.nn.functional.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)
        rounded = x.to(torch.bfloat16).to(torch.float32)
        out = torch.nn.functional.linear(rounded, self.weight_f32, self.bias_f32)
        return out.to(torch.bfloat16).to(x.dtype)


class Int8RowShared(torch.nn.Module):
    """One of several linear layers multiplied together (:class:`_SharedInput`): its slice of the
    joint product, in place of its own product (the same numbers, fewer and larger multiplies)."""

    def __init__(self, shared: _SharedInput, index: int):
        super().__init__()
        self.shared, self.index = shared, index
        self.out_features = shared.sizes[index]
        if index == 0:  # the joint weights belong to the first layer, so that they count once
            self.joint = shared.linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared.output(x, self.index)

    def extra_repr(self) -> str:
        return f"out_features={self.out_features}, slice {self.index} of {len(self.shared.sizes)}"


#: linear layers of one module that read the same input (Llama-style attention and MLP)
SHARED_INPUTS: tuple[tuple[str, ...], ...] = (("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"))


def quantize_rows(model: torch.nn.Module, share_inputs: bool = True,
                  keep: tuple[str, ...] = ()) -> torch.nn.Module:
    """``model`` with every ``torch.nn.Linear`` replaced, in place, by :class:`Int8RowLinear`;
    the layers of :data:`SHARED_INPUTS` under one module are multiplied together unless
    ``share_inputs`` is false (the same numbers either way). Linear layers named in ``keep``
    (``"lm_head"``) stay in float."""
    for parent in list(model.modules()) if share_inputs else ():
        children = dict(parent.named_children())
        for group in SHARED_INPUTS:
            layers = [children.get(name) for name in group]
            if all(isinstance(layer, torch.nn.Linear) for layer in layers):
                shared = _SharedInput(layers)
                for index, name in enumerate(group):
                    setattr(parent, name, Int8RowShared(shared, index))
    return _replace_linears(model, Int8RowLinear.from_linear, keep)


def linears_bf16(model: torch.nn.Module, native: bool | None = None) -> torch.nn.Module:
    """``model`` with every ``torch.nn.Linear`` replaced, in place, by :class:`BF16Linear`
    (the embeddings, norms and residual stream stay in float32); ``native`` as there."""
    return _replace_linears(model, lambda linear: BF16Linear(linear, native))


def _replace_linears(model: torch.nn.Module, make, keep: tuple[str, ...] = ()) -> torch.nn.Module:
    """``model`` with every ``torch.nn.Linear`` not named in ``keep`` replaced, in place, by
    ``make(layer)``."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear) and name not in keep:
                setattr(parent, name, make(child))
    return model


def quantize_dynamic(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with every ``torch.nn.Linear`` replaced by torch's int8 dynamic quantization
    (one activation scale per batch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its move to torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def quantize(model: torch.nn.Module, how: str, tokenizer=None) -> torch.nn.Module:
    """``model`` quantized for CPU inference as ``how`` says (one of :data:`QUANTIZE`);
    ``"int8_smooth"`` smooths it first (:mod:`unerlib.smoothing`), calibrated on prompts
    made with ``tokenizer``."""
    if how not in QUANTIZE:
        raise ValueError(f"unknown quantization {how!r}; choose from {list(QUANTIZE)}")
    if not how:
        return model
    if how == "int8_smooth":
        if tokenizer is None:
            raise ValueError("int8_smooth calibrates on prompts: pass the student's tokenizer")
        from .smoothing import calibration_ids, smooth

        return quantize_rows(smooth(model, calibration_ids(tokenizer)))
    if how in ("int8_body", "int8_bf16_head"):
        model = quantize_rows(model, keep=("lm_head",))
        if how == "int8_bf16_head" and isinstance(getattr(model, "lm_head", None), torch.nn.Linear):
            model.lm_head = BF16Linear(model.lm_head)
        return model
    if how == "bf16":
        return linears_bf16(model)
    return quantize_rows(model) if how == "int8_row" else quantize_dynamic(model)

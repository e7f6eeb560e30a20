"""Smoothing before int8 (SmoothQuant, Xiao et al., ICML 2023): move the activations' outlier
channels into the weights, in float, without changing what the model computes.

Per-token int8 (``int8_row``, :mod:`unerlib.quantize`) gives each token its own activation
scale, but inside one token a few channels can still be far larger than the rest, and they
leave the others few int8 levels. For a linear layer ``y = x W^T`` and any positive vector
``s`` over its input channels, ``y = (x / s) (W s)^T``: dividing channel ``j`` of the
activations by ``s_j`` and multiplying column ``j`` of the weight by it gives the same
output, with ``s_j = max|x_j|^alpha / max|W_j|^(1 - alpha)`` flattening the activations at
the weights' expense. The division is folded into the layer that makes ``x``:

- q/k/v read the output of ``input_layernorm`` and gate/up that of
  ``post_attention_layernorm`` (an RMSNorm): its weight is divided by ``s``;
- ``down_proj`` reads ``act(gate) * up``: row ``j`` of ``up_proj`` is divided by ``s_j``.

``max|x_j|`` is read on a few fixed calibration prompts (:data:`CALIBRATION_PASSAGES`, short
texts written for this purpose, in the student's question format), never on evaluation data,
so a question's answer still depends on nothing but the question.
"""

from __future__ import annotations

from typing import Sequence

import torch

#: calibration texts (written for this module; from no corpus) and the types asked about each
CALIBRATION_PASSAGES: tuple[str, ...] = (
    "The museum in Lisbon reopened on Monday after a two-year renovation paid for by the city council and a "
    "private foundation.",
    "Researchers at the university reported that the new protein binds to the receptor and slows the growth of "
    "tumour cells in mice.",
    "In the second half the striker scored twice, and the visiting team moved up to third place in the league.",
    "The company released version 4.2 of its database software, which adds support for Python and a new query "
    "planner.",
    "The novel, first published in 1952, follows a sailor who returns to his village after the war and finds his "
    "family gone.",
    "The senator proposed a bill to cut taxes on small farms, and the committee will vote on it in March.",
)
CALIBRATION_TYPES: tuple[str, ...] = ("person", "organization", "location", "date", "product", "event")

#: the smoothing strength: 0 leaves the activations as they are, 1 moves all their range into the weights
DEFAULT_ALPHA = 0.5


def calibration_ids(tokenizer) -> list[list[int]]:
    """Token ids of every calibration passage with all its questions, as the decoder reads them."""
    from .instructions import encode_prompts

    out = []
    for passage in CALIBRATION_PASSAGES:
        prompt = encode_prompts(tokenizer, passage, CALIBRATION_TYPES)
        out.append(prompt.prefix + [t for q in prompt.questions for t in q])
    return out


def _blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The decoder layers of a Llama-style model (``model.model.layers``), checked."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    needed = ("input_layernorm", "post_attention_layernorm", "self_attn", "mlp")
    if layers is None or not all(all(hasattr(b, n) for n in needed) for b in layers):
        raise ValueError("smoothing needs a Llama-style decoder (model.model.layers with input_layernorm, "
                         "self_attn.q/k/v_proj, post_attention_layernorm and mlp.gate/up/down_proj)")
    return list(layers)


def input_maxima(model: torch.nn.Module, batches: Sequence[Sequence[int]]) -> dict[torch.nn.Module, torch.Tensor]:
    """The largest absolute input of every ``torch.nn.Linear``, channel by channel, over the
    tokens of ``batches`` (each a list of token ids, run one at a time)."""
    maxima: dict[torch.nn.Module, torch.Tensor] = {}

    def record(module, args):
        x = args[0].detach().reshape(-1, args[0].shape[-1]).abs().amax(dim=0).float()
        maxima[module] = torch.maximum(maxima[module], x) if module in maxima else x

    hooks = [m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    try:
        with torch.no_grad():
            for ids in batches:
                model(input_ids=torch.tensor([list(ids)], dtype=torch.long))
    finally:
        for hook in hooks:
            hook.remove()
    return maxima


def _scales(act_max: torch.Tensor, weights: Sequence[torch.Tensor], alpha: float) -> torch.Tensor:
    w_max = torch.stack([w.detach().abs().amax(dim=0) for w in weights]).amax(dim=0).float()
    return (act_max.clamp(min=1e-5) ** alpha / w_max.clamp(min=1e-5) ** (1 - alpha)).clamp(min=1e-5)


@torch.no_grad()
def smooth(model: torch.nn.Module, batches: Sequence[Sequence[int]], alpha: float = DEFAULT_ALPHA,
           down_proj: bool = True) -> torch.nn.Module:
    """``model`` with each decoder layer's q/k/v, gate/up and (unless ``down_proj`` is false)
    down_proj inputs smoothed in place, ``max|x|`` read on ``batches``; the same function in
    float, up to rounding. Run it before quantizing."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    blocks = _blocks(model)
    maxima = input_maxima(model, batches)
    for block in blocks:
        attn, mlp = block.self_attn, block.mlp
        for norm, layers in ((block.input_layernorm, (attn.q_proj, attn.k_proj, attn.v_proj)),
                             (block.post_attention_layernorm, (mlp.gate_proj, mlp.up_proj))):
            s = _scales(maxima[layers[0]], [layer.weight for layer in layers], alpha)
            norm.weight.div_(s.to(norm.weight.dtype))
            for layer in layers:
                layer.weight.mul_(s.to(layer.weight.dtype))
        if down_proj:
            s = _scales(maxima[mlp.down_proj], [mlp.down_proj.weight], alpha)
            mlp.up_proj.weight.div_(s.to(mlp.up_proj.weight.dtype)[:, None])
            if mlp.up_proj.bias is not None:
                mlp.up_proj.bias.div_(s.to(mlp.up_proj.bias.dtype))
            mlp.down_proj.weight.mul_(s.to(mlp.down_proj.weight.dtype))
    return model

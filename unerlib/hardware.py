"""What this machine's processor can do in bfloat16, for the training and decoding that use it.

A CPU multiplies bfloat16 in hardware only with AVX512-BF16 or AMX; elsewhere (AVX2 machines,
for example) torch emulates it, and bf16 autocast training then runs many times slower than
float32 (``benchmarks/bench_bf16.py`` times both on one machine). Training falls back to
float32 there, and :class:`unerlib.quantize.BF16Linear` computes its bfloat16 products in
float32 (the same operands, so nearly always the same outputs).
"""

from __future__ import annotations


def cpu_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX tiles)."""
    import torch

    checks = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    for check in checks:
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # a torch build without the probe
            continue
    return False


def bf16_training(device: str) -> bool:
    """Whether bf16 autocast speeds training up on ``device`` ("cpu", "cuda", "cuda:N"):
    a GPU that supports bfloat16, or a CPU with bfloat16 instructions."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return cpu_bf16()

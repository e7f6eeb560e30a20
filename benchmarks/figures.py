"""The README's speed figures, generated from the committed benchmark files.

    python benchmarks/figures.py     # prints the lines the README quotes

tests/test_benchmark_figures.py checks that the README holds every line printed here, so a
figure in the README is always the one a committed file under benchmarks/results/ records.
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def inference_lines(result: dict, file: str = "inference.json") -> list[str]:
    """One line per method of ``bench_inference.py``'s JSON (the file ``file``)."""
    runs = result["runs"]
    first = next(iter(runs))
    adapter = f", student {result['adapter']}" if file != "inference.json" and result.get("adapter") else ""
    head = (f"`benchmarks/results/{file}` ({result['data']}, {result['sentences']} sentences, "
            f"{result['questions']} questions, cap {result['max_new_tokens']} tokens, "
            f"{result['threads']} threads{adapter}, {result['machine']['date']}):")
    lines = [head]
    for name, run in runs.items():
        stops = ", ".join(f"{k} {v}" for k, v in sorted(run["stops"].items()))
        lines.append(f"- `{name}`: {run['seconds']} s, {run['qps']} questions/s "
                     f"(x{run[f'speedup_over_{first}']} over `{first}`), official F1 {run['f1']}, "
                     f"{100 * run[f'identical_to_{first}']:.1f}% parsed answers identical to `{first}`; "
                     f"answers ended: {stops}")
    return lines


def training_lines(result: dict, file: str = "training.json") -> list[str]:
    """The rows of ``bench_training.py``'s JSON (the file ``file``): grouped and random batches,
    and LoRA on the top layers only (in files written since that run existed)."""
    bf16 = ", bf16 autocast" if result.get("bf16") else ", float32"
    lines = [f"`benchmarks/results/{file}` ({result['steps']} steps of {result['batch_size']} sequences, "
             f"{result['threads']} threads{bf16}, {result['machine'].get('cpu_name', '?')}, "
             f"{result['machine']['date']}):"]
    names = {"grouped": "grouped batches", "random": "random batches",
             "top_layers": f"LoRA on the top {result.get('lora_layers')} layers only, grouped batches"}
    for key, name in names.items():
        if key not in result:
            continue
        r = result[key]
        lines.append(f"- {name}: {r['tokens_per_second']} real tokens/s, padding {100 * r['padding_share']:.1f}% "
                     f"of batched positions ({r['batch_tokens']} tokens in {r['batch_positions']} positions)")
    if "top_layers_over_all" in result:
        lines.append(f"- LoRA on the top {result['lora_layers']} layers over every layer: "
                     f"x{result['top_layers_over_all']} the tokens per second")
    return lines


def bf16_lines(result: dict) -> list[str]:
    """``bench_bf16.py``'s JSON: a training step with bf16 autocast against float32, and a
    forward pass in float32, in bfloat16 products and in bfloat16 operands multiplied in float32."""
    m, t, f = result["machine"], result["train_step_s"], result["forward_s"]
    has = "with" if m.get("cpu_bf16") else "without"
    return [f"`benchmarks/results/bf16.json` ({m.get('cpu_name', '?')}, {has} bfloat16 instructions, "
            f"{result['batch']} sequences of {result['tokens']} tokens, {result['threads']} threads, {m['date']}):",
            f"- a training step: float32 {t['float32']} s, bf16 autocast {t['bf16_autocast']} s "
            f"(x{result['bf16_autocast_over_float32']})",
            f"- a forward pass: float32 {f['float32']} s, bfloat16 products {f['bf16_native']} s, bfloat16 operands "
            f"multiplied in float32 {f['bf16_in_float32']} s (bfloat16 products x{result['bf16_native_over_in_float32']} "
            f"the time of the float32 multiplication; that one x{result['bf16_in_float32_over_float32']} float32's)"]


def readme_lines() -> list[str]:
    """Every line the README quotes from the committed benchmark files."""
    lines: list[str] = []
    for name, make in (("inference.json", inference_lines), ("training.json", training_lines)):
        path = RESULTS / name
        if path.is_file():
            lines += make(json.loads(path.read_text()))
    for path in sorted(RESULTS.glob("inference_*.json")):  # runs of some methods on another student
        lines += inference_lines(json.loads(path.read_text()), path.name)
    for path in sorted(RESULTS.glob("training_*.json")):  # the same run on another machine or precision
        lines += training_lines(json.loads(path.read_text()), path.name)
    if (RESULTS / "bf16.json").is_file():
        lines += bf16_lines(json.loads((RESULTS / "bf16.json").read_text()))
    return lines


if __name__ == "__main__":
    print("\n".join(readme_lines()))

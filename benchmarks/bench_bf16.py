"""bfloat16 on this CPU: training steps with bf16 autocast against float32, and the bfloat16
decoding (``quantize: "bf16"``) multiplied in bfloat16 against its float32 emulation and against
float32 itself, side by side on the same inputs in one run.

    python benchmarks/bench_bf16.py [--batch 4] [--tokens 128] [--steps 2] [--out benchmarks/results/bf16.json]

A CPU without bfloat16 instructions (``unerlib.hardware.cpu_bf16``) emulates the bfloat16
products, many times slower than float32: there the library trains in float32 and multiplies
the bfloat16 operands in float32 (``unerlib.quantize.BF16Linear``). The JSON (with the machine,
package versions and date) is printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from unerlib.quantize import linears_bf16
from unerlib.results import machine_info
from unerlib.student import EMBEDDED, load_student


def _seconds(step, repeats: int) -> float:
    """Mean seconds of ``step()`` over ``repeats`` calls, after one untimed call."""
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--batch", type=int, default=4, help="sequences a step")
    parser.add_argument("--tokens", type=int, default=128, help="tokens a sequence")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps (and forward passes x 5)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/bf16.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    student = load_student(args.model)
    model = student.model
    ids = torch.randint(100, model.config.vocab_size, (args.batch, args.tokens))
    result: dict = {"benchmark": "bf16", "model": args.model, "batch": args.batch, "tokens": args.tokens,
                    "steps": args.steps, "threads": args.threads, "machine": machine_info()}

    def train_step(autocast: bool):
        def step():
            model.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = model(ids, labels=ids).loss
            loss.backward()
        return step

    model.train()
    result["train_step_s"] = {"float32": round(_seconds(train_step(False), args.steps), 3),
                              "bf16_autocast": round(_seconds(train_step(True), args.steps), 3)}
    model.zero_grad(set_to_none=True)
    model.eval()

    def forward(m):
        def step():
            with torch.inference_mode():
                m(ids)
        return step

    forward_s = {"float32": round(_seconds(forward(model), 5 * args.steps), 3)}
    for name, native in (("bf16_native", True), ("bf16_in_float32", False)):
        decoded = linears_bf16(load_student(args.model).model.eval(), native=native)
        forward_s[name] = round(_seconds(forward(decoded), 5 * args.steps), 3)
    result["forward_s"] = forward_s
    result["bf16_autocast_over_float32"] = round(result["train_step_s"]["bf16_autocast"]
                                                 / result["train_step_s"]["float32"], 2)
    result["bf16_native_over_in_float32"] = round(forward_s["bf16_native"] / forward_s["bf16_in_float32"], 2)
    result["bf16_in_float32_over_float32"] = round(forward_s["bf16_in_float32"] / forward_s["float32"], 2)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Inference speed and answers, side by side in one run on the same model and questions:

- ``official``: the official loop as published: one prompt per (passage, type) through
  ``generate``, greedy, stopping at the end-of-sequence token or after ``--max-new-tokens``;
- ``fast_noloop``: our shared-prefix batched predictor without the loop stop;
- ``fast``: our predictor as the report runs it (a list repeating one block of items three
  times is stopped: unclosed, it scores empty either way);
- ``fast_int8``: the same on torch's int8 dynamic quantization of the student (one activation
  scale per batch; its answers may differ, so F1 and identical answers are reported);
- ``fast_int8_row``: the same on the int8 quantization with one activation scale per token
  (:mod:`unerlib.quantize`);
- ``fast_int8_body``: ``int8_row`` for the decoder layers, the output head in float32;
- ``fast_int8_bf16_head``: the same with the output head in bfloat16 (the default profile's setting);
- ``fast_bf16``: every linear layer in bfloat16, no int8 (not in the default ``--methods``;
  ``benchmarks/results/inference_bf16.json`` runs it beside ``fast`` and ``fast_int8_bf16_head``).

    python benchmarks/bench_inference.py [--data crossner_music] [--limit 30] [--adapter DIR]
        [--methods official,fast_noloop,fast,fast_int8,fast_int8_row,fast_int8_body,fast_int8_bf16_head] [--out benchmarks/results/inference.json]

For each method: seconds, questions per second, tokens run through the model, how the
answers ended (end, unparseable, loop, cap) and the official F1; for each method against
the first: the share of questions whose official parsed answers are identical, and the
ids that differ. The JSON is printed and written to ``--out`` with the machine, package
versions and date.
"""

from __future__ import annotations

import argparse
import collections
import json
import resource
import time
from pathlib import Path

import torch

from unerlib.inference import load_questions, predict
from unerlib.metrics import official_response, parse_official, score
from unerlib.results import machine_info
from unerlib.student import EMBEDDED, load_student

METHODS = {"official": {"method": "official"}, "naive": {"method": "naive"},
           "fast_noloop": {"method": "fast", "stop_loops": False}, "fast": {"method": "fast"},
           "fast_int8": {"method": "fast"}, "fast_int8_row": {"method": "fast"}, "fast_int8_body": {"method": "fast"},
           "fast_int8_bf16_head": {"method": "fast"}, "fast_bf16": {"method": "fast"}}
#: the quantization each method's student is loaded with (the others: float32)
QUANTIZE = {"fast_int8": "int8", "fast_int8_row": "int8_row", "fast_int8_body": "int8_body",
            "fast_int8_bf16_head": "int8_bf16_head", "fast_bf16": "bf16"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--adapter")
    parser.add_argument("--data", default="crossner_music")
    parser.add_argument("--limit", type=int, default=30, help="sentences (with all their types)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--methods", default="official,fast_noloop,fast,fast_int8,fast_int8_row,fast_int8_body,"
                        "fast_int8_bf16_head")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/inference.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    students = {q: load_student(args.model, args.adapter, quantize=q)
                for q in {QUANTIZE.get(name, "") for name in args.methods.split(",")}}
    questions = load_questions(args.data, limit=args.limit)
    golds = [q.gold or "[]" for q in questions]
    n = len(questions)
    runs, parsed = {}, {}
    for name in args.methods.split(","):
        student = students[QUANTIZE.get(name, "")]
        start = time.perf_counter()
        preds, stats = predict(student, questions, max_new_tokens=args.max_new_tokens, progress=False, **METHODS[name])
        seconds = time.perf_counter() - start
        parsed[name] = [parse_official(official_response(p.raw)) for p in preds]
        runs[name] = {"seconds": round(seconds, 1), "qps": round(n / seconds, 3), "tokens": stats.tokens,
                      "stops": dict(collections.Counter(p.stop for p in preds)),
                      "f1": round(100 * score([p.raw for p in preds], golds)["f1"], 2)}
    first = next(iter(runs))
    for name in runs:
        differ = [q.id for q, a, b in zip(questions, parsed[first], parsed[name]) if a != b]
        runs[name].update({f"identical_to_{first}": round(1 - len(differ) / n, 4), f"differing_from_{first}": differ,
                           f"speedup_over_{first}": round(runs[first]["seconds"] / runs[name]["seconds"], 2)})
    result = {"benchmark": "inference", "model": args.model,
              "adapter": Path(args.adapter).name if args.adapter else None, "data": args.data,
              "sentences": args.limit, "questions": n, "max_new_tokens": args.max_new_tokens, "threads": args.threads,
              "machine": machine_info(), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
              "runs": runs}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

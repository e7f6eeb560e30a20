"""Inference speed: the official one-`generate`-per-question loop against our shared-prefix
batched predictor, on the same model and questions, in one run.

    python benchmarks/bench_inference.py [--limit 100] [--data crossner_ai] [--adapter DIR]

The last line is JSON: naive_qps, fast_qps, speedup, identical (share of questions whose
parsed answers agree), bound (tokens the naive loop runs / tokens ours runs: the speedup
saved computation alone allows where prompt processing dominates), and the questions
whose answers differ.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

from unerlib.inference import load_questions, predict
from unerlib.student import EMBEDDED, load_student


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--adapter")
    parser.add_argument("--data", default="crossner_ai")
    parser.add_argument("--limit", type=int, default=100, help="sentences (with all their types)")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    student = load_student(args.model, args.adapter)
    questions = load_questions(args.data, limit=args.limit)
    runs = {}
    for method in ("naive", "fast"):
        start = time.perf_counter()
        preds, stats = predict(student, questions, max_new_tokens=args.max_new_tokens, method=method)
        runs[method] = (time.perf_counter() - start, preds, stats)
    (t_naive, p_naive, s_naive), (t_fast, p_fast, s_fast) = runs["naive"], runs["fast"]
    differ = [{"id": a.id, "type": a.type, "naive": a.raw, "fast": b.raw}
              for a, b in zip(p_naive, p_fast) if a.entities != b.entities]
    n = len(questions)
    result = {
        "model": args.model, "adapter": args.adapter, "data": args.data, "sentences": args.limit,
        "questions": n, "threads": args.threads,
        "naive_seconds": round(t_naive, 1), "fast_seconds": round(t_fast, 1),
        "naive_tokens": s_naive.tokens, "fast_tokens": s_fast.tokens,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "differing": differ,
        "naive_qps": round(n / t_naive, 3), "fast_qps": round(n / t_fast, 3),
        "speedup": round(t_naive / t_fast, 2), "identical": round(1 - len(differ) / n, 4),
        "bound": round(s_naive.tokens / s_fast.tokens, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

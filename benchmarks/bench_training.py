"""Training throughput: tokens per second and the share of padding, with batches grouped
by length and without, on the same examples in one run.

    python benchmarks/bench_training.py [--steps 8] [--passages 300]

The last line is JSON: per mode, tokens_per_second (real, non-padding tokens) and
padding_share, plus the ratio grouped/random.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch

from unerlib.construct import load_pile_ner
from unerlib.experiments import build_teacher_data
from unerlib.instructions import build_conversations, tokenize_conversation
from unerlib.student import EMBEDDED, load_student
from unerlib.train import TrainConfig, padding_share, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data_path, _ = build_teacher_data(n_passages=args.passages, max_tokens=128, progress=False)
    convs = build_conversations(load_pile_ner(data_path), "frequency", 2, 0)
    result: dict = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size}
    for grouped in (True, False):
        student = load_student(args.model)
        examples = [p for c in convs for p in tokenize_conversation(student.tokenizer, c, 384)]
        out = tempfile.mkdtemp()
        config = TrainConfig(model=args.model, max_steps=args.steps, batch_size=args.batch_size,
                             group_by_length=grouped, save_steps=10_000)
        start = time.perf_counter()
        train(config, examples, out, student=student, progress=False)
        seconds = time.perf_counter() - start
        meta = json.loads((Path(out) / "uner_train.json").read_text())
        shutil.rmtree(out, ignore_errors=True)
        mean_len = meta["tokens"] / meta["examples"]
        real_tokens = args.steps * args.batch_size * mean_len
        key = "grouped" if grouped else "random"
        result[key] = {"tokens_per_second": round(real_tokens / seconds, 1),
                       "padding_share": round(padding_share(examples, args.batch_size, grouped), 4),
                       "seconds": round(seconds, 1)}
    result["grouped_over_random"] = round(result["grouped"]["tokens_per_second"] / result["random"]["tokens_per_second"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

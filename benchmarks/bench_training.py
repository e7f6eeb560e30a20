"""Training throughput: tokens per second and the share of padding, with batches grouped
by length and without, and with LoRA on the top ``--lora-layers`` decoder layers only
(batches grouped), on the same examples in one run.

    python benchmarks/bench_training.py [--steps 8] [--passages 300] [--lora-layers 15]
        [--out benchmarks/results/training.json]

Both figures are counted on the batches the Trainer actually trained on (unerlib.train's
counting collator): tokens_per_second = real (non-padding) tokens / training seconds,
padding_share = padding positions / batched positions. The JSON (with the machine, package
versions and date) is printed and written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch

from unerlib.construct import load_pile_ner
from unerlib.experiments import build_teacher_data
from unerlib.instructions import build_conversations, tokenize_conversation
from unerlib.results import machine_info
from unerlib.student import EMBEDDED, load_student
from unerlib.train import TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lora-layers", type=int, default=15,
                        help="the top layers LoRA adapts in the third run (the default profile's lora_layers)")
    parser.add_argument("--no-bf16", dest="bf16", action="store_false",
                        help="train in float32 (the profiles use bf16 autocast)")
    parser.add_argument("--out", default="benchmarks/results/training.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data_path, _ = build_teacher_data(n_passages=args.passages, max_tokens=128, progress=False)
    convs = build_conversations(load_pile_ner(data_path), "frequency", 2, 0)

    result: dict = {"benchmark": "training", "model": args.model, "passages": args.passages, "steps": args.steps,
                    "batch_size": args.batch_size, "threads": args.threads, "bf16": args.bf16,
                    "lora_layers": args.lora_layers, "machine": machine_info()}
    runs = {"grouped": (True, 0), "random": (False, 0), "top_layers": (True, args.lora_layers)}
    for key, (grouped, layers) in runs.items():
        student = load_student(args.model)
        examples = [p for c in convs for p in tokenize_conversation(student.tokenizer, c, 384)]
        out = tempfile.mkdtemp()
        config = TrainConfig(model=args.model, max_steps=args.steps, batch_size=args.batch_size,
                             group_by_length=grouped, save_steps=10_000, bf16=args.bf16, lora_layers=layers)
        train(config, examples, out, student=student, progress=False)
        meta = json.loads((Path(out) / "uner_train.json").read_text())
        shutil.rmtree(out, ignore_errors=True)
        result[key] = {"tokens_per_second": round(meta["tokens_per_second"], 1),
                       "padding_share": round(meta["padding_share"], 4), "batch_tokens": meta["batch_tokens"],
                       "batch_positions": meta["batch_positions"], "seconds": round(meta["train_seconds"], 1)}
    speed = {key: result[key]["tokens_per_second"] for key in runs}
    result["grouped_over_random"] = round(speed["grouped"] / speed["random"], 2)
    result["top_layers_over_all"] = round(speed["top_layers"] / speed["grouped"], 2)
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The ``uner`` command line: a thin face over the library."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .data import DataError


def _cmd_datasets(args: argparse.Namespace) -> None:
    from .registry import REGISTRY, dataset_stats

    names = args.names or list(REGISTRY)
    stats = dataset_stats(names)
    for name, group in stats.groupby("dataset", sort=False):
        spec = REGISTRY[name]
        sizes = ", ".join(f"{s}={n}" for s, n in zip(group["split"], group["sentences"]))
        types = sorted({t for ts in group["types"] for t in ts.split(", ") if t})
        flag = " [zero-shot]" if spec.zero_shot else ""
        print(f"{name}\t{spec.domain}{flag}\t{sizes}\t{len(types)} types: {', '.join(types)}")


def _cmd_convert(args: argparse.Namespace) -> None:
    from .convert import to_uniner, write_json
    from .registry import dataset_types, load_dataset

    records = load_dataset(args.dataset, args.split)
    items = to_uniner(records, dataset_types(args.dataset, records), args.prefix or args.dataset,
                      seed=args.seed, drop_sentence_final=args.match_official)
    path = write_json(items, args.out)
    print(f"{len(records)} sentences x types -> {len(items)} records in {path}")


def _cmd_score(args: argparse.Namespace) -> None:
    from .metrics import score_files

    result = score_files(args.gold, args.pred, parser=args.parser)
    by_type = result.pop("by_type")
    if args.by_type:
        for typ, r in by_type.items():
            print(f"{typ}\tP={r['precision']:.4f}\tR={r['recall']:.4f}\tF1={r['f1']:.4f}\tn={r['n']}")
    print(json.dumps(result))


def _read_text(value: str) -> str:
    return sys.stdin.read() if value == "-" else value


def _cmd_predict(args: argparse.Namespace) -> None:
    from .inference import Question, entity_offsets, predict
    from .student import load_student

    text = _read_text(args.text).strip()
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not text or not types:
        raise DataError("--text and --types must not be empty")
    student = load_student(args.model, args.adapter)
    questions = [Question(str(i), text, t) for i, t in enumerate(types)]
    preds, _ = predict(student, questions, max_new_tokens=args.max_new_tokens, progress=False)
    print(json.dumps({p.type: entity_offsets(text, p.entities) for p in preds}, ensure_ascii=False))


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .inference import evaluate
    from .student import load_student

    student = args.model if args.backend == "vllm" else load_student(args.model, args.adapter)
    result = evaluate(student, args.data, limit=args.limit, out=args.out,
                      max_new_tokens=args.max_new_tokens, backend=args.backend)
    by_type = result.pop("by_type")
    for typ, r in by_type.items():
        print(f"{typ}\tP={r['precision']:.4f}\tR={r['recall']:.4f}\tF1={r['f1']:.4f}\tn={r['n']}")
    print(json.dumps(result))


def _model_args(p: argparse.ArgumentParser) -> None:
    from .student import EMBEDDED

    p.add_argument("--model", default=EMBEDDED,
                   help=f"Hugging Face id, local directory or .gguf file (default: the embedded {EMBEDDED})")
    p.add_argument("--adapter", help="LoRA adapter directory (peft)")
    p.add_argument("--max-new-tokens", type=int, default=64, help="cap on answer tokens")


def _cmd_report(args: argparse.Namespace) -> None:
    from .pipeline import run_report

    index = run_report(args.profile, only=args.only)
    print(f"report built: {index}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``uner``."""
    parser = argparse.ArgumentParser(prog="uner", description="UniversalNER reproduction: data, metric, report.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the registered datasets: domain, split sizes, types")
    p.add_argument("names", nargs="*", help="dataset names (default: all)")
    p.set_defaults(func=_cmd_datasets)

    p = sub.add_parser("convert", help="convert a dataset split to the UniNER evaluation JSON")
    p.add_argument("dataset")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True)
    p.add_argument("--prefix", help="id prefix (default: the dataset name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the per-sentence type order")
    p.add_argument("--match-official", action="store_true",
                   help="reproduce the official CrossNER files' quirk of dropping sentence-final entities")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("score", help="the official UniNER metric of a prediction file")
    p.add_argument("--gold", required=True, help="UniNER evaluation JSON")
    p.add_argument("--pred", required=True, help='JSON lines {"id": ..., "prediction": "<raw output>"}')
    p.add_argument("--parser", choices=["official", "lenient"], default="official")
    p.add_argument("--by-type", action="store_true", help="print a line per entity type first")
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("predict", help="entities of the given types in a text, with character offsets")
    _model_args(p)
    p.add_argument("--text", required=True, help="the passage, or - to read it from stdin")
    p.add_argument("--types", required=True, help="comma-separated entity types")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("evaluate", help="zero-shot evaluation on a set; prints the official metric last")
    _model_args(p)
    p.add_argument("--data", required=True, help="dataset name (e.g. crossner_ai) or UniNER JSON file")
    p.add_argument("--limit", type=int, help="first N sentences, with all their types")
    p.add_argument("--out", help="write predictions as JSON lines (input of uner score)")
    p.add_argument("--backend", choices=["hf", "vllm"], default="hf")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("report", help="execute the notebooks with papermill and build the book")
    p.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    p.add_argument("--only", nargs="*", help="notebook stems to execute (default: all of _toc.yml)")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``uner``; known failures print one line on stderr and exit 2."""
    from .pipeline import ReportError
    from .student import StudentError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataError, ReportError, StudentError) as err:
        print(f"uner: error: {err}", file=sys.stderr)
        return 2
    return 0

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


def _cmd_construct(args: argparse.Namespace) -> None:
    from .construct import construct, sample_passages
    from .convert import write_json
    from .experiments import evaluation_texts, token_counter
    from .registry import SOURCE_WEIGHTS, TEACHER_SOURCES
    from .teacher import make_teacher

    sources = args.sources.split(",") if args.sources else list(TEACHER_SOURCES)
    passages = sample_passages(sources, args.passages, seed=args.seed, max_tokens=args.max_tokens,
                               count_tokens=token_counter(args.student), exclude_texts=evaluation_texts(),
                               weights=SOURCE_WEIGHTS)
    kwargs = {}
    if args.teacher == "openai":
        kwargs = {"model": args.teacher_model, "base_url": args.base_url, "cache": args.cache}
    data, summary = construct(passages, make_teacher(args.teacher, **kwargs))
    write_json(data, args.out)
    print(json.dumps(summary.as_dict()))


def _cmd_instructions(args: argparse.Namespace) -> None:
    from .construct import load_pile_ner
    from .instructions import build_conversations
    from .typefreq import merge_variants, type_counts

    data = load_pile_ner(args.data)
    convs = build_conversations(data, args.negatives, args.n_negatives, args.seed, merge_variants(type_counts(data)))
    with open(args.out, "w", encoding="utf-8") as fh:
        for c in convs:
            fh.write(json.dumps({"passage": c.passage, "source": c.source,
                                 "turns": [{"type": t, "answer": a} for t, a in c.turns]}, ensure_ascii=False) + "\n")
    n_neg = sum(1 for c in convs for _t, a in c.turns if not a)
    print(json.dumps({"conversations": len(convs), "questions": sum(len(c.turns) for c in convs), "negatives": n_neg}))


def _cmd_train(args: argparse.Namespace) -> None:
    from .experiments import build_student, build_teacher_data
    from .pipeline import load_profile

    params = load_profile(args.profile)["parameters"]
    if args.data:
        data_path = args.data
    else:
        data_path, _ = build_teacher_data(teacher=params.get("teacher", "corpus"),
                                          n_passages=params["n_passages"], seed=params.get("seed", 0),
                                          max_tokens=params.get("max_passage_tokens", 256))
    train_options = {k: params[k] for k in ("learning_rate", "epochs", "max_steps", "batch_size", "grad_accum",
                                            "lora", "lora_r", "lora_alpha", "max_length") if k in params}
    if args.negatives:
        params["negatives"] = args.negatives
    folder = build_student(data_path, negatives=params.get("negatives", "frequency"),
                           n_negatives=params.get("n_negatives", 2), seed=params.get("seed", 0),
                           model=params.get("student", "smollm2-135m"), **train_options)
    print(f"tuned student: {folder}")


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

    p = sub.add_parser("construct", help="sample passages and annotate them with a teacher (Pile-NER-type JSON)")
    p.add_argument("--teacher", choices=["corpus", "openai"], default="corpus")
    p.add_argument("--passages", type=int, default=6500, help="passages sent to the teacher")
    p.add_argument("--out", required=True)
    p.add_argument("--sources", help="comma-separated corpora, file:PATH or hf:NAME (default: the teacher sources)")
    p.add_argument("--max-tokens", type=int, default=256, help="passage length cap (student tokens)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--student", default="smollm2-135m", help="model whose tokenizer counts tokens")
    p.add_argument("--teacher-model", help="OpenAI-compatible model (default: $UNER_TEACHER_MODEL)")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: $UNER_TEACHER_BASE_URL); "
                                      "the key is read from $OPENAI_API_KEY only")
    p.add_argument("--cache", default="artifacts/teacher_cache.sqlite", help="response cache (SQLite)")
    p.set_defaults(func=_cmd_construct)

    p = sub.add_parser("instructions", help="build training conversations with negative sampling (JSON lines)")
    p.add_argument("--data", required=True, help="Pile-NER-type JSON")
    p.add_argument("--negatives", choices=["none", "uniform", "frequency"], default="frequency")
    p.add_argument("--n-negatives", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_instructions)

    p = sub.add_parser("train", help="tune a student with a profile's recipe (cached under artifacts/)")
    p.add_argument("--profile", default="default", choices=["smoke", "default", "paper"])
    p.add_argument("--data", help="Pile-NER-type JSON (default: build the profile's teacher data)")
    p.add_argument("--negatives", choices=["none", "uniform", "frequency"])
    p.set_defaults(func=_cmd_train)

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

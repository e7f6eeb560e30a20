"""The ``uner`` command line: a thin face over the library."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from .campaign_suite import SUITES
from .cli_pipeline import _cmd_campaign, _cmd_construct, _cmd_instructions, _cmd_report, _cmd_train
from .data import DataError
from .instructions import NEGATIVE_STRATEGIES
from .pipeline import PROFILES


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

    if args.input is not None:
        return _cmd_predict_file(args)
    if args.text is None:
        raise DataError("give --text TEXT (or -) or --input FILE")
    text = _read_text(args.text).strip()
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not text or not types:
        raise DataError("--text and --types must not be empty")
    student = load_student(args.model, args.adapter)
    questions = [Question(str(i), text, t) for i, t in enumerate(types)]
    preds, _ = predict(student, questions, max_new_tokens=args.max_new_tokens, progress=False)
    print(json.dumps({p.type: entity_offsets(text, p.entities) for p in preds}, ensure_ascii=False))


def _cmd_predict_file(args: argparse.Namespace) -> None:
    from .api import UniNER
    from .files import check_input, predict_file

    types = [t.strip() for t in args.types.split(",") if t.strip()]
    if not types:
        raise DataError("--types must not be empty")
    if not args.out:
        raise DataError("--input needs --out (JSON lines, appended; a rerun resumes)")
    if args.text is not None:
        raise DataError("give --text or --input, not both")
    if args.batch_lines < 1:
        raise DataError(f"--batch-lines must be positive, got {args.batch_lines}")
    check_input(args.input)  # before the model loads

    def bad_line(number: int, reason: str) -> None:
        print(f"uner: {args.input}: line {number}: {reason}; skipped", file=sys.stderr, flush=True)

    ner = UniNER.load(args.model, args.adapter, max_new_tokens=args.max_new_tokens)
    counts = predict_file(ner, args.input, args.out, types, batch_lines=args.batch_lines, on_bad_line=bad_line)
    if counts["skipped"]:
        print(f"uner: {counts['skipped']} bad input lines skipped", file=sys.stderr)
    print(json.dumps({**counts, "out": args.out}))


def _cmd_export(args: argparse.Namespace) -> None:
    from .export import export_model

    out = export_model(args.adapter, args.out, model=args.model, dtype=args.dtype)
    print(f"exported: {out} (load it with AutoModelForCausalLM.from_pretrained)")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from .inference import evaluate
    from .student import load_student

    if args.backend == "vllm":  # vLLM loads the model itself; the adapter goes with it as a LoRA request
        from .student import Student

        student = Student(None, None, args.model, args.adapter)
    else:
        student = load_student(args.model, args.adapter)
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


def _non_negative(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return number


def _share(value: str) -> float:
    number = _non_negative(value)
    if number > 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1, not {value}")
    return number


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
    p.add_argument("--text", help="the passage, or - to read it from stdin")
    p.add_argument("--types", required=True, help="comma-separated entity types")
    p.add_argument("--input", help="texts.txt (one text per line) or texts.jsonl ({\"text\", \"id\"} per line); "
                                   "long texts are windowed")
    p.add_argument("--out", help="with --input: spans as JSON lines, appended and flushed per line; "
                                 "a rerun skips the lines already there")
    p.add_argument("--batch-lines", type=int, default=32, help="with --input: lines predicted together")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("export", help="merge a LoRA adapter into a plain transformers model folder")
    p.add_argument("--adapter", required=True, help="LoRA adapter directory (peft)")
    p.add_argument("--out", required=True, help="folder for the merged model")
    p.add_argument("--model", help="base model (default: the one recorded beside the adapter)")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    p.set_defaults(func=_cmd_export)

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
    p.add_argument("--sources", help="comma-separated corpora, file:PATH or hf:NAME, each may end in *N "
                   "(N draws a round; default: the teacher sources)")
    p.add_argument("--max-tokens", type=int, default=256, help="passage length cap (student tokens)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--student", default="smollm2-135m", help="model whose tokenizer counts tokens")
    p.add_argument("--teacher-model", help="OpenAI-compatible model (default: $UNER_TEACHER_MODEL)")
    p.add_argument("--base-url", help="OpenAI-compatible base URL (default: $UNER_TEACHER_BASE_URL); "
                                      "the key is read from $OPENAI_API_KEY only")
    p.add_argument("--cache", default="artifacts/teacher_cache.sqlite", help="response cache (SQLite)")
    p.add_argument("--price-in", type=_non_negative, default=0.0,
                   help="price of a million prompt tokens, for the cost estimate (default 0)")
    p.add_argument("--price-out", type=_non_negative, default=0.0,
                   help="price of a million completion tokens, for the cost estimate (default 0)")
    p.add_argument("--max-failure-share", type=_share, default=0.05,
                   help="stop with an error when more than this share of passages gets no answer (default 0.05)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the passages, the estimated tokens and cost, and send nothing")
    p.set_defaults(func=_cmd_construct)

    p = sub.add_parser("instructions", help="build training conversations with negative sampling "
                                            "(the Pile-NER-type train.json conversation JSON)")
    p.add_argument("--data", required=True, help="annotated file: CoNLL/BIO, UniNER conversation JSON "
                                                 "(Pile-NER-type train.json) or Pile-NER JSON lines")
    p.add_argument("--format", choices=["auto", "conll", "conversations", "pile_ner_rows"], default="auto",
                   help="format of --data (default: told by its content)")
    p.add_argument("--negatives", choices=list(NEGATIVE_STRATEGIES), default="frequency")
    p.add_argument("--n-negatives", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-format", choices=["conversations", "structured"], default="conversations",
                   help="conversations: JSON list of {id, conversations: [{from, value}]} (trains the official "
                        "code too); structured: JSON lines {passage, source, turns: [{type, answer}]}")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_instructions)

    p = sub.add_parser("train", help="tune a student with a profile's recipe (cached under artifacts/), "
                                     "or fine-tune one on your own data (--data FILE --out DIR [--adapter A])")
    p.add_argument("--profile", default="default", help=f"a profile of profiles/ (shipped: {', '.join(PROFILES)})")
    p.add_argument("--data", help="training data: Pile-NER-type JSON, UniNER conversation JSON, CoNLL/BIO or "
                                  "Pile-NER JSON lines (default: build the profile's teacher data)")
    p.add_argument("--format", choices=["auto", "conll", "conversations", "pile_ner_rows"], default="auto",
                   help="format of --data (default: told by its content)")
    p.add_argument("--adapter", help="continue this LoRA adapter (a distilled student) on --data; needs --out")
    p.add_argument("--model", help="base model (default: the profile's student, or the adapter's base)")
    p.add_argument("--out", help="write the tuned student here (not cached); needs --data")
    p.add_argument("--max-steps", type=int, help="optimizer steps (default: the profile's)")
    p.add_argument("--epochs", type=float, help="passes over the data (default: the profile's)")
    p.add_argument("--learning-rate", type=float, help="peak learning rate (default: the profile's)")
    p.add_argument("--negatives", choices=list(NEGATIVE_STRATEGIES))
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("campaign", help="train and score student configurations on the validation suite "
                                        "(never the test sets); writes the JSON the campaign chapter shows")
    p.add_argument("--profile", default="default", help="the profile whose student parameters are the base")
    p.add_argument("--configs", default="all", help="configuration names of unerlib.campaign.CONFIGS, or 'all' "
                                                      "('' with --extend: none)")
    p.add_argument("--limit", type=int, default=None,
                   help="sentences per validation set (all their types); default: each set's own size "
                        "(unerlib.campaign.VALIDATION_SETS)")
    p.add_argument("--suite", choices=list(SUITES), default="current",
                   help="the validation suite: the current one, or the first (rounds 1-12, whose MultiCoNER II "
                        "views read the dev file's first sentences; campaign/first_suite.json)")
    p.add_argument("--out", default="campaign/results.json")
    p.add_argument("--base", help="start from the base recorded in an earlier results file (e.g. campaign/results.json) "
                                   "instead of the profile's; the profile holds the configuration that file kept")
    p.add_argument("--carry", action="store_true",
                   help="with --base: keep that file's rows of every configuration not scored now (a round adds "
                        "its configurations to the earlier ones without training them again)")
    p.add_argument("--extend", default="",
                   help="with --base and --carry: configurations of that file scored now only on the sets the suite "
                        "adds to its suite (and again on the empty check's set, which shows whether the student is "
                        "the one recorded); their other rows are carried")
    p.set_defaults(func=_cmd_campaign)

    p = sub.add_parser("report", help="execute the notebooks with papermill and build the book")
    p.add_argument("--profile", default="default", help=f"a profile of profiles/ (shipped: {', '.join(PROFILES)})")
    p.add_argument("--only", nargs="*", help="notebook stems to execute (default: all of _toc.yml)")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``uner``; known failures print one line on stderr and exit 2."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except error_classes() as err:
        print(f"uner: error: {one_line(err)}", file=sys.stderr)
        return 2
    return 0


def error_classes() -> tuple[type[BaseException], ...]:
    """Every error class of ``unerlib``: the CLI turns each into one line and exit status 2."""
    from .artifacts import ArtifactError
    from .pipeline import ReportError
    from .student import StudentError
    from .teacher import TeacherError

    return (DataError, ReportError, StudentError, TeacherError, ArtifactError)


def one_line(err: BaseException) -> str:
    """An error's message on one line (a multi-line message is joined with ' | ')."""
    text = " | ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return text or type(err).__name__

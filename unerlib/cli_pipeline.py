"""The ``uner`` commands that run the research pipeline: teacher data (``construct``),
training conversations (``instructions``), tuning (``train``), the quality campaign
(``campaign``) and the report (``report``). Each is a thin call into the library;
:mod:`unerlib.cli` parses the arguments."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .data import DataError


def _cmd_construct(args: argparse.Namespace) -> None:
    from .construct import construct, sample_passages
    from .convert import write_json
    from .experiments import evaluation_texts, token_counter
    from .registry import TEACHER_SOURCES, split_weights
    from .teacher import make_teacher

    names, weights = split_weights(args.sources.split(",") if args.sources else TEACHER_SOURCES)
    passages = sample_passages(names, args.passages, seed=args.seed, max_tokens=args.max_tokens,
                               count_tokens=token_counter(args.student), exclude_texts=evaluation_texts(),
                               weights=weights)
    kwargs = {}
    if args.teacher == "openai":
        kwargs = {"model": args.teacher_model, "base_url": args.base_url, "cache": args.cache,
                  "price_input_per_m": args.price_in, "price_output_per_m": args.price_out}
    teacher = make_teacher(args.teacher, **kwargs)
    if args.dry_run:
        from .construct import dry_run, format_dry_run

        print(format_dry_run(dry_run(passages, teacher, count_tokens=None)))
        return
    data, summary = construct(passages, teacher, max_failure_share=args.max_failure_share)
    write_json(data, args.out)
    print(json.dumps(summary.as_dict()))
    if not summary.complete:
        print(f"uner: warning: {summary.failed} of {summary.sent} passages got no answer "
              f"(first: {'; '.join(summary.first_errors)}); run again to ask only for them", file=sys.stderr)


def _cmd_instructions(args: argparse.Namespace) -> None:
    from .convert import write_json
    from .finetune import conversation_json, load_user_data, structured_lines
    from .instructions import build_conversations
    from .typefreq import merge_variants, type_counts

    data = load_user_data(args.data, args.format, args.seed)
    convs = build_conversations(data, args.negatives, args.n_negatives, args.seed, merge_variants(type_counts(data)))
    convs = [c for c in convs if c.turns]  # a passage with no entity and no negative asks nothing
    if args.output_format == "structured":
        with open(args.out, "w", encoding="utf-8") as fh:
            for line in structured_lines(convs):
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    else:  # the conversation JSON of the released Pile-NER-type train.json
        write_json(conversation_json(convs), args.out)
    n_neg = sum(1 for c in convs for _t, a in c.turns if not a)
    print(json.dumps({"conversations": len(convs), "questions": sum(len(c.turns) for c in convs), "negatives": n_neg}))


def _user_data_json(path: str, fmt: str, seed: int) -> str:
    """A user's file as Pile-NER-type JSON under artifacts/user_data/ (keyed by its bytes)."""
    from .artifacts import artifact_dir, file_digest, is_done, mark_done, write_json_atomic
    from .finetune import load_user_data

    folder = artifact_dir("user_data", {"file_sha256": file_digest(path), "format": fmt, "seed": seed})
    if not is_done(folder):
        write_json_atomic(folder / "data.json", load_user_data(path, fmt, seed), ensure_ascii=False)
        mark_done(folder)
    return str(folder / "data.json")


def _cmd_train(args: argparse.Namespace) -> None:
    from .experiments import build_student, build_teacher_data
    from .pipeline import load_profile
    from .registry import teacher_sources
    from .runs import TRAIN_PARAMS

    params = load_profile(args.profile)["parameters"]
    for key in ("max_steps", "epochs", "learning_rate"):
        if getattr(args, key) is not None:
            params[key] = getattr(args, key)
    if args.negatives:
        params["negatives"] = args.negatives
    train_options = {k: params[k] for k in (*TRAIN_PARAMS, "grad_accum") if k in params}
    if args.out or args.adapter:  # fine-tune on a user's file, into --out (not cached)
        from .finetune import finetune

        if not (args.out and args.data):
            raise DataError("--adapter and --out go with --data FILE (fine-tuning on your own data)")
        folder = finetune(args.data, args.out, model=args.model or (None if args.adapter else params.get("student")),
                          adapter=args.adapter, format=args.format, negatives=params.get("negatives", "frequency"),
                          n_negatives=params.get("n_negatives", 2), seed=params.get("seed", 0), **train_options)
        print(f"tuned student: {folder}")
        return
    if args.data:
        data_path = args.data
        from .finetune import detect_format

        if (args.format if args.format != "auto" else detect_format(data_path)) != "conversations":
            data_path = _user_data_json(data_path, args.format, params.get("seed", 0))
    else:
        data_path, _ = build_teacher_data(teacher=params.get("teacher", "corpus"),
                                          n_passages=params["n_passages"], seed=params.get("seed", 0),
                                          max_tokens=params.get("max_passage_tokens", 256),
                                          sources=teacher_sources(params.get("sources", "default")))
    folder = build_student(data_path, negatives=params.get("negatives", "frequency"),
                           n_negatives=params.get("n_negatives", 2), seed=params.get("seed", 0),
                           model=args.model or params.get("student", "smollm2-135m"), **train_options)
    print(f"tuned student: {folder}")


def _cmd_campaign(args: argparse.Namespace) -> None:
    import pandas as pd

    from .artifacts import write_json_atomic
    from .campaign import (SUITES, campaign_base, empty_check, empty_check_size, load_results, pair_sentence,
                           parse_configs, results, run_campaign, suite_sizes)
    from .pipeline import load_profile
    from .results import machine_info

    params = load_profile(args.profile)["parameters"]
    configs = parse_configs(args.configs) if args.configs else {}
    # an earlier round's base: its configurations are compared on what they were (the profile
    # has since taken the configuration that round kept)
    if args.carry and not args.base:
        raise SystemExit("--carry needs --base: the results file whose rows it carries")
    if args.extend and not args.carry:
        raise SystemExit("--extend needs --base and --carry: the results file whose rows it completes")
    earlier = load_results(args.base) if args.base else None
    base = earlier["base"] if earlier else campaign_base(params)
    sizes = suite_sizes(SUITES[args.suite], limit=args.limit)
    scores = run_campaign(base, configs, sets=sizes) if configs else None
    check = empty_check_size(args.limit, args.suite)
    empty = empty_check(scores, base, configs, check) if configs else None
    if args.extend:  # earlier students scored on the sets their file lacks, and again on the check's set
        extend = parse_configs(args.extend)
        added = {s: n for s, n in sizes.items() if s not in earlier["limits"] or s == check[0]}
        more = run_campaign(base, extend, sets=added)
        scores = more if scores is None else pd.concat([scores, more], ignore_index=True)
        configs = {**extend, **configs}
    if scores is None:
        raise SystemExit("nothing to score: give --configs, or --extend with --base and --carry")
    out = results(scores, base, configs, sizes, machine_info(), empty=empty, check=check,
                  earlier=earlier if args.carry else None)
    write_json_atomic(Path(args.out), out, indent=1)
    print(pd.DataFrame(out["summary"]).to_string(index=False))
    print(pd.DataFrame(out["empty_check"]["rows"]).to_string(index=False))
    print(pair_sentence(out["pairs"], out["configs"]))
    if out.get("rescored"):
        print("scored again (largest per-set F1 change against --base): "
              + ", ".join(f"{name} {change:.2f}" for name, change in out["rescored"].items()))
    print(f"kept: {out['kept']} ({out['why']})")
    print(f"results: {args.out}")


def _cmd_report(args: argparse.Namespace) -> None:
    from .pipeline import run_report

    index = run_report(args.profile, only=args.only)
    print(f"report built: {index}")

"""Fine-tuning on your own annotated data (the paper's supervised setting, Section 5).

A user's file, in any format the readers know, becomes instruction data in the
Pile-NER-type schema and then training conversations; a distilled student (a LoRA adapter
from ``uner train``) is trained further on them, its own adapter continued, so the result
loads exactly like the adapter it started from (``--model BASE --adapter OUT``).

Formats (``format="auto"`` tells them apart by the file's suffix and content):

- ``conll``: token-per-line CoNLL / BIO / IOB1 (the token first, the tag last, columns
  split on whitespace, blank lines between sentences, ``-DOCSTART-`` skipped); raw tags are
  named in natural language (``PER`` -> ``person``, ``B-Multi_tissue`` -> ``multi tissue``);
  every sentence is asked about every type of the file, ``[]`` for those it lacks;
- ``conversations``: the UniNER conversation JSON: a list of ``{"id", "conversations":
  [{"from", "value"}, ...]}``, either one question per record (the official evaluation
  files, grouped here into one record per passage) or several (the released
  Pile-NER-type ``train.json``, our ``uner construct`` output);
- ``pile_ner_rows``: the Pile-NER JSON lines of one question per line (``input``,
  ``tagName``, ``output``, as SLIMER distributes them).

:func:`conversation_json` writes training conversations back as the conversation JSON of the
released ``train.json`` (``id`` and ``conversations`` of ``from``/``value`` turns), so the
output of ``uner instructions`` also trains the official code.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any, Sequence

from .data import DataError, Record

FORMATS = ("auto", "conll", "conversations", "pile_ner_rows")


def detect_format(path: str | os.PathLike) -> str:
    """``conversations`` for a JSON list, ``pile_ner_rows`` for JSON lines with ``tagName``,
    else ``conll``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"training data not found: {path}")
    with open(path, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        return "conversations"
    if head.startswith("{"):
        return "pile_ner_rows" if '"tagName"' in head else "conversations"
    return "conll"


def record_to_pile_ner(record: Record, types: Sequence[str], source: str, rng: random.Random) -> dict[str, Any]:
    """One gold-labelled passage as a Pile-NER-type record, every type asked (shuffled)."""
    from .supervised import supervised_record

    return supervised_record(record, types, source, rng)


def _group_conversations(data: list[dict[str, Any]], path: Path) -> list[dict[str, Any]]:
    """Merge records about the same passage (the one-question-per-record evaluation files)
    into one record each, questions in order; a file without repeats is returned as is."""
    from .readers_conversation import conversation_rows
    from .instructions import ACK

    rows = list(conversation_rows(data, path))
    passages = [p for _i, p, _t, _a in rows]
    if len(set(passages)) == len(data):
        return data
    by_passage: dict[str, dict[str, Any]] = {}
    for rid, passage, typ, answer in rows:
        item = by_passage.get(passage)
        if item is None:
            item = by_passage[passage] = {
                "id": rid, "source": f"file:{path.name}",
                "conversations": [{"from": "human", "value": f"Text: {passage}"}, {"from": "gpt", "value": ACK}]}
        asked = {t["value"] for t in item["conversations"][2::2]}
        question = f"What describes {typ} in the text?"
        if question not in asked:
            item["conversations"] += [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]
    return list(by_passage.values())


def load_user_data(path: str | os.PathLike, format: str = "auto", seed: int = 0) -> list[dict[str, Any]]:
    """A user's annotated file as Pile-NER-type records (see the module docstring)."""
    from .data import read_columns
    from .readers_conversation import read_slimer_jsonl
    from .typenames import natural_type

    path = Path(path)
    if format not in FORMATS:
        raise DataError(f"unknown data format {format!r}; choose one of: {', '.join(FORMATS)}")
    fmt = detect_format(path) if format == "auto" else format
    if not path.is_file():
        raise DataError(f"training data not found: {path}")
    source = f"file:{path.name}"
    if fmt == "conversations":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of {{'conversations': [...]}} records")
        return _group_conversations(data, path)
    if fmt == "pile_ner_rows":
        records = read_slimer_jsonl(path)
    else:
        records = read_columns(path, sep=None)
    if not records:
        raise DataError(f"{path}: no sentence found (read as {fmt})")
    named = [Record(r.id, r.text, [m.__class__(m.text, natural_type(m.type), m.start, m.end) for m in r.mentions],
                    None if r.types is None else tuple(natural_type(t) for t in r.types)) for r in records]
    rng = random.Random(seed)
    if fmt == "pile_ner_rows":  # each passage is asked the types its rows asked
        return [record_to_pile_ner(r, list(r.types or ()), source, rng) for r in named]
    types = sorted({m.type for r in named for m in r.mentions})
    if not types:
        raise DataError(f"{path}: no entity found (read as CoNLL/BIO: token first, tag last)")
    return [record_to_pile_ner(r, types, source, rng) for r in named]


def conversation_json(convs: Sequence[Any], prefix: str = "train") -> list[dict[str, Any]]:
    """Training conversations as the released Pile-NER-type ``train.json``: ``id`` and
    ``conversations``, the passage turn, the acknowledgement, then each question and its
    JSON answer (``[]`` for a negative). A conversation without a question is left out."""
    from .instructions import ACK

    out = []
    for conv in convs:
        if not conv.turns:
            continue
        turns = [{"from": "human", "value": f"Text: {conv.passage}"}, {"from": "gpt", "value": ACK}]
        for typ, answer in conv.turns:
            turns.append({"from": "human", "value": f"What describes {typ} in the text?"})
            turns.append({"from": "gpt", "value": json.dumps(list(answer), ensure_ascii=False)})
        out.append({"id": f"{prefix}_{len(out)}", "conversations": turns})
    return out


def structured_lines(convs: Sequence[Any]) -> list[dict[str, Any]]:
    """Training conversations in the structured per-type form (one JSON object per line)."""
    return [{"passage": c.passage, "source": c.source, "turns": [{"type": t, "answer": a} for t, a in c.turns]}
            for c in convs]


def adapter_base(adapter: str | os.PathLike) -> str | None:
    """The base model an adapter was trained on, as its ``adapter_config.json`` names it."""
    cfg = Path(adapter) / "adapter_config.json"
    if not cfg.is_file():
        return None
    return json.loads(cfg.read_text()).get("base_model_name_or_path")


def finetune(data: str | os.PathLike, out: str | os.PathLike, model: str | None = None,
             adapter: str | os.PathLike | None = None, format: str = "auto", negatives: str = "frequency",
             n_negatives: int = 2, seed: int = 0, progress: bool = True, **train_options: Any) -> Path:
    """Train a student on a user's annotated file and save it in ``out``.

    With ``adapter`` (a LoRA adapter from ``uner train``), that adapter is loaded trainable
    on its base model and trained further (the supervised stage after distillation); the
    adapter saved in ``out`` replaces it (load it with the same base model). Without one,
    a new LoRA adapter (or, with ``lora=False``, the whole model) is trained on ``model``.
    ``train_options`` are :class:`unerlib.train.TrainConfig` fields.
    """
    from dataclasses import replace

    from .instructions import build_conversations, tokenize_conversation
    from .student import EMBEDDED, StudentError, load_student
    from .train import TrainConfig, train
    from .typefreq import merge_variants, type_counts

    items = load_user_data(data, format, seed)
    convs = build_conversations(items, negatives, n_negatives, seed, merge_variants(type_counts(items)))
    if adapter is not None:
        adapter = Path(adapter).expanduser()
        if not (adapter / "adapter_config.json").is_file():
            raise StudentError(f"adapter not found: {adapter} (looked for adapter_config.json)")
        model = model or _adapter_model(adapter) or EMBEDDED
    model = model or EMBEDDED
    config = TrainConfig(model=model, seed=seed, **train_options)
    student = load_student(model)
    if adapter is not None:
        from peft import PeftModel

        student.model = PeftModel.from_pretrained(student.model, str(adapter), is_trainable=True)
        lora_cfg = next(iter(student.model.peft_config.values()))
        targets = sorted(lora_cfg.target_modules) if lora_cfg.target_modules else config.lora_targets
        config = replace(config, lora=True, lora_r=lora_cfg.r, lora_alpha=lora_cfg.lora_alpha,
                         lora_dropout=lora_cfg.lora_dropout, lora_targets=list(targets))
    examples = [p for c in convs for p in tokenize_conversation(student.tokenizer, c, config.max_length,
                                                                config.train_ack)]
    if not examples:
        raise DataError(f"{data}: no training question (every passage lacks entities and negatives are off)")
    note = (f"Data: {len(items)} passages of the user file `{Path(data).name}`, negatives `{negatives}` "
            f"({n_negatives} per passage)."
            + (f" Continued from the adapter `{Path(adapter).name}` (supervised fine-tuning of a distilled "
               "student)." if adapter is not None else ""))
    if adapter is None:
        return train(config, examples, out, student=student, progress=progress, data_note=note)
    # The adapter is already on the model (trainable): train() must not wrap it in a second
    # one, so it runs with lora=False (which trains what is trainable and saves the adapter
    # with save_pretrained); the record and the model card then say what really ran.
    folder = train(replace(config, lora=False), examples, out, student=student, progress=progress, data_note=note)
    _restate_lora(folder, config, note)
    return folder


def _restate_lora(folder: Path, config: Any, note: str) -> None:
    """Rewrite ``uner_train.json`` and the model card of a continued adapter with its LoRA
    config (train() ran with ``lora=False``) and drop the tokenizer files it saved."""
    from dataclasses import asdict

    from .artifacts import write_text_atomic
    from .train import model_card

    meta_path = folder / "uner_train.json"
    if not meta_path.is_file():  # not the process that writes (a distributed rank)
        return
    meta = json.loads(meta_path.read_text())
    meta["config"] = asdict(config)
    write_text_atomic(meta_path, json.dumps(meta, indent=1))
    write_text_atomic(folder / "README.md", model_card(config, meta, note))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                 "vocab.json", "merges.txt"):
        (folder / name).unlink(missing_ok=True)


def _adapter_model(adapter: Path) -> str | None:
    """The base model of an adapter, when it is a folder that exists here."""
    base = adapter_base(adapter)
    if base and (Path(base).expanduser() / "config.json").is_file():
        return base
    return None

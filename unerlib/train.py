"""Instruction tuning of a student with the transformers ``Trainer`` (paper, Section 3):
LoRA through peft or full fine-tuning, loss on the answer tokens only, a cosine schedule
with warmup, dynamic padding with length-grouped batches, resumable checkpoints.

On GPUs the same code runs under ``accelerate launch`` (see ``configs/``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

LICENSE_NOTICE = (
    "The UniversalNER paper's data (Pile-NER) and models are released for research use only "
    "(CC BY-NC 4.0); an adapter tuned on them inherits that restriction. Gold corpora keep their "
    "own licenses (see the data manifest)."
)


@dataclass
class TrainConfig:
    """Everything a training run depends on (its artifact key)."""

    model: str = "smollm2-135m"
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                              "gate_proj", "up_proj", "down_proj"])
    learning_rate: float = 5e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 8
    grad_accum: int = 1
    warmup_ratio: float = 0.04
    max_length: int = 512
    group_by_length: bool = True
    train_ack: bool = False
    seed: int = 0
    logging_steps: int = 5
    save_steps: int = 50
    bf16: bool = False


def padding_share(examples: Sequence[dict[str, list[int]]], batch_size: int, group_by_length: bool,
                  seed: int = 0) -> float:
    """Share of padding tokens when batching ``examples`` (length-grouped or shuffled)."""
    import random

    lengths = [len(e["input_ids"]) for e in examples]
    order = list(range(len(lengths)))
    random.Random(seed).shuffle(order)
    if group_by_length:  # as the Trainer's sampler: sort within mega-batches of 50 batches
        mega = batch_size * 50
        order = [i for k in range(0, len(order), mega)
                 for i in sorted(order[k:k + mega], key=lambda i: -lengths[i])]
    pad = total = 0
    for k in range(0, len(order), batch_size):
        batch = [lengths[i] for i in order[k:k + batch_size]]
        pad += max(batch) * len(batch) - sum(batch)
        total += max(batch) * len(batch)
    return pad / total if total else 0.0


def _answer_only_trainer():
    """A ``Trainer`` whose loss runs the LM head only on the answer tokens.

    Labels are -100 on all but ~15% of positions; the full-vocabulary head and softmax on
    the others cost a quarter of each step on a small model and change nothing in the
    loss, so the hidden states are gathered at the labelled positions first.
    """
    import torch.nn.functional as F
    from transformers import Trainer

    class AnswerOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            base = model.get_base_model() if hasattr(model, "get_base_model") else model
            body, head = base.get_decoder(), base.get_output_embeddings()
            labels = inputs["labels"][:, 1:]
            hidden = body(input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask")).last_hidden_state
            keep = labels != -100
            logits = head(hidden[:, :-1][keep]).float()
            loss = F.cross_entropy(logits, labels[keep], reduction="sum")
            denom = num_items_in_batch if num_items_in_batch is not None else keep.sum()
            loss = loss / denom
            return (loss, {"logits": logits}) if return_outputs else loss

    return AnswerOnlyTrainer


def train(config: TrainConfig, examples: Sequence[dict[str, list[int]]], output_dir: str | os.PathLike,
          student=None, progress: bool = True, data_note: str = "") -> Path:
    """Tune a student on tokenized examples and save it with ``save_pretrained`` (the
    adapter, or the whole model without LoRA), a model card and the loss history.

    A run killed midway resumes from its last checkpoint in ``output_dir/checkpoints``.
    """
    import torch
    from datasets import Dataset
    from transformers import DataCollatorForSeq2Seq, TrainingArguments

    from .student import load_student

    out = Path(output_dir)
    ckpt_dir = out / "checkpoints"
    student = student or load_student(config.model)
    model, tokenizer = student.model, student.tokenizer
    model.train()
    from transformers import set_seed

    set_seed(config.seed)  # the LoRA initialisation too: equal configs give equal adapters
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=config.lora_targets, task_type="CAUSAL_LM"))
    dataset = Dataset.from_list([{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples])
    use_bf16 = config.bf16 and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    fields = TrainingArguments.__dataclass_fields__
    if "train_sampling_strategy" in fields:  # transformers >= 5
        sampling = {"train_sampling_strategy": "group_by_length" if config.group_by_length else "random"}
    else:
        sampling = {"group_by_length": config.group_by_length}
    warmup = {"warmup_ratio": config.warmup_ratio} if "warmup_ratio" in fields else {"warmup_steps": config.warmup_ratio}
    args = TrainingArguments(
        output_dir=str(ckpt_dir), per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum, learning_rate=config.learning_rate,
        lr_scheduler_type="cosine", num_train_epochs=config.epochs, **warmup, **sampling,
        max_steps=config.max_steps, logging_steps=config.logging_steps, save_steps=config.save_steps,
        save_total_limit=2, seed=config.seed,
        report_to="none", dataloader_num_workers=0, remove_unused_columns=False,
        disable_tqdm=not progress, bf16=use_bf16, weight_decay=0.0, logging_first_step=True,
    )
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    trainer = _answer_only_trainer()(model=model, args=args, train_dataset=dataset, data_collator=collator)
    resume = any(ckpt_dir.glob("checkpoint-*")) if ckpt_dir.is_dir() else False
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    model.save_pretrained(str(out))
    if not config.lora:
        tokenizer.save_pretrained(str(out))
    history = trainer.state.log_history
    (out / "loss_history.json").write_text(json.dumps(history, indent=1))
    n_tokens = sum(len(e["input_ids"]) for e in examples)
    meta = {"config": asdict(config), "examples": len(examples), "tokens": n_tokens,
            "train_seconds": result.metrics.get("train_runtime"),
            "padding_share": padding_share(examples, config.batch_size, config.group_by_length, config.seed),
            "resumed": resume}
    (out / "uner_train.json").write_text(json.dumps(meta, indent=1))
    (out / "README.md").write_text(model_card(config, meta, data_note))
    return out


def model_card(config: TrainConfig, meta: dict[str, Any], data_note: str = "") -> str:
    """A short model card: base model, data, parameters, license notice."""
    kind = "LoRA adapter" if config.lora else "fully fine-tuned model"
    params = "\n".join(f"- `{k}`: {v}" for k, v in asdict(config).items())
    return (f"# UniversalNER-style student ({kind})\n\n"
            f"Base model: `{config.model}`. Tuned with `unerlib.train` on {meta['examples']} examples "
            f"({meta['tokens']} tokens) in the UniversalNER conversation format.\n\n"
            f"{data_note}\n\n## Parameters\n\n{params}\n\n## License\n\n{LICENSE_NOTICE}\n\n"
            "Load it with `uner evaluate --model BASE --adapter THIS_DIR` (LoRA) or `--model THIS_DIR`.\n")


def loss_curve(history: Sequence[dict[str, Any]]):
    """Training loss per step from the Trainer's log history, as a DataFrame."""
    import pandas as pd

    rows = [{"step": h["step"], "loss": h["loss"], "learning_rate": h.get("learning_rate")}
            for h in history if "loss" in h]
    return pd.DataFrame(rows, columns=["step", "loss", "learning_rate"])

"""Instruction tuning of a student with the transformers ``Trainer`` (paper, Section 3):
LoRA through peft or full fine-tuning, loss on the answer tokens only, a cosine schedule
with warmup, dynamic padding with length-grouped batches, resumable checkpoints.

On GPUs the same code runs under ``accelerate launch`` (see ``configs/``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .hardware import bf16_training

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
    #: LoRA on the top ``lora_layers`` decoder layers only (0: every layer); the backward pass
    #: then stops below the lowest adapted layer
    lora_layers: int = 0
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


class CountingCollator:
    """A data collator that counts what it batches: ``tokens`` (real, non-padding) and
    ``positions`` (tokens plus padding), so throughput and padding are measured on the
    batches the Trainer actually trained on."""

    def __init__(self, collate):
        self.collate = collate
        self.tokens = 0
        self.positions = 0

    def __call__(self, features):
        batch = self.collate(features)
        self.tokens += int(sum(len(f["input_ids"]) for f in features))
        self.positions += int(batch["input_ids"].numel())
        return batch

    @property
    def padding_share(self) -> float:
        """Padding positions over all batched positions."""
        return 1 - self.tokens / self.positions if self.positions else 0.0


def _answer_only_trainer():
    """A ``Trainer`` whose loss runs the LM head only on the answer tokens.

    Labels are -100 on all but ~15% of positions; the full-vocabulary head and softmax on
    the others cost a quarter of each step on a small model and change nothing in the
    loss, so the model is asked for logits only at the positions where some row of the
    batch has an answer token (``logits_to_keep``). The forward goes through the model the
    Trainer gives, which under ``accelerate launch`` is the DDP wrapper: its gradients are
    then averaged over the ranks. The loss is the sum over answer tokens divided by their
    count over the whole global batch (the Trainer gathers it across ranks), times the
    number of ranks to undo DDP's averaging, as the Trainer's own ``compute_loss`` does.
    """
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    class AnswerOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"][:, 1:]  # logits at t predict token t + 1
            keep_pos = (labels != -100).any(dim=0).nonzero().flatten()
            if keep_pos.numel() == 0:
                keep_pos = torch.zeros(1, dtype=torch.long, device=labels.device)
            out = model(input_ids=inputs["input_ids"], attention_mask=inputs.get("attention_mask"),
                        logits_to_keep=keep_pos, use_cache=False)
            target = labels[:, keep_pos]
            keep = target != -100
            logits = out.logits[keep].float()
            loss = F.cross_entropy(logits, target[keep], reduction="sum")
            denom = num_items_in_batch if num_items_in_batch is not None else keep.sum()
            loss = loss / denom
            if (num_items_in_batch is not None and self.args.average_tokens_across_devices
                    and self.args.world_size > 1):
                loss = loss * self.accelerator.num_processes  # DDP averages the ranks' gradients
            return (loss, {"logits": logits}) if return_outputs else loss

    return AnswerOnlyTrainer


def _text_progress_in_notebooks(trainer) -> None:
    """In a notebook the Trainer reports progress with ``NotebookProgressCallback``: an HTML
    table of the loss at every logging step, which an executed notebook keeps as output and a
    published page shows as a long table. Swap it for one text progress bar on stderr (with
    the latest loss): visible while a notebook runs, dropped from the pages (``_config.yml``
    removes stderr). The loss history is saved to ``loss_history.json``; the notebooks plot it.
    Outside notebooks (``ProgressCallback``, ``PrinterCallback``) nothing changes."""
    from transformers import TrainerCallback

    notebook = [cb for cb in trainer.callback_handler.callbacks if type(cb).__name__ == "NotebookProgressCallback"]
    if not notebook:
        return

    class TextProgressCallback(TrainerCallback):
        def __init__(self):
            self.bar, self.step = None, 0

        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                from tqdm.std import tqdm  # not tqdm.auto: no widget, no HTML output

                self.bar = tqdm(total=state.max_steps, desc="training", unit="step", file=sys.stderr,
                                dynamic_ncols=True)
            self.step = 0

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.step)
                self.step = state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.bar is not None and logs and "loss" in logs:
                self.bar.set_postfix(loss=f"{logs['loss']:.4g}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    for cb in notebook:
        trainer.remove_callback(cb)
    trainer.add_callback(TextProgressCallback())


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
    student = student or load_student(config.model, device=train_device())
    model, tokenizer = student.model, student.tokenizer
    model.train()
    from transformers import set_seed

    set_seed(config.seed)  # the LoRA initialisation too: equal configs give equal adapters
    if config.lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
            target_modules=config.lora_targets, task_type="CAUSAL_LM",
            layers_to_transform=top_layers(model, config.lora_layers)))
    dataset = Dataset.from_list([{"input_ids": e["input_ids"], "labels": e["labels"]} for e in examples])
    # bf16 autocast (the weights stay float32) where it is fast: a GPU that supports it, or a CPU
    # with bf16 instructions; elsewhere torch emulates it, many times slower than float32
    use_bf16 = config.bf16 and bf16_training(train_device())
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
        # on the CPU, a distributed launch (torchrun, accelerate launch --multi_gpu) then runs on gloo
        use_cpu=train_device() == "cpu",
    )
    collator = CountingCollator(DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
    trainer = _answer_only_trainer()(model=model, args=args, train_dataset=dataset, data_collator=collator)
    _text_progress_in_notebooks(trainer)
    resume = any(ckpt_dir.glob("checkpoint-*")) if ckpt_dir.is_dir() else False
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    # every rank calls save_model (it gathers a sharded FSDP model); rank 0 alone writes
    trainer.save_model(str(out))
    if not trainer.is_world_process_zero():
        trainer.accelerator.wait_for_everyone()
        return out
    from .artifacts import write_text_atomic

    (out / "training_args.bin").unlink(missing_ok=True)  # the Trainer's; uner_train.json records the config
    if not config.lora:
        tokenizer.save_pretrained(str(out))
    history = trainer.state.log_history
    write_text_atomic(out / "loss_history.json", json.dumps(history, indent=1))
    n_tokens = sum(len(e["input_ids"]) for e in examples)
    seconds = result.metrics.get("train_runtime")
    meta = {"config": asdict(config), "examples": len(examples), "tokens": n_tokens, "train_seconds": seconds,
            # counted on the batches this run trained on (this process's share under a distributed launch)
            "batch_tokens": collator.tokens, "batch_positions": collator.positions,
            "padding_share": collator.padding_share,
            "tokens_per_second": collator.tokens / seconds if seconds else None,
            "resumed": resume, "bf16_autocast": use_bf16}
    write_text_atomic(out / "uner_train.json", json.dumps(meta, indent=1))
    write_text_atomic(out / "README.md", model_card(config, meta, data_note))
    trainer.accelerator.wait_for_everyone()
    return out


def top_layers(model, n: int) -> list[int] | None:
    """The indices of ``model``'s top ``n`` decoder layers (``None`` for ``n = 0``: all)."""
    if n == 0:
        return None
    total = model.config.num_hidden_layers
    if not 0 < n <= total:
        raise ValueError(f"lora_layers must be between 0 (every layer) and the model's {total} layers, got {n}")
    return list(range(total - n, total))


def config_key(config: TrainConfig) -> dict[str, Any]:
    """The training part of a student's artifact key: the config's fields, less those added
    after students were cached (``lora_layers``) while they keep their default, so that a
    student trained before a field existed keeps its key."""
    key = asdict(config)
    if key["lora_layers"] == 0:
        del key["lora_layers"]
    return key


def train_device() -> str:
    """The device of this process: ``cuda:LOCAL_RANK`` under a distributed launch on GPUs,
    ``cuda`` alone on a GPU, else ``cpu`` (also for ``accelerate launch --cpu``)."""
    import torch

    if os.environ.get("ACCELERATE_USE_CPU", "").lower() in ("1", "true", "yes") or not torch.cuda.is_available():
        return "cpu"
    if "LOCAL_RANK" in os.environ:
        return f"cuda:{int(os.environ['LOCAL_RANK'])}"
    return "cuda"


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

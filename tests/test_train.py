"""Instruction tuning (unerlib.train) of a tiny random model: LoRA and full fine-tuning,
saved outputs, resuming, length-grouped padding, and the answer-only loss."""

from __future__ import annotations

import json

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, tiny_student, student_tokenizer, ...)
from unerlib.instructions import Conversation, tokenize_conversation
from unerlib.student import load_student
from unerlib.train import TrainConfig, loss_curve, padding_share, train

pytestmark = [
    pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true:UserWarning"),
    pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"),
]

NAMES = ["Obama", "Merkel", "Paris", "Berlin", "Python", "Rust", "Tokyo", "Rome"]


@pytest.fixture(scope="module")
def examples(student_tokenizer):
    """16 tiny tokenized conversations (the same data every epoch)."""
    convs = [Conversation(f"{NAMES[i % 8]} met {NAMES[(i + 3) % 8]} in {NAMES[(i + 5) % 8]}.",
                          [("person", [NAMES[i % 8]]), ("city", [NAMES[(i + 5) % 8]]), ("drug", [])])
             for i in range(16)]
    out = [p for c in convs for p in tokenize_conversation(student_tokenizer, c)]
    assert len(out) == 16
    return out


def _config(tiny_dir, **kw) -> TrainConfig:
    base = dict(model=str(tiny_dir), lora=True, lora_targets=["q_proj", "v_proj"], max_steps=12, batch_size=4,
                learning_rate=5e-3, logging_steps=1, save_steps=6)
    base.update(kw)
    return TrainConfig(**base)


def _losses(history) -> list[tuple[int, float]]:
    return [(h["step"], h["loss"]) for h in history if "loss" in h]


def test_lora_training_lowers_the_loss_and_saves_an_adapter(tiny_dir, tiny_student, examples, tmp_path):
    import torch

    out = train(_config(tiny_dir), examples, tmp_path / "lora", progress=False)
    assert out == tmp_path / "lora"
    for name in ("adapter_config.json", "README.md", "loss_history.json", "uner_train.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "loss_history.json").read_text())
    losses = _losses(history)
    assert [s for s, _ in losses] == list(range(1, 13))
    first, last3 = losses[0][1], [x for _, x in losses[-3:]]
    assert sum(last3) / 3 < first, losses
    curve = loss_curve(history)
    assert list(curve["step"]) == list(range(1, 13)) and list(curve["loss"]) == [x for _, x in losses]

    card = (out / "README.md").read_text()
    assert "research use only" in card and "LoRA adapter" in card and str(tiny_dir) in card
    meta = json.loads((out / "uner_train.json").read_text())
    assert meta["resumed"] is False and meta["examples"] == 16
    assert meta["tokens"] == sum(len(e["input_ids"]) for e in examples)
    assert meta["config"]["lora_targets"] == ["q_proj", "v_proj"] and meta["config"]["max_steps"] == 12

    tuned = load_student(str(tiny_dir), adapter=str(out), device="cpu")
    assert tuned.adapter == str(out)
    base_layer, tuned_layer = tiny_student.model.model.layers[0].self_attn, tuned.model.model.layers[0].self_attn
    assert not torch.equal(base_layer.q_proj.weight, tuned_layer.q_proj.weight)  # the adapter is merged in
    assert not torch.equal(base_layer.v_proj.weight, tuned_layer.v_proj.weight)
    assert torch.equal(base_layer.k_proj.weight, tuned_layer.k_proj.weight)  # not a target


def test_resume_from_checkpoint(tiny_dir, examples, tmp_path):
    out = tmp_path / "resumed"
    train(_config(tiny_dir, max_steps=6, save_steps=3), examples, out, progress=False)
    first = json.loads((out / "loss_history.json").read_text())
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    assert json.loads((out / "uner_train.json").read_text())["resumed"] is False

    train(_config(tiny_dir, max_steps=12, save_steps=3), examples, out, progress=False)
    meta = json.loads((out / "uner_train.json").read_text())
    assert meta["resumed"] is True
    history = json.loads((out / "loss_history.json").read_text())
    steps = [s for s, _ in _losses(history)]
    assert steps == list(range(1, 13))  # continues past 6, no step repeated
    # steps 1-6 are the first run's log (learning rates of its 6-step schedule included),
    # restored from checkpoint-6, not a fresh run's
    assert [h for h in history if h["step"] <= 6 and "loss" in h] == [h for h in first if "loss" in h]
    assert (out / "checkpoints" / "checkpoint-12").is_dir()
    load_student(str(tiny_dir), adapter=str(out), device="cpu")


def test_full_fine_tuning_saves_a_loadable_model(tiny_dir, tiny_student, examples, tmp_path):
    import torch

    out = train(_config(tiny_dir, lora=False, max_steps=3, save_steps=50), examples, tmp_path / "full",
                progress=False)
    assert (out / "config.json").is_file() and not (out / "adapter_config.json").exists()
    assert "fully fine-tuned model" in (out / "README.md").read_text()
    assert len(_losses(json.loads((out / "loss_history.json").read_text()))) == 3
    tuned = load_student(str(out), device="cpu")
    assert tuned.tokenizer.eos_token_id == tiny_student.tokenizer.eos_token_id
    assert len(tuned.tokenizer) == len(tiny_student.tokenizer)
    base = dict(tiny_student.model.named_parameters())
    changed = [n for n, p in tuned.model.named_parameters() if not torch.equal(p, base[n])]
    assert changed


def test_same_config_same_adapter(tiny_dir, examples, tmp_path):
    import torch
    from safetensors.torch import load_file

    cfg = _config(tiny_dir, max_steps=1, save_steps=50)
    torch.manual_seed(1)  # whatever state the global RNG is in, as in two fresh processes
    a = train(cfg, examples[:4], tmp_path / "a", progress=False)
    torch.manual_seed(2)
    b = train(cfg, examples[:4], tmp_path / "b", progress=False)
    wa, wb = load_file(str(a / "adapter_model.safetensors")), load_file(str(b / "adapter_model.safetensors"))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_padding_share_grouped_below_random():
    examples = [{"input_ids": [0] * n} for n in [5, 200, 7, 180, 6, 220, 4, 190] * 10]
    grouped = padding_share(examples, batch_size=4, group_by_length=True)
    shuffled = padding_share(examples, batch_size=4, group_by_length=False)
    assert 0 <= grouped < shuffled < 1
    assert grouped < 0.1 and shuffled > 0.3
    same = [{"input_ids": [0] * 9}] * 12
    assert padding_share(same, 4, True) == padding_share(same, 4, False) == 0.0
    assert padding_share([], 4, True) == 0.0
    # by hand: one batch of lengths 2 and 4 -> 2 pad tokens out of 8
    assert padding_share([{"input_ids": [0, 0]}, {"input_ids": [0] * 4}], 2, False) == pytest.approx(0.25)


def _hand_loss(model, inputs):
    """Mean cross entropy of the labelled tokens, from the model's full logits."""
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits.float()
    terms = []
    labels = inputs["labels"]
    for b in range(labels.shape[0]):
        for t in range(1, labels.shape[1]):
            if labels[b, t] != -100:
                terms.append(F.cross_entropy(logits[b, t - 1][None], labels[b, t][None]))
    return torch.stack(terms)


def test_loss_only_on_answer_tokens(tiny_student, tmp_path):
    import torch
    from transformers import TrainingArguments

    from unerlib.train import _answer_only_trainer

    model, tok = tiny_student.model, tiny_student.tokenizer
    ids = tok("Obama met Merkel in Berlin and then", add_special_tokens=False)["input_ids"]
    short = ids[:5]
    input_ids = torch.tensor([ids, short + [tok.pad_token_id] * (len(ids) - len(short))])
    attention_mask = torch.tensor([[1] * len(ids), [1] * len(short) + [0] * (len(ids) - len(short))])
    labels = torch.full_like(input_ids, -100)
    labels[0, 4] = input_ids[0, 4]  # a single labelled token
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
    args = TrainingArguments(output_dir=str(tmp_path / "t"), report_to="none", use_cpu=True)
    trainer = _answer_only_trainer()(model=model, args=args)
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, inputs)
    expected = _hand_loss(model, inputs)
    assert expected.shape == (1,)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # changing the inputs after the labelled token, or unlabelled labels, changes nothing
    other = {k: v.clone() for k, v in inputs.items()}
    other["input_ids"][0, 5:] = tok.eos_token_id
    with torch.no_grad():
        assert trainer.compute_loss(model, other).item() == pytest.approx(loss.item(), rel=1e-5)

    # two labelled tokens, one of them in the padded row: the mean, or the sum over
    # num_items_in_batch (as the Trainer passes it under gradient accumulation)
    labels[1, 3] = input_ids[1, 3]
    expected = _hand_loss(model, inputs)
    with torch.no_grad():
        assert trainer.compute_loss(model, inputs).item() == pytest.approx(expected.mean().item(), rel=1e-5)
        summed = trainer.compute_loss(model, inputs, num_items_in_batch=torch.tensor(5))
    assert summed.item() == pytest.approx(expected.sum().item() / 5, rel=1e-5)


def test_loss_only_on_answer_tokens_with_lora(tiny_dir, tmp_path):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import TrainingArguments

    from unerlib.train import _answer_only_trainer

    student = load_student(str(tiny_dir), device="cpu")
    torch.manual_seed(0)
    model = get_peft_model(student.model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                     target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    with torch.no_grad():  # a non-zero adapter, so that it matters
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    model.eval()
    ids = student.tokenizer("Python and Rust are languages", add_special_tokens=False)["input_ids"]
    input_ids = torch.tensor([ids])
    labels = torch.full_like(input_ids, -100)
    labels[0, -2:] = input_ids[0, -2:]
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}
    trainer = _answer_only_trainer()(model=model, args=TrainingArguments(output_dir=str(tmp_path / "t"),
                                                                         report_to="none", use_cpu=True))
    with torch.no_grad():
        loss = trainer.compute_loss(model, inputs)
        with model.disable_adapter():
            no_adapter = trainer.compute_loss(model, inputs)
    assert loss.item() == pytest.approx(_hand_loss(model, inputs).mean().item(), rel=1e-5)
    assert no_adapter.item() != pytest.approx(loss.item(), rel=1e-5)  # the adapter is in the loss


def test_lora_on_the_top_layers_only(tiny_dir, examples, tmp_path):
    """``lora_layers``: adapters on the top layers alone (the lower ones stay the base model's
    and get no gradient), refused outside the model's layer count, and left out of a
    student's artifact key at 0 so that students trained before the field keep their keys."""
    import torch
    from dataclasses import asdict

    from unerlib.train import config_key, top_layers

    tiny = load_student(str(tiny_dir))
    n = tiny.model.config.num_hidden_layers
    assert n >= 2 and top_layers(tiny.model, 0) is None and top_layers(tiny.model, 1) == [n - 1]
    with pytest.raises(ValueError, match="lora_layers"):
        top_layers(tiny.model, n + 1)
    out = train(_config(tiny_dir, lora_layers=1, max_steps=2, save_steps=50), examples, tmp_path / "top",
                student=tiny, progress=False)
    weights = torch.load(out / "adapter_model.bin") if (out / "adapter_model.bin").is_file() else None
    if weights is None:
        from safetensors.torch import load_file

        weights = load_file(out / "adapter_model.safetensors")
    layers = {int(k.split("layers.")[1].split(".")[0]) for k in weights}
    assert layers == {n - 1}, sorted(weights)
    assert json.loads((out / "adapter_config.json").read_text())["layers_to_transform"] == [n - 1]
    every = TrainConfig()
    assert config_key(every) == {k: v for k, v in asdict(every).items() if k != "lora_layers"}
    assert config_key(TrainConfig(lora_layers=15))["lora_layers"] == 15

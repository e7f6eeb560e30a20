"""``uner export``: a LoRA adapter merged into a plain transformers folder that loads
without ``unerlib`` (or ``peft``) and answers exactly as the adapter does.

Nothing is trained: a LoRA adapter is made on the tiny random model with non-zero random
``B`` matrices (peft initialises them to zero, which would make the adapter a no-op)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest_models import *  # noqa: F401,F403

from unerlib.cli import main

QUESTIONS = [("Ada Lovelace wrote notes on the Analytical Engine in London.", "person"),
             ("Ada Lovelace wrote notes on the Analytical Engine in London.", "location"),
             ("Grace Hopper worked on the Harvard Mark I.", "organization"),
             ("Paris is the capital of France.", "country")]
N_NEW = 8

# Runs in a fresh interpreter that cannot import unerlib or peft: the exported folder must
# be a plain transformers model. The prompt is built as the model card says.
PLAIN = r"""
import json, sys
sys.modules["unerlib"] = None  # any import of unerlib or peft fails
sys.modules["peft"] = None
repo = sys.argv[2]  # the repository itself off the path (the virtual environment under it stays)
sys.path = [p for p in sys.path if p and not (p == repo or (p.startswith(repo + "/") and "site-packages" not in p))]
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

torch.set_num_threads(1)
folder = sys.argv[1]
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder)
model.eval()
SYSTEM = "A virtual assistant answers questions from a user based on the provided text."
out = []
for passage, entity_type in json.loads(sys.stdin.read()):
    prefix = f"{SYSTEM} USER: Text: {passage} ASSISTANT: I've read this text."
    question = f"USER: What describes {entity_type} in the text? ASSISTANT:"
    ids = tok(prefix)["input_ids"] + [tok.eos_token_id] + tok(question, add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
        gen = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             max_new_tokens=%d, do_sample=False)
    out.append({"prompt": ids, "answer": gen[0, len(ids):].tolist(), "logits": logits.tolist()})
print(json.dumps({"answers": out, "unerlib": "unerlib" in sys.modules and sys.modules["unerlib"] is not None}))
""" % N_NEW


def make_adapter(base: Path, folder: Path, record: bool = True) -> Path:
    """A LoRA adapter on the tiny model with random non-zero weights, saved with peft; with
    ``record``, the files ``unerlib.train`` writes beside it and a scores file."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.3)
    model.save_pretrained(str(folder))
    if record:
        config = {"model": str(base), "lora": True, "lora_r": 4, "lora_alpha": 8, "learning_rate": 0.0005}
        (folder / "uner_train.json").write_text(json.dumps({"config": config, "examples": 123, "tokens": 4567}))
        (folder / "params.json").write_text(json.dumps({"data": "corpus-abc", "negatives": "frequency",
                                                        "n_negatives": 2, "train": config}))
        (folder / "scores.json").write_text(json.dumps({"crossner_ai": {"f1": 41.25, "low": 37.5, "high": 45.0},
                                                        "mit_movie": {"f1": 30.0}}))
    return folder


@pytest.fixture(scope="module")
def exported(tiny_dir, tmp_path_factory):
    """(adapter folder, exported folder), exported with ``uner export``."""
    tmp = tmp_path_factory.mktemp("export")
    adapter = make_adapter(tiny_dir, tmp / "adapter")
    out = tmp / "model"
    assert main(["export", "--adapter", str(adapter), "--out", str(out)]) == 0
    return adapter, out


def test_export_folder_is_plain_transformers(exported):
    _adapter, out = exported
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "generation_config.json", "model.safetensors", "README.md"} <= names
    assert "tokenizer.json" in names or "tokenizer_config.json" in names
    assert not any(n.endswith((".py", ".bin", ".pt")) for n in names)
    assert "adapter_config.json" not in names and "adapter_model.safetensors" not in names
    for p in out.iterdir():
        if p.suffix == ".json":
            text = p.read_text(encoding="utf-8")
            assert "unerlib" not in text and "auto_map" not in text, p.name
    gen = json.loads((out / "generation_config.json").read_text())
    assert gen.get("do_sample", False) is False and gen["eos_token_id"] is not None
    from safetensors import safe_open

    with safe_open(str(out / "model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert keys and not any("lora" in k for k in keys)


def test_model_card_states_data_parameters_scores_licence(exported):
    _adapter, out = exported
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "123 training examples" in card and "corpus-abc" in card and "frequency" in card
    assert "`lora_r`: 4" in card and "`learning_rate`: 0.0005" in card
    assert "| crossner_ai | 41.25 | [37.5, 45] |" in card
    assert "| mit_movie | 30 | not recorded |" in card
    assert "Research use only" in card and "CC BY-NC 4.0" in card and "license: cc-by-nc-4.0" in card


def test_model_card_without_records_says_not_recorded(tiny_dir, tmp_path):
    adapter = make_adapter(tiny_dir, tmp_path / "bare", record=False)
    out = tmp_path / "model"
    assert main(["export", "--adapter", str(adapter), "--out", str(out), "--model", str(tiny_dir)]) == 0
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Scores: not recorded" in card and "Training data: not recorded" in card
    assert "`r`: 4" in card  # the LoRA parameters peft records
    assert "CC BY-NC 4.0" in card


def test_exported_answers_equal_the_adapters(exported, tiny_dir):
    import torch

    from unerlib.inference import Question, predict
    from unerlib.instructions import encode_prefix, encode_question
    from unerlib.student import load_student

    adapter, out = exported
    repo = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-I", "-c", PLAIN, str(out), repo], input=json.dumps(QUESTIONS),
                          capture_output=True, text=True, timeout=300, cwd=str(out.parent))
    assert proc.returncode == 0, proc.stderr[-3000:]
    plain = json.loads(proc.stdout.strip().splitlines()[-1])
    assert plain["unerlib"] is False

    tuned = load_student(str(tiny_dir), str(adapter), device="cpu")  # base + adapter, merged by unerlib
    base = load_student(str(tiny_dir), device="cpu")
    tok = tuned.tokenizer
    differs = False
    for (passage, typ), got in zip(QUESTIONS, plain["answers"]):
        ids = encode_prefix(tok, passage) + encode_question(tok, typ)
        assert got["prompt"] == ids  # the model card's prompt is unerlib's prompt
        with torch.inference_mode():
            logits = tuned.model(input_ids=torch.tensor([ids])).logits[0, -1]
            base_logits = base.model(input_ids=torch.tensor([ids])).logits[0, -1]
            gen = tuned.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                       max_new_tokens=N_NEW, do_sample=False)
        assert torch.allclose(torch.tensor(got["logits"]), logits, atol=1e-4)
        assert got["answer"] == gen[0, len(ids):].tolist()
        differs |= not torch.allclose(base_logits, logits, atol=1e-2)
    assert differs, "the adapter must change the model, or this test proves nothing"

    # through the fast predictor: the exported folder answers as base + adapter
    questions = [Question(str(k), p, t) for k, (p, t) in enumerate(QUESTIONS)]
    exported_student = load_student(str(out), device="cpu")
    a, _ = predict(tuned, questions, max_new_tokens=N_NEW, progress=False)
    b, _ = predict(exported_student, questions, max_new_tokens=N_NEW, progress=False)
    assert [p.raw for p in a] == [p.raw for p in b]


def test_export_errors(tiny_dir, tmp_path, capsys):
    assert main(["export", "--adapter", str(tmp_path / "nope"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "adapter_config.json" in err and "Traceback" not in err
    adapter = make_adapter(tiny_dir, tmp_path / "a", record=False)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["export", "--adapter", str(adapter), "--out", str(busy), "--model", str(tiny_dir)]) == 2
    assert "not an exported model folder" in capsys.readouterr().err


def test_scores_come_from_the_evaluations_on_record(tmp_path):
    """An adapter under <artifacts>/students/<key> gets the scores, with intervals, of its
    evaluations under <artifacts>/evaluations (the largest per set)."""
    from unerlib.export import adapter_record, model_card

    art = tmp_path / "art"
    adapter = art / "students" / "abc123"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8}))
    for key, limit, f1 in (("e1", 10, 0.2), ("e2", 100, 0.3), ("e3", 100, 0.9)):
        folder = art / "evaluations" / key
        folder.mkdir(parents=True)
        owner = "students/abc123" if key != "e3" else "students/other"
        (folder / "params.json").write_text(json.dumps({"adapter": owner, "data": "crossner_ai", "limit": limit}))
        (folder / "metrics.json").write_text(json.dumps({"f1": f1, "f1_interval": {"value": 100 * f1, "low": 25.5,
                                                                                   "high": 34.5}, "sentences": limit}))
    record = adapter_record(adapter)
    assert record["scores"] == {"crossner_ai": {"f1": 30.0, "low": 25.5, "high": 34.5, "sentences": 100}}
    card = model_card("base", adapter, record, "float32")
    assert "| crossner_ai | 30" in card and "[25.5, 34.5]" in card

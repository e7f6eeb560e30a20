"""Fine-tuning on your own data: a user's file in each format the readers know becomes
Pile-NER-type data; ``uner instructions`` writes the conversation JSON of the released
Pile-NER-type ``train.json``; ``uner train --data FILE --adapter A --out DIR`` continues a
distilled student's adapter on the tiny random model."""

from __future__ import annotations

import json

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, student_tokenizer, ...)
from unerlib.cli import main
from unerlib.data import DataError
from unerlib.finetune import conversation_json, detect_format, load_user_data
from unerlib.instructions import Conversation

pytestmark = [
    pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true:UserWarning"),
    pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"),
]

ACK = "I've read this text."


def _questions(item):
    conv = item["conversations"]
    return {q["value"][len("What describes "):-len(" in the text?")]: json.loads(a["value"])
            for q, a in zip(conv[2::2], conv[3::2])}


def _check_train_json(data):
    """The schema of the released Pile-NER-type train.json."""
    assert isinstance(data, list) and data
    for item in data:
        assert set(item) == {"id", "conversations"}
        assert isinstance(item["id"], str)
        conv = item["conversations"]
        assert len(conv) >= 4 and len(conv) % 2 == 0
        assert all(set(t) == {"from", "value"} and isinstance(t["value"], str) for t in conv)
        assert [t["from"] for t in conv] == ["human", "gpt"] * (len(conv) // 2)
        assert conv[0]["value"].startswith("Text: ") and conv[1]["value"] == ACK
        for q, a in zip(conv[2::2], conv[3::2]):
            assert q["value"].startswith("What describes ") and q["value"].endswith(" in the text?")
            assert isinstance(json.loads(a["value"]), list)


def test_detect_format(fixtures):
    assert detect_format(fixtures / "my_ner.conll") == "conll"
    assert detect_format(fixtures / "conll03.txt") == "conll"
    assert detect_format(fixtures / "uniner.json") == "conversations"
    assert detect_format(fixtures / "slimer.jsonl") == "pile_ner_rows"
    with pytest.raises(DataError, match="not found"):
        detect_format(fixtures / "nope.conll")


def test_conll_file_becomes_pile_ner_records(fixtures):
    data = load_user_data(fixtures / "my_ner.conll")
    assert len(data) == 5
    first = data[0]
    assert first["conversations"][0]["value"] == "Text: Ada Lovelace lived in London ."
    qs = _questions(first)
    assert set(qs) == {"person", "location", "miscellaneous", "organization"}  # every type of the file
    assert qs["person"] == ["Ada Lovelace"] and qs["location"] == ["London"] and qs["organization"] == []
    assert _questions(data[2])["location"] == ["Paris", "Berlin"]
    # CoNLL-2003 (IOB1, four columns, -DOCSTART-) reads too
    assert _questions(load_user_data(fixtures / "conll03.txt")[1])["person"] == ["Anna Berg"]


def test_conversation_json_is_grouped_by_passage(fixtures):
    data = load_user_data(fixtures / "uniner.json")  # one question per record
    texts = [d["conversations"][0]["value"] for d in data]
    assert len(texts) == len(set(texts))
    qs = _questions(data[0])
    assert qs["location"] == ["Paris", "France"] and qs["person"] == []


def test_pile_ner_rows(fixtures):
    data = load_user_data(fixtures / "slimer.jsonl")
    qs = _questions(data[0])
    assert qs["court"] == ["Supreme Court of Utah"]


def test_bad_files(tmp_path):
    empty = tmp_path / "o.conll"
    empty.write_text("It\tO\nrained\tO\n")
    with pytest.raises(DataError, match="no entity"):
        load_user_data(empty)
    bad = tmp_path / "bad.conll"
    bad.write_text("It\tX-FOO\n")
    with pytest.raises(DataError, match="malformed tag"):
        load_user_data(bad)
    with pytest.raises(DataError, match="unknown data format"):
        load_user_data(empty, format="xml")


def test_conversation_json_schema():
    convs = [Conversation("Ada met Bob.", [("person", ["Ada", "Bob"]), ("city", [])])]
    data = conversation_json(convs)
    _check_train_json(data)
    assert data[0]["conversations"][3]["value"] == '["Ada", "Bob"]'
    assert data[0]["conversations"][5]["value"] == "[]"


def test_uner_instructions_writes_the_pile_ner_conversation_json(fixtures, tmp_path, capsys):
    out = tmp_path / "train.json"
    assert main(["instructions", "--data", str(fixtures / "my_ner.conll"), "--negatives", "none",
                 "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    data = json.loads(out.read_text())
    _check_train_json(data)
    assert summary["conversations"] == len(data) == 4  # the sentence without entities has no question
    assert _questions(data[0]) in ({"person": ["Ada Lovelace"], "location": ["London"]},)
    # the output reads back as training data (the official code's input is ours too)
    again = load_user_data(out)
    assert [d["conversations"] for d in again] == [d["conversations"] for d in data]
    # negatives are questions answered with []
    assert main(["instructions", "--data", str(out), "--n-negatives", "1", "--out", str(tmp_path / "neg.json")]) == 0
    neg = json.loads((tmp_path / "neg.json").read_text())
    _check_train_json(neg)
    assert any(v == [] for item in neg for v in _questions(item).values())


def test_uner_instructions_structured_option(fixtures, tmp_path, capsys):
    out = tmp_path / "conv.jsonl"
    assert main(["instructions", "--data", str(fixtures / "uniner.json"), "--output-format", "structured",
                 "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines and set(lines[0]) == {"passage", "source", "turns"}
    assert all(set(t) == {"type", "answer"} for line in lines for t in line["turns"])


def _adapter_weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def test_train_on_own_conll_continues_an_adapter(fixtures, tiny_dir, tmp_path, capsys):
    import torch

    from unerlib.student import load_student

    data = str(fixtures / "my_ner.conll")
    common = ["train", "--profile", "smoke", "--data", data, "--max-steps", "2"]  # step 1 is warmup (lr 0)
    distilled, tuned = tmp_path / "distilled", tmp_path / "tuned"
    # a "distilled" student: a first adapter on the tiny model
    assert main([*common, "--model", str(tiny_dir), "--out", str(distilled)]) == 0
    assert (distilled / "adapter_config.json").is_file()
    # supervised fine-tuning on the user's file, starting from that adapter
    assert main([*common, "--adapter", str(distilled), "--out", str(tuned), "--learning-rate", "0.01"]) == 0
    assert f"tuned student: {tuned}" in capsys.readouterr().out
    for name in ("adapter_config.json", "adapter_model.safetensors", "uner_train.json", "README.md"):
        assert (tuned / name).is_file(), name
    assert not (tuned / "tokenizer.json").exists()
    meta = json.loads((tuned / "uner_train.json").read_text())
    assert meta["config"]["lora"] is True and meta["config"]["max_steps"] == 2
    assert meta["config"]["model"] == str(tiny_dir)  # the adapter's base, from its config
    first = json.loads((distilled / "adapter_config.json").read_text())
    second = json.loads((tuned / "adapter_config.json").read_text())
    assert (second["r"], second["lora_alpha"]) == (first["r"], first["lora_alpha"]) == (8, 16)
    a, b = _adapter_weights(distilled), _adapter_weights(tuned)
    assert set(a) == set(b)  # the same adapter, continued
    assert any(not torch.equal(a[k], b[k]) for k in a)  # and trained further
    card = (tuned / "README.md").read_text()
    assert "LoRA adapter" in card and "my_ner.conll" in card and "Continued from the adapter" in card
    # it loads like the adapter it started from
    student = load_student(str(tiny_dir), str(tuned), device="cpu")
    assert student.adapter == str(tuned)


def test_train_adapter_needs_out_and_data(tmp_path, capsys):
    assert main(["train", "--adapter", str(tmp_path)]) == 2
    assert "--out" in capsys.readouterr().err

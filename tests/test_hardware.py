"""bfloat16 where the hardware has it: training in float32 and an honest key elsewhere."""

import json
from pathlib import Path

import pytest

from conftest_models import student_tokenizer  # noqa: F401  (fixture)

import unerlib.hardware
from unerlib.hardware import bf16_training, cpu_bf16


def test_the_cpu_answer_is_a_bool_and_decides_cpu_training():
    assert isinstance(cpu_bf16(), bool)
    assert bf16_training("cpu") is cpu_bf16()


@pytest.mark.parametrize("has", [True, False])
def test_a_student_key_says_whether_it_trained_with_bf16_autocast(tmp_path, monkeypatch, student_tokenizer, has):  # noqa: F811
    """``bf16=True`` asks for autocast; where the hardware makes it slow, the student trains in
    float32 and its key and recorded config say float32, so that it is never mistaken for (or
    reused as) a bf16-trained student."""
    import unerlib.student
    import unerlib.train
    from unerlib.experiments import build_student

    seen = []

    class Stub:
        tokenizer = student_tokenizer

    def fake_train(config, examples, output_dir, **kw):
        seen.append(config.bf16)
        Path(output_dir, "adapter_config.json").write_text("{}")
        return Path(output_dir)

    monkeypatch.setattr(unerlib.student, "load_student", lambda *a, **k: Stub())
    monkeypatch.setattr(unerlib.train, "train", fake_train)
    monkeypatch.setattr(unerlib.hardware, "cpu_bf16", lambda: has)
    data = tmp_path / "a.json"
    data.write_text(json.dumps([{"id": "p0", "conversations": [
        {"from": "human", "value": "Text: Ada Lovelace wrote notes."}, {"from": "gpt", "value": "I've read this text."},
        {"from": "human", "value": "What describes person in the text?"}, {"from": "gpt", "value": '["Ada Lovelace"]'}]}]))
    folder = build_student(data, root=tmp_path / "art", progress=False, model="x", max_steps=1, bf16=True)
    assert seen == [has]
    assert json.loads((folder / "params.json").read_text())["train"]["bf16"] is has
    plain = build_student(data, root=tmp_path / "art", progress=False, model="x", max_steps=1, bf16=False)
    assert (plain == folder) is (not has)  # without bf16 instructions, the same student as float32's

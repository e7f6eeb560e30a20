"""The vLLM backend (unerlib.vllm_backend) against a stand-in ``vllm`` module (no GPU here):
the adapter goes to vLLM as a LoRA request, names resolve as on the transformers path, and
the embedded GGUF or a missing adapter is refused with a clear message."""

from __future__ import annotations

import json
import sys
import types

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, student_tokenizer)
from unerlib.inference import Question, predict
from unerlib.student import Student, StudentError


class _Out:
    def __init__(self, text, reason):
        self.outputs = [types.SimpleNamespace(text=text, finish_reason=reason)]


@pytest.fixture
def fake_vllm(monkeypatch, student_tokenizer):
    seen: dict = {}

    class LLM:
        def __init__(self, model, **kwargs):
            seen["model"], seen["kwargs"] = model, kwargs

        def get_tokenizer(self):
            return student_tokenizer

        def generate(self, prompts, params, lora_request=None):
            seen["prompts"], seen["lora"] = prompts, lora_request
            return [_Out('["Paris"]', "stop") if k % 2 == 0 else _Out('["Par', "length") for k in range(len(prompts))]

    class LoRARequest:
        def __init__(self, name, id_, path):
            self.name, self.id, self.path = name, id_, path

    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = LLM, lambda **kw: kw
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = LoRARequest
    for name, module in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, module)
    return seen


QUESTIONS = [Question("1", "Paris is big.", "location"), Question("2", "Paris is big.", "person")]


def test_the_adapter_goes_to_vllm_as_a_lora_request(fake_vllm, tiny_dir, tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 32}))
    preds, stats = predict(Student(None, None, str(tiny_dir), str(adapter)), QUESTIONS, max_new_tokens=8,
                           backend="vllm")
    assert fake_vllm["model"] == str(tiny_dir)
    assert fake_vllm["kwargs"] == {"enable_prefix_caching": True, "enable_lora": True, "max_lora_rank": 32}
    assert fake_vllm["lora"].path == str(adapter)
    assert [p.raw for p in preds] == ['["Paris"]', '["Par'] and [p.stop for p in preds] == ["end", "cap"]
    assert stats.extra["adapter"] == str(adapter)


def test_without_an_adapter_no_lora(fake_vllm, tiny_dir):
    predict(str(tiny_dir), QUESTIONS, max_new_tokens=8, backend="vllm")
    assert fake_vllm["lora"] is None and "enable_lora" not in fake_vllm["kwargs"]


def test_a_missing_adapter_is_refused(fake_vllm, tiny_dir, tmp_path):
    with pytest.raises(StudentError, match="adapter_config.json"):
        predict(Student(None, None, str(tiny_dir), str(tmp_path / "nowhere")), QUESTIONS, backend="vllm")
    assert "model" not in fake_vllm  # refused before vLLM loads anything


def test_a_gguf_model_is_refused_with_what_to_do(fake_vllm, tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(StudentError, match="default backend"):
        predict(str(gguf), QUESTIONS, backend="vllm")

"""The vLLM backend of :func:`unerlib.inference.predict` (GPU, extra ``gpu``): the same
prompts as token ids, greedy, stopping at ``]``; vLLM's automatic prefix caching shares each
passage's prefix. A LoRA adapter is applied as a vLLM LoRA request (never silently
dropped); the model name is resolved as the transformers path resolves it, and a model
vLLM cannot load from here (the embedded GGUF before its plain snapshot exists) is refused
with a message saying what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from .decoder import InferenceStats
from .student import Student, StudentError, resolve_model


def vllm_target(student: Student | str, adapter: str | None = None) -> tuple[str, str | None, int]:
    """(model path or id, adapter folder or None, the adapter's LoRA rank) for vLLM;
    ``student`` is a :class:`unerlib.student.Student` (its name and adapter) or a name."""
    name = student if isinstance(student, str) else student.name
    adapter = adapter if isinstance(student, str) else (student.adapter or adapter)
    where, extra = resolve_model(name)
    if "gguf_file" in extra:
        raise StudentError(f"the vllm backend cannot load the GGUF file {extra['gguf_file']} of {name!r}: load it once "
                           f"with the default backend (it writes a plain snapshot that vllm then uses), or pass a "
                           f"model folder or Hugging Face id (`uner export` writes one with the adapter merged)")
    rank = 0
    if adapter:
        config = Path(adapter).expanduser() / "adapter_config.json"
        if not config.is_file():
            raise StudentError(f"adapter not found: {Path(adapter).expanduser()} (looked for adapter_config.json)")
        rank = int(json.loads(config.read_text()).get("r", 16))
    return where, str(Path(adapter).expanduser()) if adapter else None, rank


def predict_vllm(student: Student | str, questions: Sequence[Any], max_new_tokens: int, max_passage_tokens: int,
                 adapter: str | None = None):
    """Answer every question with vLLM; predictions in question order and statistics."""
    from .data import DataError
    from .inference import _merge, group_by_passage, split_passage
    from .instructions import encode_prefix, encode_question

    where, adapter, rank = vllm_target(student, adapter)
    try:
        from vllm import LLM, SamplingParams
        from vllm.lora.request import LoRARequest
    except ImportError:
        raise DataError("the vllm backend needs the 'gpu' extra: pip install -e '.[gpu]'") from None
    lora = {"enable_lora": True, "max_lora_rank": max(rank, 8)} if adapter else {}
    llm = LLM(model=where, enable_prefix_caching=True, **lora)
    request = LoRARequest("adapter", 1, adapter) if adapter else None
    tok = llm.get_tokenizer()
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, stop=["]"], include_stop_str_in_output=True)
    prompts, owners = [], []
    for passage, idx in group_by_passage(questions):
        for window in split_passage(tok, passage, max_passage_tokens):
            prefix = encode_prefix(tok, window)
            for i in idx:
                prompts.append({"prompt_token_ids": prefix + encode_question(tok, questions[i].type)})
                owners.append(i)
    raws: list[list[tuple[str, str, bool]]] = [[] for _ in questions]  # (answer, stop reason, cap hit)
    for i, out in zip(owners, llm.generate(prompts, params, lora_request=request)):
        answer = out.outputs[0]
        capped = answer.finish_reason == "length"
        raws[i].append((answer.text, "cap" if capped else "end", capped))
    stats = InferenceStats(questions=len(questions), extra={"backend": "vllm", "adapter": adapter})
    return [_merge(q, r) for q, r in zip(questions, raws)], stats

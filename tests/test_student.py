"""The embedded student: its plain transformers snapshot loads the very same model and
tokenizer as the GGUF file it was made from."""

from __future__ import annotations

import pytest

from unerlib.student import EMBEDDED, StudentError, embedded_gguf, embedded_snapshot, load_student, resolve_model


def test_snapshot_matches_the_gguf_student(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    try:
        embedded_gguf()
    except StudentError as err:
        pytest.skip(str(err))
    monkeypatch.setenv("UNER_ARTIFACTS", str(tmp_path))
    assert "gguf_file" in resolve_model(EMBEDDED)[1]
    first = load_student(EMBEDDED)  # from the GGUF file; writes the snapshot
    snapshot = embedded_snapshot()
    assert (snapshot / "done").is_file() and snapshot.parent == tmp_path / "models"
    assert resolve_model(EMBEDDED) == (str(snapshot), {})
    second = load_student(EMBEDDED)  # from the snapshot
    text = "Text: Ada Lovelace wrote programs for the Analytical Engine in London.</s>"
    ids = first.tokenizer(text)["input_ids"]
    assert ids == second.tokenizer(text)["input_ids"]
    assert (first.tokenizer.eos_token_id, first.tokenizer.pad_token_id) == (
        second.tokenizer.eos_token_id, second.tokenizer.pad_token_id)
    with torch.inference_mode():
        a = first.model(input_ids=torch.tensor([ids])).logits
        b = second.model(input_ids=torch.tensor([ids])).logits
    assert torch.equal(a, b)

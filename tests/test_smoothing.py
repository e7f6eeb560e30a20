"""Smoothing before int8 (unerlib.smoothing): the float model computes the same logits after
smoothing, the outlier channels shrink, ``int8_smooth`` answers a question alike in any batch,
and the calibration prompts are fixed text in the student's question format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest_models import *  # noqa: F401,F403
from unerlib.emptiness import empty_scores
from unerlib.inference import Question
from unerlib.smoothing import CALIBRATION_TYPES, calibration_ids, input_maxima, smooth
from unerlib.student import load_student


def _outlier_model(tiny_dir):
    """The tiny student with two input channels of every layer's norm made 50x larger (as the
    outlier channels of real language models are)."""
    student = load_student(str(tiny_dir))
    with torch.no_grad():
        for block in student.model.model.layers:
            for norm in (block.input_layernorm, block.post_attention_layernorm):
                norm.weight[:2] *= 50
    return student


def test_smoothing_keeps_the_float_model_and_flattens_its_inputs(tiny_dir, student_tokenizer):
    student = _outlier_model(tiny_dir)
    calib = calibration_ids(student_tokenizer)
    ids = torch.tensor([student_tokenizer.encode("Text: Paris is in France . What describes city in the text?")])
    q_proj = student.model.model.layers[0].self_attn.q_proj
    with torch.inference_mode():
        before = student.model(input_ids=ids).logits
    spread = input_maxima(student.model, calib)[q_proj]
    smooth(student.model, calib)
    with torch.inference_mode():
        after = student.model(input_ids=ids).logits
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)
    flat = input_maxima(student.model, calib)[q_proj]
    assert flat.max() / flat.median() < spread.max() / spread.median() / 3


def test_int8_smooth_answers_a_question_alike_in_any_batch(tiny_dir):
    student = load_student(str(tiny_dir), quantize="int8_smooth")
    passages = ["Paris is in France .", "Alan Turing was born in London in 1912 ."]
    qs = [Question(f"{i}-{t}", p, t, json.dumps([])) for i, p in enumerate(passages) for t in ("city", "person")]
    alone = empty_scores(student, qs, batch_rows=1, progress=False)
    batched = empty_scores(student, qs, batch_rows=4, progress=False)
    np.testing.assert_allclose(batched.log_prob, alone.log_prob, atol=1e-3)
    floats = empty_scores(load_student(str(tiny_dir)), qs, batch_rows=4, progress=False)
    assert np.abs(batched.log_prob - floats.log_prob).max() < 0.5  # near the float model's


def test_smoothing_brings_int8_closer_to_float_where_channels_are_outliers(tiny_dir, student_tokenizer):
    """On the tiny model with outlier channels, the int8 logits move less from the float ones
    after smoothing than without it."""
    from unerlib.quantize import quantize

    ids = torch.tensor([student_tokenizer.encode("Text: Alan Turing was born in London . What describes person "
                                                 "in the text?")])
    with torch.inference_mode():
        floats = _outlier_model(tiny_dir).model(input_ids=ids).logits
        errors = {how: (quantize(_outlier_model(tiny_dir).model, how, student_tokenizer)(input_ids=ids).logits
                        - floats).abs().mean().item() for how in ("int8_row", "int8_smooth")}
    assert errors["int8_smooth"] < errors["int8_row"], errors


def test_calibration_prompts_are_fixed_questions(student_tokenizer):
    ids = calibration_ids(student_tokenizer)
    assert ids == calibration_ids(student_tokenizer) and len(ids) >= 4
    text = student_tokenizer.decode(ids[0])
    assert "Text: " in text and all(f"What describes {t} in the text?" in text for t in CALIBRATION_TYPES)


def test_smoothing_refuses_what_it_cannot_fold(tiny_dir, student_tokenizer):
    from unerlib.quantize import quantize

    student = load_student(str(tiny_dir))
    with pytest.raises(ValueError, match="alpha"):
        smooth(student.model, calibration_ids(student_tokenizer), alpha=1.5)
    with pytest.raises(ValueError, match="Llama-style"):
        smooth(torch.nn.Sequential(torch.nn.Linear(4, 4)), [[1, 2]])
    with pytest.raises(ValueError, match="tokenizer"):
        quantize(student.model, "int8_smooth")

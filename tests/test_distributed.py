"""The distributed training path, proven on the CPU: ``accelerate launch --multi_gpu
--num_processes 2`` on a machine without a GPU (two processes, gloo) tunes the tiny model, every rank on its own device, the forward through the
DDP wrapper, rank 0 alone writing; the adapter equals a single-process run's on the same
data, seed and global batch.

Every optimizer step sees the whole data set (4 examples, a global batch of 4: 4 x 1 in one
process, 2 x 2 over two ranks), so the order in which the samplers deal the examples does
not matter and the two runs compute the same gradients: the LoRA weights then agree to
float32 rounding (we require a relative difference below 1e-4).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest_models import *  # noqa: F401,F403  (fixtures: tiny_dir, student_tokenizer)
from unerlib.instructions import Conversation, tokenize_conversation

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: Relative tolerance on the LoRA weights (max |a - b| / max |a|).
TOLERANCE = 1e-4

SCRIPT = r'''
import json, os, sys
import torch
torch.set_num_threads(1)
from unerlib.train import TrainConfig, train, train_device
examples, config, out, report = sys.argv[1:5]
examples = json.loads(open(examples).read())
config = TrainConfig(**json.loads(open(config).read()))
train(config, examples, out, progress=False)
rank = int(os.environ.get("RANK", "0"))
world = int(os.environ.get("WORLD_SIZE", "1"))
backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else None
with open(f"{report}.{rank}", "w") as fh:
    json.dump({"rank": rank, "world": world, "local_rank": os.environ.get("LOCAL_RANK"),
               "device": train_device(), "backend": backend}, fh)
'''

NAMES = ["Obama", "Merkel", "Paris", "Berlin", "Python", "Rust", "Tokyo", "Rome"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "ACCELERATE_USE_CPU"):
        env.pop(name, None)
    return env


def _lora_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def setup(tiny_dir, student_tokenizer, tmp_path_factory):
    base = tmp_path_factory.mktemp("ddp")
    convs = [Conversation(f"{NAMES[i]} met {NAMES[(i + 3) % 8]} in {NAMES[(i + 5) % 8]}.",
                          [("person", [NAMES[i]]), ("city", [NAMES[(i + 5) % 8]])]) for i in range(4)]
    examples = [p for c in convs for p in tokenize_conversation(student_tokenizer, c)]
    assert len(examples) == 4
    (base / "examples.json").write_text(json.dumps(examples))
    (base / "train.py").write_text(SCRIPT)
    common = dict(model=str(tiny_dir), lora=True, lora_targets=["q_proj", "v_proj"], lora_r=4, lora_alpha=8,
                  lora_dropout=0.0, max_steps=3, learning_rate=5e-3, group_by_length=False, logging_steps=1,
                  save_steps=1000, warmup_ratio=0.0, seed=0)
    for name, batch in (("single", 4), ("ddp", 2)):
        (base / f"{name}.json").write_text(json.dumps({**common, "batch_size": batch}))
    return base


def test_two_cpu_processes_match_one(setup):
    base = setup
    args = [str(base / "examples.json")]
    single = subprocess.run([sys.executable, str(base / "train.py"), *args, str(base / "single.json"),
                             str(base / "out_single"), str(base / "report_single")],
                            env=_env(), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    # ``accelerate launch --cpu --num_processes 2`` starts one process only unless MPI is set up
    # (accelerate 1.x): ``--multi_gpu`` starts the two processes through torchrun, and on a
    # machine without a GPU ``train`` asks for the CPU (``use_cpu``): accelerate then runs gloo
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "--main_process_ip", "127.0.0.1", "--main_process_port", str(_free_port()),
              str(base / "train.py"), *args, str(base / "ddp.json"), str(base / "out_ddp"), str(base / "report_ddp")]
    ddp = subprocess.run(launch, env=_env(), capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stdout[-2000:] + ddp.stderr[-4000:]

    reports = [json.loads((base / f"report_ddp.{r}").read_text()) for r in (0, 1)]
    assert [(r["rank"], r["world"], r["local_rank"], r["device"]) for r in reports] == [
        (0, 2, "0", "cpu"), (1, 2, "1", "cpu")]
    assert {r["backend"] for r in reports} == {"gloo"}

    out = base / "out_ddp"
    written = sorted(p.name for p in out.iterdir() if p.is_file())
    assert {"adapter_model.safetensors", "adapter_config.json", "uner_train.json", "loss_history.json",
            "README.md"} <= set(written)
    assert not [n for n in written if n.endswith(".tmp")]
    steps = [h["step"] for h in json.loads((out / "loss_history.json").read_text()) if "loss" in h]
    assert steps == [1, 2, 3]

    a, b = _lora_weights(base / "out_single"), _lora_weights(out)
    assert a.keys() == b.keys() and a
    moved = False
    for name in a:
        scale = float(a[name].abs().max()) or 1.0
        diff = float((a[name] - b[name]).abs().max())
        assert diff / scale < TOLERANCE, (name, diff, scale)
        moved |= "lora_B" in name and scale > 0  # lora_B starts at zero: training moved it
    assert moved

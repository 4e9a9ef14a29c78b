"""Two processes with the gloo backend (torchrun) train the patcher exactly as one process does."""

import json
import os
import socket
import subprocess
import sys

import torch

from actionkit.cli import main
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.data.manifest import read_manifest
from actionkit.checkpoint import load_tensors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_gloo_two_processes_equal_one(tiny_world, tiny_backbone, tmp_path):
    tiny_backbone.save(tmp_path / "bb")
    extract_features(tiny_backbone, read_manifest(tiny_world / "manifest.jsonl", split="train"), tiny_world,
                     tmp_path / "cache", ExtractConfig(workers=0), progress=False)
    args = ["patch", "--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--features",
            str(tmp_path / "cache"), "--epochs", "2", "--batch-size", "8", "--latents", "4", "--dim", "16",
            "--heads", "2", "--atm-shuffle", "--workers", "0", "--no-progress", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), "-m", "actionkit.cli", *args, "--out", str(tmp_path / "two")],
        capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]

    def rows(run_dir):
        return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]

    one, two = rows(tmp_path / "one"), rows(tmp_path / "two")
    assert [r["step"] for r in one] == [r["step"] for r in two] and len(one) >= 2
    for a, b in zip(one, two):       # the same loss on the same global batch, step by step
        assert set(a) == set(b) and {"loss", "vtc", "atm"} <= set(a)
        for key in set(a) - {"step", "epoch", "lr"}:
            assert abs(a[key] - b[key]) < 1e-4, (a["step"], key, a[key], b[key])
    w1 = load_tensors(tmp_path / "one" / "heads.safetensors")
    w2 = load_tensors(tmp_path / "two" / "heads.safetensors")
    for name in w1:
        assert torch.allclose(w1[name], w2[name], atol=1e-4), name


def test_torchrun_extract_splits_clips_across_ranks(tiny_world, tiny_backbone, tmp_path):
    from actionkit.features.cache import FeatureCache

    tiny_backbone.save(tmp_path / "bb")
    args = ["extract", "--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--workers", "0",
            "--no-progress", "--dtype", "float32", "--shard-size", "8"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    # a one-process run did part of the work first; two ranks finish it without touching its shards
    assert main([*args, "--split", "test", "--out", str(tmp_path / "two")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
         "--master_port", str(_free_port()), "-m", "actionkit.cli", *args, "--out", str(tmp_path / "two")],
        capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "two").glob("index*.json")) == [
        "index.json", "index.rank0-of-2.json", "index.rank1-of-2.json"]
    one, two = FeatureCache(tmp_path / "one"), FeatureCache(tmp_path / "two")
    assert sorted(one.clips) == sorted(two.clips) and len(one) == 60
    ids = sorted(one.clips)
    for name in ("frame_tokens", "frame_pooled"):
        assert torch.allclose(one.read(ids, name), two.read(ids, name), atol=1e-5)

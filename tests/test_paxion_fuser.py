import json
from dataclasses import replace

import pytest
import torch

from actionkit.backbones.protocol import VideoTextModel
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods import load_model
from actionkit.methods.checkpoint import base_reference, save_method
from actionkit.methods.paxion.fuser import FUSER, FuserConfig, KnowledgeFuser
from actionkit.methods.paxion.method import PAXION, PaxionConfig, build
from actionkit.methods.training import train_method
from actionkit.probes.actionbench import run_actionbench
from actionkit.train.trainer import TrainerConfig


@pytest.fixture
def patched(tiny_backbone):
    torch.manual_seed(0)
    return PAXION.model(tiny_backbone, build(tiny_backbone, PaxionConfig(num_latents=4, dim=16, heads=2)))


@pytest.mark.parametrize("variant", ["cross_attention", "side_tuning"])
def test_fuser_output_is_one_normalised_embedding(variant):
    fuser = KnowledgeFuser(FuserConfig(variant=variant, heads=2), embed_dim=8)
    out = fuser(torch.randn(3, 8), torch.randn(3, 5, 8))
    assert out.shape == (3, 8) and torch.allclose(out.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_side_tuning_gate_mixes_backbone_and_latents():
    fuser = KnowledgeFuser(FuserConfig(variant="side_tuning"), embed_dim=4)
    with torch.no_grad():
        fuser.query.weight.copy_(torch.eye(4))
        fuser.query.bias.zero_()
        fuser.gate.fill_(100.0)                                   # a = 1: backbone only
    pooled, latents = torch.tensor([[1.0, 0, 0, 0]]), torch.tensor([[[0, 1.0, 0, 0], [0, 0, 1.0, 0]]])
    assert torch.allclose(fuser(pooled, latents), pooled)
    with torch.no_grad():
        fuser.gate.fill_(-100.0)                                  # a = 0: mean of the latents
    assert torch.allclose(fuser(pooled, latents), torch.tensor([[0, 1.0, 1.0, 0]]) / 2 ** 0.5)


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="cross_attention, side_tuning"):
        FuserConfig(variant="gated-ish")


def test_the_fuser_needs_a_base_with_latents(tiny_backbone):
    with pytest.raises(ValueError, match="--base PATCHER_DIR"):
        FUSER.build(tiny_backbone, FuserConfig())


def test_train_save_load_and_probe_the_fused_model(tiny_world, patched, tmp_path):
    save_method(tmp_path / "p", PAXION, PaxionConfig(num_latents=4, dim=16, heads=2), patched.heads,
                base_reference("world", None), patched.base.fingerprint(), TrainerConfig(), {})
    records = read_manifest(tiny_world / "manifest.jsonl", split="train")
    features = ClipFeatures.extract(patched.base, records, tiny_world, workers=0, progress=False)
    train = replace(FUSER.train_defaults, epochs=12, batch_size=8, lr=1e-2, warmup_steps=5, log_every=1)
    summary = train_method(FUSER, patched, base_reference(model=tmp_path / "p"), features, tmp_path / "f",
                           FuserConfig(heads=2), train, progress=False)
    assert summary["train_clips"] == len(records)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "f" / "metrics.jsonl").read_text().splitlines()]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.1          # it learns

    fused = load_model(tmp_path / "f", backbone=patched.base)          # its base, the patcher, from method.json
    assert isinstance(fused, VideoTextModel) and fused.name == "fused" and fused.base.name == "patched"
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        video = fused.encode_video(pixels).video
        f = patched.base.encode_video(pixels)
        expected = fused.heads(f.video, patched.encode_video(pixels).video)   # backbone clip + patcher latents
    assert video.shape == (2, 16) and torch.allclose(video, expected, atol=1e-6)
    test = read_manifest(tiny_world / "manifest.jsonl", split="test")
    from_videos = run_actionbench(fused, test, tiny_world, workers=0, progress=False)
    cached = ClipFeatures.extract(patched.base, test, tiny_world, workers=0, progress=False)
    from_features = run_actionbench(fused, test, tiny_world, features=cached, progress=False)
    assert from_videos.n_clips == len(test)
    for probe in ("action_antonym", "video_reversal", "object_replacement"):
        assert abs(from_videos.results[probe].accuracy - from_features.results[probe].accuracy) <= 1 / len(test)


def test_older_fuser_folders_load_on_the_patcher_they_name(patched, tmp_path):
    from actionkit.checkpoint import save_tensors
    from actionkit.fileio import write_json_atomic

    torch.manual_seed(3)
    fuser = KnowledgeFuser(FuserConfig(heads=2), embed_dim=16)
    save_tensors(tmp_path / "fuser.safetensors", fuser.state_dict())
    write_json_atomic(tmp_path / "fuser.json", {"fuser": {"variant": "cross_attention", "embed_dim": 16, "heads": 2,
                                                          "ff_mult": 2}, "train": {"epochs": 1}})
    with pytest.raises(ValueError, match="does not record the model it was trained on"):
        load_model(tmp_path, backbone=patched.base)                   # the old format names no patcher
    fused = load_model(tmp_path, base=patched)
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        expected = fuser(patched.base.encode_video(pixels).video, patched.encode_video(pixels).video)
        assert torch.allclose(fused.encode_video(pixels).video, expected, atol=1e-6)

import pytest
import torch

from actionkit.backbones.protocol import Backbone
from actionkit.data.manifest import read_manifest
from actionkit.methods.paxion.fuser import FusedModel, FuserConfig, KnowledgeFuser, train_fuser
from actionkit.methods.paxion.model import PatchedModel, PaxionHeads, patcher_config_for
from actionkit.probes.actionbench import run_actionbench
from actionkit.train.trainer import TrainerConfig


@pytest.fixture
def patched(tiny_backbone):
    torch.manual_seed(0)
    return PatchedModel(tiny_backbone, PaxionHeads(patcher_config_for(tiny_backbone, num_latents=4, dim=16, heads=2)))


@pytest.mark.parametrize("variant", ["cross_attention", "side_tuning"])
def test_fuser_output_is_one_normalised_embedding(variant):
    fuser = KnowledgeFuser(FuserConfig(variant=variant, embed_dim=8, heads=2))
    out = fuser(torch.randn(3, 8), torch.randn(3, 5, 8))
    assert out.shape == (3, 8) and torch.allclose(out.norm(dim=-1), torch.ones(3), atol=1e-5)


def test_side_tuning_gate_mixes_backbone_and_latents():
    fuser = KnowledgeFuser(FuserConfig(variant="side_tuning", embed_dim=4))
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


def test_train_save_load_and_probe_the_fused_model(tiny_world, patched, tmp_path):
    summary = train_fuser(patched, tiny_world, tmp_path / "f", FuserConfig(heads=2),
                          TrainerConfig(epochs=1, batch_size=8), workers=0, progress=False)
    assert summary["train_clips"] > 8
    fused = FusedModel.load(tmp_path / "f", patched)
    assert isinstance(fused, Backbone)
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        video = fused.encode_video(pixels).video
    assert video.shape == (2, 16)
    records = read_manifest(tiny_world / "manifest.jsonl", split="test")
    result = run_actionbench(fused, records, tiny_world, workers=0, progress=False)
    assert result.n_clips == len(records)
    assert 0.0 <= result.results["video_reversal"].accuracy <= 1.0

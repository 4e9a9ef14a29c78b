import json
from dataclasses import replace

import pytest
import torch

from actionkit.data.manifest import read_manifest, write_manifest
from actionkit.methods.paxion.losses import atm_loss, vtc_loss
from actionkit.methods.paxion.model import PatchedModel, PaxionHeads, patcher_config_for
from actionkit.methods.paxion.patcher import PatcherConfig
from actionkit.methods.paxion.training import PatchTrainConfig, train_patcher
from actionkit.train.checkpoint import ConfigMismatch
from actionkit.train.trainer import Trainer, TrainerConfig

SMALL = dict(num_latents=4, dim=16, heads=2, text_latents=2)


@pytest.fixture
def patched(tiny_backbone):
    torch.manual_seed(0)
    return PatchedModel(tiny_backbone, PaxionHeads(patcher_config_for(tiny_backbone, **SMALL)))


def test_patcher_sees_frame_order_the_backbone_does_not(patched):
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        forward, backward = patched.encode_video(pixels), patched.encode_video(pixels.flip(1))
        frozen_f, frozen_b = patched.backbone.encode_video(pixels), patched.backbone.encode_video(pixels.flip(1))
    assert forward.video.shape == (2, 4, 16)                 # K latents in the joint space
    assert not torch.allclose(forward.video, backward.video, atol=1e-4)
    assert torch.allclose(frozen_f.video, frozen_b.video, atol=1e-6)


def test_reversed_clip_from_flipped_frame_features_equals_encoding_reversed_pixels(patched):
    """What lets probes and the feature cache skip a second pass over reversed pixels."""
    from actionkit.methods.paxion.fuser import FusedModel, FuserConfig, KnowledgeFuser
    from actionkit.probes.actionbench import reversed_video

    torch.manual_seed(1)
    fused = FusedModel(patched, KnowledgeFuser(FuserConfig(embed_dim=16)))
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        for model in (patched.backbone, patched, fused):
            f = model.encode_video(pixels)
            assert model.frame_independent
            assert torch.allclose(model.video_from_frames(f.frame_tokens, f.frame_pooled), f.video, atol=1e-6)
            assert torch.allclose(reversed_video(model, f), model.encode_video(pixels.flip(1)).video, atol=1e-5)


def test_text_perceiver_is_order_aware_mean_pooling_is_not(patched):
    texts = ["moving a red star from left to right", "moving a red star from right to left"]
    with torch.no_grad():
        tokens, mask, pooled = patched.backbone.text_tower.encode(texts)
        assert (pooled[0] @ pooled[1]).item() > 0.99               # mean-pooled MiniLM: near identical
        n = int(mask[0].sum())
        shuffled = tokens[:1, :n].flip(1)                          # the same token features, other order
        perceiver = patched.heads.text_perceiver
        a, b = perceiver(tokens[:1, :n], mask[:1, :n]), perceiver(shuffled, mask[:1, :n])
    assert torch.allclose(tokens[0, :n].mean(0), shuffled[0].mean(0), atol=1e-6)
    assert not torch.allclose(a, b, atol=1e-4)


def test_save_load_gives_identical_outputs(patched, tmp_path):
    patched.heads.save(tmp_path, "world")
    loaded = PatchedModel.load(tmp_path, patched.backbone)
    pixels = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode_video(pixels).video, patched.encode_video(pixels).video)
        assert torch.equal(loaded.encode_text(["a red star"]).pooled, patched.encode_text(["a red star"]).pooled)


def test_checkpoint_that_does_not_fit_lists_the_keys(patched, tmp_path):
    patched.heads.save(tmp_path, "world")
    with pytest.raises(ConfigMismatch, match=r"num_latents: checkpoint 4 vs model 8.*text_perceiver"):
        PatchedModel.load(tmp_path, patched.backbone,
                          expected=replace(patched.heads.cfg, num_latents=8, text_perceiver=False))
    config = json.loads((tmp_path / "patcher.json").read_text())
    config["patcher"]["video_dim"] = 99
    (tmp_path / "patcher.json").write_text(json.dumps(config))
    with pytest.raises(ConfigMismatch, match="video_dim: checkpoint 99 vs model 16"):
        PatchedModel.load(tmp_path, patched.backbone)


def _tiny_run(out, crash_at=None, resume=False, batch_size=8):
    torch.manual_seed(0)
    cfg = PatcherConfig(num_frames=4, num_patches=4, video_dim=8, text_dim=8, embed_dim=8, **SMALL)
    heads = PaxionHeads(cfg)
    gen = torch.Generator().manual_seed(1)
    tokens, text = torch.randn(24, 4, 4, 8, generator=gen), torch.randn(24, 5, 8, generator=gen)
    mask = torch.ones(24, 5, dtype=torch.bool)

    def step(idx, step):
        if step == crash_at:
            raise KeyboardInterrupt
        video = heads.encode_tokens(tokens[idx])
        t = heads.encode_text_tokens(text[idx], mask[idx], None)
        shuffled = tokens[idx][:, torch.randperm(4)]            # global RNG: reseeded per step
        cands = torch.stack([video, heads.encode_tokens(tokens[idx].flip(1)), heads.encode_tokens(shuffled)], 1)
        scale = heads.logit_scale.exp()
        return {"loss": vtc_loss(video, t, scale) + atm_loss(cands, t, scale)}

    trainer = Trainer(heads, step, 24, TrainerConfig(epochs=3, batch_size=batch_size, warmup_steps=2, log_every=1),
                      out, progress=False, model_config={"num_latents": 4})
    trainer.fit(resume=resume)
    return heads


def test_resume_lands_on_the_uninterrupted_result(tmp_path):
    straight = _tiny_run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _tiny_run(tmp_path / "b", crash_at=5)                  # dies in epoch 2; last checkpoint at step 3
    with pytest.raises(ConfigMismatch, match="batch_size: checkpoint 8 vs model 4"):
        _tiny_run(tmp_path / "b", resume=True, batch_size=4)
    resumed = _tiny_run(tmp_path / "b", resume=True)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(p, q, atol=1e-6), name
    rows = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(9))
    assert rows == [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]


def test_train_patcher_end_to_end_and_missing_antonyms(tiny_world, tiny_backbone, tmp_path):
    cfg = PatchTrainConfig(epochs=1, batch_size=8, workers=0, atm_shuffle=True)
    summary = train_patcher(tiny_backbone, tiny_world, tmp_path / "p", PatcherConfig(**SMALL), cfg, progress=False)
    assert summary["train_clips"] > 8 and set(summary["final"]) == {"loss", "vtc", "vac", "atm"}
    assert (tmp_path / "p" / "patcher.safetensors").is_file() and (tmp_path / "p" / "metrics.jsonl").is_file()

    data = tmp_path / "data"
    data.mkdir()
    (data / "clips").symlink_to(tiny_world / "clips")      # the same videos under the new root
    records = read_manifest(tiny_world / "manifest.jsonl")
    first_train = next(i for i, r in enumerate(records) if r.split == "train")
    records[first_train] = replace(records[first_train], antonym_caption="")
    write_manifest(data / "manifest.jsonl", records)
    with pytest.raises(ValueError, match=f"record '{records[first_train].id}'.*--skip-missing-antonyms"):
        train_patcher(tiny_backbone, data, tmp_path / "q", PatcherConfig(**SMALL), cfg, progress=False)
    summary = train_patcher(tiny_backbone, data, tmp_path / "q", PatcherConfig(**SMALL),
                            replace(cfg, skip_missing_antonyms=True), progress=False)
    assert summary["dropped_without_antonym"] == 1
    with pytest.raises(ValueError, match="objectives"):
        PatchTrainConfig(objectives=("vtc", "nope"))
    with pytest.raises(ValueError, match="unknown objective"):
        PatchTrainConfig(loss_weights={"vtx": 1.0})


def test_patch_and_probe_cli(tiny_world, tiny_backbone, tmp_path, capsys):
    from actionkit.cli import main

    tiny_backbone.save(tmp_path / "bb")
    common = ["--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--workers", "0", "--no-progress"]
    assert main(["patch", *common, "--out", str(tmp_path / "p"), "--objectives", "vtc,atm", "--epochs", "1",
                 "--batch-size", "8", "--latents", "4", "--dim", "16", "--heads", "2"]) == 0
    assert main(["probe", *common, "--patcher", str(tmp_path / "p"), "--split", "all",
                 "--out", str(tmp_path / "probe.json")]) == 0
    report = json.loads((tmp_path / "probe.json").read_text())
    assert list(report["models"]) == ["patched"] and report["n_clips"] == 60
    assert main(["patch", *common, "--objectives", "vtc,foo"]) == 2
    assert "objectives must be" in capsys.readouterr().err
    assert main(["patch", *common, "--loss-weights", "vtc=x"]) == 2
    assert "is not NAME=NUMBER" in capsys.readouterr().err

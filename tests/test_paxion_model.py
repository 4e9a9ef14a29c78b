import json
from dataclasses import replace

import pytest
import torch

from actionkit.checkpoint import ConfigMismatch, save_tensors
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.fileio import write_json_atomic
from actionkit.methods import load_model
from actionkit.methods.checkpoint import BaseMismatch, base_reference, save_method
from actionkit.methods.paxion.fuser import FUSER, FuserConfig, KnowledgeFuser
from actionkit.methods.paxion.losses import atm_loss, vtc_loss
from actionkit.methods.paxion.method import PAXION, PaxionConfig, PaxionHeads, build
from actionkit.methods.paxion.patcher import PatcherConfig
from actionkit.methods.training import train_method
from actionkit.train.trainer import Trainer, TrainerConfig

SMALL = dict(num_latents=4, dim=16, heads=2, text_latents=2)


@pytest.fixture
def patched(tiny_backbone):
    torch.manual_seed(0)
    return PAXION.model(tiny_backbone, build(tiny_backbone, PaxionConfig(**SMALL)))


def _save(model, directory, cfg=PaxionConfig(**SMALL)):
    save_method(directory, PAXION, cfg, model.heads, base_reference("world", None), model.base.fingerprint(),
                TrainerConfig(), {})


def test_patcher_sees_frame_order_the_backbone_does_not(patched):
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        forward, backward = patched.encode_video(pixels), patched.encode_video(pixels.flip(1))
        frozen_f, frozen_b = patched.base.encode_video(pixels), patched.base.encode_video(pixels.flip(1))
    assert forward.video.shape == (2, 4, 16)                 # K latents in the joint space
    assert not torch.allclose(forward.video, backward.video, atol=1e-4)
    assert torch.allclose(frozen_f.video, frozen_b.video, atol=1e-6)


def test_reversed_clip_from_flipped_frame_features_equals_encoding_reversed_pixels(patched):
    """What lets probes and the feature cache skip a second pass over reversed pixels."""
    from actionkit.features.embeddings import reversed_video

    torch.manual_seed(1)
    fused = FUSER.model(patched, KnowledgeFuser(FuserConfig(), embed_dim=16))
    pixels = torch.randn(2, 4, 3, 64, 64)
    with torch.no_grad():
        for model in (patched.base, patched, fused):
            f = model.encode_video(pixels)
            assert model.frame_independent
            assert torch.allclose(model.video_from_frames(f.frame_tokens, f.frame_pooled), f.video, atol=1e-6)
            assert torch.allclose(reversed_video(model, f), model.encode_video(pixels.flip(1)).video, atol=1e-5)


def test_text_perceiver_is_order_aware_mean_pooling_is_not(patched):
    texts = ["moving a red star from left to right", "moving a red star from right to left"]
    with torch.no_grad():
        tokens, mask, pooled = patched.base.text_tower.encode(texts)
        assert (pooled[0] @ pooled[1]).item() > 0.99               # mean-pooled MiniLM: near identical
        n = int(mask[0].sum())
        shuffled = tokens[:1, :n].flip(1)                          # the same token features, other order
        perceiver = patched.heads.text_perceiver
        a, b = perceiver(tokens[:1, :n], mask[:1, :n]), perceiver(shuffled, mask[:1, :n])
    assert torch.allclose(tokens[0, :n].mean(0), shuffled[0].mean(0), atol=1e-6)
    assert not torch.allclose(a, b, atol=1e-4)


def test_save_load_gives_identical_outputs(patched, tmp_path):
    _save(patched, tmp_path)
    loaded = load_model(tmp_path, backbone=patched.base)
    pixels = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode_video(pixels).video, patched.encode_video(pixels).video)
        assert torch.equal(loaded.encode_text(["a red star"]).pooled, patched.encode_text(["a red star"]).pooled)
    assert loaded.name == "patched" and loaded.fingerprint() == patched.fingerprint()


def test_older_patcher_folders_still_load(patched, tmp_path):
    """A folder written before method.json (patcher.json + patcher.safetensors) loads as paxion."""
    from dataclasses import asdict

    save_tensors(tmp_path / "patcher.safetensors", patched.heads.state_dict())
    write_json_atomic(tmp_path / "patcher.json", {"backbone": "world", "patcher": asdict(patched.heads.cfg),
                                                  "train": {"objectives": ["vtc", "atm"], "epochs": 3}})
    loaded = load_model(tmp_path, backbone=patched.base)
    pixels = torch.randn(1, 4, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode_video(pixels).video, patched.encode_video(pixels).video)
    assert loaded.method == "paxion"
    meta = json.loads((tmp_path / "patcher.json").read_text())
    from actionkit.methods.paxion.legacy import read_legacy

    assert read_legacy(tmp_path)["config"]["vac"] == "separate" and meta["train"]["objectives"] == ["vtc", "atm"]


def test_checkpoint_that_does_not_fit_names_the_tensors(patched, tmp_path):
    _save(patched, tmp_path)
    config = json.loads((tmp_path / "method.json").read_text())
    config["config"]["num_latents"] = 8
    (tmp_path / "method.json").write_text(json.dumps(config))
    with pytest.raises(ConfigMismatch, match=r"patcher.perceiver.latents: checkpoint \[4, 16\] vs model \[8, 16\]"):
        load_model(tmp_path, backbone=patched.base)
    config["config"]["num_latnts"] = 8
    (tmp_path / "method.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"method.json: unknown key\(s\) num_latnts"):
        load_model(tmp_path, backbone=patched.base)


def test_a_base_other_than_the_one_trained_on_is_refused(patched, tmp_path, text_tower):
    from actionkit.backbones.world import WorldBackbone

    _save(patched, tmp_path)
    torch.manual_seed(5)
    other = WorldBackbone(patched.base.cfg, text_tower).eval()           # same shapes, other weights
    with pytest.raises(BaseMismatch, match="--allow-other-base"):
        load_model(tmp_path, backbone=other)
    assert load_model(tmp_path, backbone=other, allow_other_base=True).base is other


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
        video = heads.patcher(tokens[idx])
        t = heads.text_perceiver(text[idx], mask[idx])
        shuffled = tokens[idx][:, torch.randperm(4)]            # global RNG: reseeded per step
        cands = torch.stack([video, heads.patcher(tokens[idx].flip(1)), heads.patcher(shuffled)], 1)
        scale = heads.logit_scale.exp()
        return {"loss": vtc_loss(video, t, scale, similarity=heads.similarity)
                + atm_loss(cands, t, scale, paired_similarity=heads.paired_similarity)}

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


def test_train_paxion_end_to_end_and_missing_antonyms(tiny_world, tiny_backbone, tmp_path):
    from dataclasses import replace

    records = read_manifest(tiny_world / "manifest.jsonl", split="train")
    features = ClipFeatures.extract(tiny_backbone, records, tiny_world, workers=0, progress=False)
    cfg, train = PaxionConfig(**SMALL, atm_shuffle=True), replace(PAXION.train_defaults, epochs=1, batch_size=8)
    ref = base_reference("world", tmp_path / "bb")
    summary = train_method(PAXION, tiny_backbone, ref, features, tmp_path / "p", cfg, train, progress=False)
    assert summary["train_clips"] == len(records) and set(summary["final"]) == {"loss", "vtc", "atm"}  # vac in vtc
    assert (tmp_path / "p" / "heads.safetensors").is_file() and (tmp_path / "p" / "metrics.jsonl").is_file()
    saved = json.loads((tmp_path / "p" / "method.json").read_text())
    assert saved["method"] == "paxion" and saved["base_fingerprint"] == tiny_backbone.fingerprint()
    separate = train_method(PAXION, tiny_backbone, ref, features, tmp_path / "s", replace(cfg, vac="separate"),
                            train, progress=False)
    assert set(separate["final"]) == {"loss", "vtc", "vac", "atm"}

    features.records[0] = replace(features.records[0], antonym_caption="")
    with pytest.raises(ValueError, match=f"clip '{features.records[0].id}'.*--skip-missing-antonyms"):
        train_method(PAXION, tiny_backbone, ref, features, tmp_path / "q", cfg, train, progress=False)
    summary = train_method(PAXION, tiny_backbone, ref, features, tmp_path / "q",
                           replace(cfg, skip_missing_antonyms=True), train, progress=False)
    assert summary["dropped_without_antonym"] == 1 and summary["train_clips"] == len(records) - 1
    with pytest.raises(ValueError, match="objectives"):
        PaxionConfig(objectives=("vtc", "nope"))
    with pytest.raises(ValueError, match="unknown objective"):
        PaxionConfig(loss_weights={"vtx": 1.0})
    with pytest.raises(ValueError, match="needs vtc"):
        PaxionConfig(objectives=("vac", "atm"))


def test_no_weight_decay_on_the_temperature(tiny_backbone, tmp_path):
    heads = build(tiny_backbone, PaxionConfig(**SMALL))
    trainer = Trainer(heads, lambda idx, step: {}, 8, TrainerConfig(batch_size=8, weight_decay=0.05), tmp_path)
    decay = {id(p): g["weight_decay"] for g in trainer.optimizer.param_groups for p in g["params"]}
    assert decay[id(heads.logit_scale)] == 0.0
    assert decay[id(heads.patcher.proj.weight)] == 0.05


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

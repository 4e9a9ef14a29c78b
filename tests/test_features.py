"""Feature cache: round trip, resume after a crash, refusal of another backbone's cache, bad clips."""

import json
from dataclasses import replace

import pytest
import torch

from actionkit.cli import main
from actionkit.data.clips import ReadOptions, load_clips
from actionkit.data.manifest import read_manifest
from actionkit.features import extract as extract_mod
from actionkit.features.cache import CacheMismatch, FeatureCache
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.probes.actionbench import run_actionbench

CFG = ExtractConfig(workers=0, shard_size=16, batch_size=8)


def _records(world, n=40):
    return read_manifest(world / "manifest.jsonl")[:n]


def _shard_tensors(cache):
    ids = sorted(cache.clips)
    return ids, cache.read(ids, "frame_tokens"), cache.read(ids, "frame_pooled")


def test_round_trip_equals_direct_features(tiny_world, tiny_backbone, tmp_path):
    records = _records(tiny_world, 20)
    summary = extract_features(tiny_backbone, records, tiny_world, tmp_path / "c", replace(CFG, dtype="float32"),
                               progress=False)
    assert (summary.extracted, summary.skipped, summary.already) == (20, 0, 0)
    loaded = load_clips(records, tiny_world, tiny_backbone.num_frames, transform=tiny_backbone.preprocess,
                        workers=0, progress=False)
    with torch.no_grad():
        direct = tiny_backbone.encode_video(loaded.frames)
    cache = FeatureCache(tmp_path / "c")
    ids = [r.id for r in loaded.records]
    assert torch.allclose(cache.read(ids, "frame_tokens"), direct.frame_tokens, atol=1e-5)
    assert torch.allclose(cache.read(ids, "frame_pooled"), direct.frame_pooled, atol=1e-5)
    entry = json.loads((tmp_path / "c" / "index.json").read_text())["clips"][ids[3]]
    assert entry["shape"] == list(direct.frame_tokens.shape[1:]) and len(entry["frame_indices"]) == 4
    # fp16 (the default) stays within half precision of the direct features
    extract_features(tiny_backbone, records, tiny_world, tmp_path / "h", CFG, progress=False)
    half = FeatureCache(tmp_path / "h").read(ids, "frame_tokens")
    assert half.dtype == torch.float16 and torch.allclose(half.float(), direct.frame_tokens, atol=2e-2, rtol=1e-2)


def test_resume_after_crash_equals_uninterrupted_run(tiny_world, tiny_backbone, tmp_path, monkeypatch):
    records = _records(tiny_world)
    extract_features(tiny_backbone, records, tiny_world, tmp_path / "straight", CFG, progress=False)

    real_write = extract_mod.write_json_atomic
    calls = {"n": 0}

    def dies_on_second_index(path, obj):
        calls["n"] += 1
        if calls["n"] == 2:       # shard 1 is on disk, the index that would name it is not
            raise KeyboardInterrupt("killed")
        real_write(path, obj)

    monkeypatch.setattr(extract_mod, "write_json_atomic", dies_on_second_index)
    with pytest.raises(KeyboardInterrupt):
        extract_features(tiny_backbone, records, tiny_world, tmp_path / "crashed", CFG, progress=False)
    monkeypatch.setattr(extract_mod, "write_json_atomic", real_write)
    assert len(FeatureCache(tmp_path / "crashed")) == 16          # only the first shard counts
    resumed = extract_features(tiny_backbone, records, tiny_world, tmp_path / "crashed", CFG, progress=False)
    assert (resumed.already, resumed.extracted) == (16, 24)

    a = json.loads((tmp_path / "straight" / "index.json").read_text())
    b = json.loads((tmp_path / "crashed" / "index.json").read_text())
    assert a == b
    for x, y in zip(_shard_tensors(FeatureCache(tmp_path / "straight")), _shard_tensors(FeatureCache(tmp_path / "crashed"))):
        assert x == y if isinstance(x, list) else torch.equal(x, y)

    again = extract_features(tiny_backbone, records, tiny_world, tmp_path / "crashed", CFG, progress=False)
    assert (again.extracted, again.already) == (0, 40)                  # a finished cache: nothing to do


def test_other_backbone_or_settings_are_refused(tiny_world, tiny_backbone, tmp_path, text_tower):
    from actionkit.backbones.world import WorldBackbone

    records = _records(tiny_world, 8)
    extract_features(tiny_backbone, records, tiny_world, tmp_path / "c", CFG, progress=False)
    torch.manual_seed(5)
    other = WorldBackbone(tiny_backbone.cfg, text_tower).eval()
    with pytest.raises(CacheMismatch, match="fingerprint"):
        extract_features(other, records, tiny_world, tmp_path / "c", CFG, progress=False)
    with pytest.raises(CacheMismatch, match="dtype: cache 'float16' vs requested 'float32'"):
        extract_features(tiny_backbone, records, tiny_world, tmp_path / "c", replace(CFG, dtype="float32"), progress=False)
    with pytest.raises(CacheMismatch, match="extract a cache for this backbone"):
        ClipFeatures.from_cache(tmp_path / "c", records, other)
    with pytest.raises(FileNotFoundError, match="no feature cache"):
        FeatureCache(tmp_path / "nothing-here")


def test_unreadable_clips_are_skipped_and_listed(tiny_world, tiny_backbone, tmp_path):
    records = [replace(r, path=str(tiny_world / r.path)) for r in _records(tiny_world, 10)]
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    records[2] = replace(records[2], path=str(tmp_path / "broken.mp4"))
    records[5] = replace(records[5], path=str(tmp_path / "gone.mp4"))
    outside = replace(CFG, read=ReadOptions(allow_outside_root=True))      # the clips live in another folder
    s = extract_features(tiny_backbone, records, tmp_path, tmp_path / "c", outside, progress=False)
    assert (s.extracted, s.skipped) == (8, 2)
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    assert set(index["skipped"]) == {records[2].id, records[5].id}
    assert "file not found" in index["skipped"][records[5].id]["reason"]
    features = ClipFeatures.from_cache(tmp_path / "c", records, tiny_backbone)
    assert len(features) == 8 and {x.id for x in features.skipped} == {records[2].id, records[5].id}
    again = extract_features(tiny_backbone, records, tmp_path, tmp_path / "c", outside, progress=False)
    assert again.extracted == 0 and again.already == 10                 # listed skips are not retried...
    (tmp_path / "gone.mp4").write_bytes((tiny_world / _records(tiny_world, 1)[0].path).read_bytes())
    retried = extract_features(tiny_backbone, records, tmp_path, tmp_path / "c",
                               replace(outside, retry_skipped=True), progress=False)
    assert (retried.extracted, retried.skipped) == (1, 1)               # ...unless asked: the file is back now
    index = json.loads((tmp_path / "c" / "index.json").read_text())
    assert records[5].id in index["clips"] and set(index["skipped"]) == {records[2].id}


def test_probe_and_patch_from_the_cache_match_the_video_path(tiny_world, tiny_backbone, tmp_path, capsys):
    from dataclasses import replace as with_

    from actionkit.methods.checkpoint import base_reference
    from actionkit.methods.paxion.method import PAXION, PaxionConfig
    from actionkit.methods.training import train_method

    tiny_backbone.save(tmp_path / "bb")
    common = ["--data", str(tiny_world), "--weights", str(tmp_path / "bb"), "--workers", "0", "--no-progress"]
    assert main(["extract", *common, "--out", str(tmp_path / "c"), "--dtype", "float32", "--shard-size", "16"]) == 0
    assert "60 of 60 clips extracted" in capsys.readouterr().out
    assert main(["probe", *common, "--split", "all", "--out", str(tmp_path / "videos.json")]) == 0
    assert main(["probe", *common, "--split", "all", "--features", str(tmp_path / "c"),
                 "--out", str(tmp_path / "cached.json")]) == 0
    videos, cached = (json.loads((tmp_path / f).read_text())["models"] for f in ("videos.json", "cached.json"))
    for probe in ("action_antonym", "video_reversal", "object_replacement"):
        assert cached["world"][probe]["accuracy"] == pytest.approx(videos["world"][probe]["accuracy"], abs=1e-9)

    # fp16 cache: the patcher sees exactly the tokens of the in-memory path, so training is identical
    extract_features(tiny_backbone, read_manifest(tiny_world / "manifest.jsonl"), tiny_world, tmp_path / "h", CFG,
                     progress=False)
    small = PaxionConfig(num_latents=4, dim=16, heads=2, text_latents=2)
    cfg = with_(PAXION.train_defaults, epochs=1, batch_size=8)
    train = read_manifest(tiny_world / "manifest.jsonl", split="train")
    ref = base_reference("world", tmp_path / "bb")
    in_memory = ClipFeatures.extract(tiny_backbone, train, tiny_world, workers=0, progress=False)
    a = train_method(PAXION, tiny_backbone, ref, in_memory, tmp_path / "pa", small, cfg, progress=False)
    b = train_method(PAXION, tiny_backbone, ref, ClipFeatures.from_cache(tmp_path / "h", train, tiny_backbone),
                     tmp_path / "pb", small, cfg, progress=False)
    assert a["final"] == b["final"] and a["train_clips"] == b["train_clips"]

    other = tmp_path / "bb2"
    torch.manual_seed(9)
    replace_weights = {k: torch.randn_like(v) for k, v in tiny_backbone.state_dict().items()}
    tiny_backbone.load_state_dict(replace_weights)
    tiny_backbone.save(other)
    assert main(["probe", "--data", str(tiny_world), "--weights", str(other), "--workers", "0", "--no-progress",
                 "--features", str(tmp_path / "c")]) == 2
    assert "extract a cache for this backbone" in capsys.readouterr().err


def test_manifest_clips_missing_from_the_cache_are_skipped(tiny_world, tiny_backbone, tmp_path):
    records = _records(tiny_world, 12)
    extract_features(tiny_backbone, records[:8], tiny_world, tmp_path / "c", CFG, progress=False)
    result = run_actionbench(tiny_backbone, records, tiny_world, progress=False,
                             features=ClipFeatures.from_cache(tmp_path / "c", records, tiny_backbone))
    assert result.n_clips == 8 and [s.reason for s in result.skipped] == ["not in the feature cache"] * 4

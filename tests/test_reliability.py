"""Reliability: hostile media through every entry point, crashing and hanging decoders, kill -9
in the middle of long jobs, pickle checkpoints, paths that leave the video root."""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import torch

from actionkit.cli import main
from actionkit.data import clips as clips_mod
from actionkit.data.clips import ReadOptions, iter_clip_batches
from actionkit.data.manifest import read_manifest, write_manifest
from actionkit.features.cache import FeatureCache
from actionkit.checkpoint import PickleCheckpoint, load_tensors
from actionkit.video.decode import decode_all_frames
from actionkit.video.hostile import write_hostile_corpus


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, tiny_world):
    """A corpus folder with one clip record per hostile case (captions borrowed from the world)."""
    root = tmp_path_factory.mktemp("hostile")
    cases = write_hostile_corpus(root / "videos")
    world = read_manifest(tiny_world / "manifest.jsonl")
    records = [replace(world[i], id=f"case{i:02d}", path=case.path, split="test") for i, case in enumerate(cases)]
    write_manifest(root / "manifest.jsonl", records)
    return root, {r.id: case for r, case in zip(records, cases)}


@pytest.fixture(scope="module")
def weights(tmp_path_factory, text_tower):
    from actionkit.backbones.world import WorldBackbone, WorldBackboneConfig

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("bb")
    WorldBackbone(WorldBackboneConfig(num_frames=4, width=8, token_dim=16, embed_dim=16), text_tower).save(out)
    return out


def _check_outcomes(cases, skipped_ids, read_ids):
    for cid, case in cases.items():
        if case.expect == "ok":
            assert cid in read_ids, case.name
        elif case.expect == "skip":
            assert cid in skipped_ids, case.name
        assert (cid in read_ids) != (cid in skipped_ids), case.name      # each case exactly once: nothing lost


def test_every_media_entry_point_reads_or_skips_each_hostile_case(hostile, weights, tmp_path, capsys):
    root, cases = hostile
    common = ["--data", str(root / "manifest.jsonl"), "--videos", str(root / "videos"), "--weights", str(weights),
              "--workers", "2", "--no-progress", "--timeout", "30"]
    assert main(["probe", *common, "--split", "all", "--out", str(tmp_path / "probe.json")]) == 0
    probe = json.loads((tmp_path / "probe.json").read_text())
    skipped = {s["id"]: s["reason"] for s in probe["skipped_items"]}
    assert probe["skipped"] == len(skipped) and probe["n_clips"] == len(cases) - len(skipped)
    _check_outcomes(cases, set(skipped), set(cases) - set(skipped))
    assert "no video stream" in skipped[next(c for c, k in cases.items() if k.name == "audio only")]
    assert "exceeds the limit" in skipped[next(c for c, k in cases.items() if k.name.startswith("enormous"))]
    assert "symbolic link" in skipped[next(c for c, k in cases.items() if k.name == "symlink loop")]

    assert main(["extract", *common, "--out", str(tmp_path / "cache")]) == 0
    cache = FeatureCache(tmp_path / "cache")
    _check_outcomes(cases, set(cache.skipped), set(cache.clips))
    assert set(cache.skipped) == set(skipped)

    assert main(["eval", *common, "--task", "retrieval", "--split", "all", "--out", str(tmp_path / "eval.json")]) == 0
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    assert {s["id"] for s in evaluated["skipped_items"]} == set(skipped)

    capsys.readouterr()
    assert main(["probe", *common, "--split", "all", "--strict"]) == 2
    assert "(strict mode)" in capsys.readouterr().err


def test_world_generate_over_a_folder_with_bad_files_renders_them_again(tmp_path):
    from actionkit.world.generate import WorldConfig, generate_world

    cfg = WorldConfig(seed=3, num_frames=8)
    generate_world(tmp_path / "ref", 12, cfg, workers=1, progress=False)
    generate_world(tmp_path / "w", 12, cfg, workers=1, progress=False)
    clips = sorted((tmp_path / "w" / "clips").glob("*.mp4"))
    clips[0].write_bytes(b"")                                       # zero bytes
    clips[1].write_bytes(clips[1].read_bytes()[:300])               # truncated
    clips[2].write_text("not a video")                              # text
    clips[3].unlink()
    clips[3].symlink_to(clips[3].name)                              # a link to itself
    write_hostile_corpus(tmp_path / "h")
    (tmp_path / "h" / "one_frame.mp4").replace(clips[4])            # a real video, wrong frame count
    summary = generate_world(tmp_path / "w", 12, cfg, workers=1, progress=False)
    assert sorted(cid for cid, _ in summary.replaced) == sorted(c.stem for c in clips[:5])
    assert summary.written == 5 and not summary.failed
    for ref, got in zip(sorted((tmp_path / "ref" / "clips").glob("*.mp4")), clips):
        a, b = decode_all_frames(ref).astype(int), decode_all_frames(got).astype(int)
        assert a.shape == b.shape and np.abs(a - b).mean() < 8
    assert (tmp_path / "w" / "manifest.jsonl").read_text() == (tmp_path / "ref" / "manifest.jsonl").read_text()


def _fake_decode(path, *args, **kwargs):
    """Decoder that hangs on hang.mp4 and kills its own process on crash.mp4."""
    name = os.path.basename(str(path))
    if name == "hang.mp4":
        time.sleep(60)
    if name == "crash.mp4":
        os.kill(os.getpid(), signal.SIGKILL)    # dies as a segfaulting FFmpeg would (without the faulthandler dump)
    return torch.zeros(4, 3, 8, 8, dtype=torch.uint8), [0, 1, 2, 3]


def test_a_hanging_or_crashing_decoder_costs_only_its_clip(tiny_world, monkeypatch):
    from actionkit.data.manifest import ClipRecord

    monkeypatch.setattr(clips_mod, "decode_clip", _fake_decode)      # inherited by the forked workers
    names = ["a.mp4", "hang.mp4", "b.mp4", "crash.mp4", "c.mp4", "d.mp4"]
    records = [ClipRecord(id=n.split(".")[0], path=n, caption="c", verb="v", split="test") for n in names]
    skipped = []
    start = time.time()
    batches = list(iter_clip_batches(records, tiny_world, 4, batch_size=2, workers=2, progress=False,
                                     skipped=skipped, read=ReadOptions(timeout_s=2)))
    assert time.time() - start < 30
    assert [records[i].id for b in batches for i in b.index.tolist()] == ["a", "b", "c", "d"]
    reasons = {s.id: s.reason for s in skipped}
    assert "timed out after 2 s" in reasons["hang"]
    assert "worker died" in reasons["crash"]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}     # the same float reductions in every run compared


def _run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _run_and_kill(cmd, ready, timeout=120):
    """Start ``cmd``, SIGKILL it once ``ready()`` holds; returns the killed process's exit code."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"finished before it could be killed: {proc.stderr.read()[-2000:]}")
        if time.time() > deadline:
            proc.kill()
            raise AssertionError("never got ready")
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    return proc.wait()


CLI = [sys.executable, "-m", "actionkit.cli"]


def test_kill_9_during_world_generate_then_rerun_equals_uninterrupted(tmp_path):
    args = ["world", "generate", "--n", "400", "--frames", "8", "--seed", "5", "--workers", "1", "--no-progress"]
    assert _run_and_kill(CLI + args + ["--out", str(tmp_path / "k")],
                         lambda: len(list((tmp_path / "k" / "clips").glob("*.mp4"))) >= 20) == -9
    assert main(args + ["--out", str(tmp_path / "k")]) == 0
    assert main(args + ["--out", str(tmp_path / "u")]) == 0
    assert (tmp_path / "k" / "manifest.jsonl").read_text() == (tmp_path / "u" / "manifest.jsonl").read_text()
    ref = sorted((tmp_path / "u" / "clips").glob("*.mp4"))
    got = sorted((tmp_path / "k" / "clips").glob("*.mp4"))
    assert [p.name for p in ref] == [p.name for p in got] and len(ref) == 400
    for a, b in zip(ref[::40], got[::40]):
        assert np.abs(decode_all_frames(a).astype(int) - decode_all_frames(b).astype(int)).mean() < 8


def test_kill_9_during_extract_then_rerun_equals_uninterrupted(tiny_world, weights, tmp_path):
    args = ["extract", "--data", str(tiny_world), "--weights", str(weights), "--workers", "0", "--no-progress",
            "--shard-size", "1", "--batch-size", "1", "--dtype", "float32"]

    def two_shards():
        index = tmp_path / "k" / "index.json"
        return index.is_file() and len(json.loads(index.read_text())["shards"]) >= 2

    assert _run_and_kill(CLI + args + ["--out", str(tmp_path / "k")], two_shards) == -9
    assert 0 < len(FeatureCache(tmp_path / "k")) < 60
    assert main(args + ["--out", str(tmp_path / "k")]) == 0
    assert main(args + ["--out", str(tmp_path / "u")]) == 0
    a, b = FeatureCache(tmp_path / "k"), FeatureCache(tmp_path / "u")
    assert sorted(a.clips) == sorted(b.clips) and len(a) == 60
    ids = sorted(a.clips)
    for name in ("frame_tokens", "frame_pooled"):
        assert torch.equal(a.read(ids, name), b.read(ids, name))


def test_kill_9_during_patch_then_resume_equals_uninterrupted(tiny_world, weights, tmp_path):
    assert main(["extract", "--data", str(tiny_world), "--weights", str(weights), "--workers", "0", "--no-progress",
                 "--out", str(tmp_path / "cache")]) == 0
    args = ["patch", "--data", str(tiny_world), "--weights", str(weights), "--features", str(tmp_path / "cache"),
            "--epochs", "60", "--batch-size", "8", "--latents", "4", "--dim", "16", "--heads", "2",
            "--workers", "0", "--no-progress"]

    def checkpointed():
        state = tmp_path / "k" / "checkpoint" / "state.json"
        return state.is_file() and json.loads(state.read_text())["step"] >= 40

    assert _run_and_kill(CLI + args + ["--out", str(tmp_path / "k")], checkpointed) == -9
    assert not (tmp_path / "k" / "heads.safetensors").exists()
    _run(CLI + args + ["--out", str(tmp_path / "k"), "--resume"])
    _run(CLI + args + ["--out", str(tmp_path / "u")])
    a, b = load_tensors(tmp_path / "k" / "heads.safetensors"), load_tensors(tmp_path / "u" / "heads.safetensors")
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name


def test_pickle_checkpoints_are_refused_with_how_to_convert(tmp_path, weights, capsys):
    (tmp_path / "evil").mkdir()
    with open(tmp_path / "evil" / "model.pt", "wb") as f:
        pickle.dump({"w": [1.0]}, f)
    with pytest.raises(PickleCheckpoint, match=r"never unpickles.*weights_only=True"):
        load_tensors(tmp_path / "evil" / "model.pt")
    renamed = tmp_path / "evil" / "model.safetensors"          # a pickle under a safetensors name
    renamed.write_bytes((tmp_path / "evil" / "model.pt").read_bytes())
    with pytest.raises(PickleCheckpoint):
        load_tensors(renamed)
    renamed.unlink()
    assert main(["probe", "--data", str(tmp_path), "--weights", str(tmp_path / "evil")]) == 2
    assert "pickle-based checkpoint" in capsys.readouterr().err
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    (tmp_path / "hf" / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    assert main(["probe", "--data", str(tmp_path), "--backbone", f"hf-clip:{tmp_path / 'hf'}"]) == 2
    assert "pytorch_model.bin is a pickle-based checkpoint" in capsys.readouterr().err


def test_paths_leaving_the_video_root_are_refused_unless_allowed(tiny_world, weights, tmp_path):
    records = read_manifest(tiny_world / "manifest.jsonl")[:4]
    outside = tmp_path / "outside.mp4"
    outside.write_bytes((tiny_world / records[0].path).read_bytes())
    rows = [replace(records[1], id="dotdot", path="../outside.mp4"),
            replace(records[2], id="absolute", path=str(outside)), records[3]]
    root = tmp_path / "root"
    (root / "clips").mkdir(parents=True)
    (root / records[3].path).write_bytes((tiny_world / records[3].path).read_bytes())
    write_manifest(root / "manifest.jsonl", rows)
    common = ["--data", str(root), "--weights", str(weights), "--workers", "0", "--no-progress", "--split", "all"]
    assert main(["probe", *common, "--out", str(tmp_path / "p.json")]) == 0
    report = json.loads((tmp_path / "p.json").read_text())
    assert {s["id"] for s in report["skipped_items"]} == {"dotdot", "absolute"}
    assert all("leaves the video root" in s["reason"] for s in report["skipped_items"])
    assert main(["probe", *common, "--allow-outside-root", "--out", str(tmp_path / "q.json")]) == 0
    assert json.loads((tmp_path / "q.json").read_text())["n_clips"] == 3


# --- property tests: arbitrary annotation files never crash a reader --------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from actionkit.data.ego4d import read_ego4d  # noqa: E402
from actionkit.data.generic_jsonl import read_generic_jsonl  # noqa: E402
from actionkit.data.kinetics import read_kinetics  # noqa: E402
from actionkit.data.manifest import ManifestError  # noqa: E402
from actionkit.data.mmaction import read_mmaction_list  # noqa: E402
from actionkit.data.ssv2 import read_ssv2  # noqa: E402
from actionkit.eval.sets import read_class_list, read_counterfactuals, read_mcqa  # noqa: E402

READERS = {
    "manifest.jsonl": read_manifest, "generic.jsonl": read_generic_jsonl, "ego4d.jsonl": read_ego4d,
    "kinetics.csv": read_kinetics, "list.txt": read_mmaction_list, "ssv2.json": read_ssv2,
    "classes.txt": read_class_list, "qa.jsonl": read_mcqa, "cf.jsonl": read_counterfactuals,
}
_json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=8)
_keys = st.sampled_from(["id", "path", "caption", "verb", "split", "start", "end", "question", "candidates", "answer",
                         "counterfactuals", "video_uid", "clip_start_sec", "clip_end_sec", "narration_text",
                         "template", "placeholders", "label", "object", "type", "num_candidates"])
_rows = st.lists(st.dictionaries(_keys, _json_value, max_size=8), max_size=4)


def _only_documented_errors(name, content, tmp_path):
    path = tmp_path / name
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    try:
        result = READERS[name](path)
    except ManifestError as e:
        assert str(path) in str(e)          # the documented error names the file
        return
    assert isinstance(result, list)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(READERS)), content=st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_bytes_or_text_only_give_the_documented_error(name, content, tmp_path):
    _only_documented_errors(name, content, tmp_path)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["manifest.jsonl", "generic.jsonl", "ego4d.jsonl", "qa.jsonl", "cf.jsonl"]), rows=_rows)
def test_malformed_json_rows_only_give_the_documented_error(name, rows, tmp_path):
    _only_documented_errors(name, "\n".join(json.dumps(r) for r in rows), tmp_path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows)
def test_malformed_ssv2_items_only_give_the_documented_error(rows, tmp_path):
    _only_documented_errors("ssv2.json", json.dumps(rows), tmp_path)

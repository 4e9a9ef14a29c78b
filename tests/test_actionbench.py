import json
from dataclasses import replace

import torch

from actionkit.data.clips import ReadOptions
from actionkit.data.manifest import ClipRecord, read_manifest, write_manifest
from conftest import TableText

from actionkit.features.embeddings import ClipEmbeddings
from actionkit.probes.actionbench import run_actionbench, score_actionbench


def _record(i: int, verb: str) -> ClipRecord:
    return ClipRecord(id=str(i), path=f"{i}.mp4", caption=f"c{i}", verb=verb, antonym_caption=f"a{i}",
                      object_replaced_caption=f"o{i}", object="x", colour="red", split="test")


def test_scores_from_hand_made_embeddings():
    records = [_record(0, "open"), _record(1, "open"), _record(2, "close")]
    e = torch.eye(3)
    video = e.clone()
    reversed_video = torch.stack([e[0], e[2], e[1]])   # clip 0: exact tie; clips 1, 2: reversal scores lower
    text = {
        "c0": e[0], "a0": e[1], "o0": e[0],              # antonym loses (1 > 0); replaced ties (1 = 1)
        "c1": e[1], "a1": e[1] * 2, "o1": e[0],          # antonym wins (2 > 1): wrong
        "c2": e[2], "a2": e[0], "o2": e[0],
    }
    results = score_actionbench(TableText(text), ClipEmbeddings(records, video, reversed_video)).results
    assert results["action_antonym"].accuracy == 2 / 3
    assert results["action_antonym"].per_verb["open"]["accuracy"] == 0.5
    assert results["video_reversal"].accuracy == (0.5 + 1 + 1) / 3
    assert results["object_replacement"].accuracy == (0.5 + 1 + 1) / 3
    assert results["object_replacement"].n == 3


def test_probe_skips_unreadable_clips_and_counts_them(tiny_world, tiny_backbone, tmp_path):
    records = read_manifest(tiny_world / "manifest.jsonl")[:6]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    bad = [
        replace(records[0], id="missing", path=str(tmp_path / "missing.mp4")),
        replace(records[1], id="broken", path=str(broken)),
    ]
    # outside the video root: refused (skipped with the reason) unless allowed
    result = run_actionbench(tiny_backbone, records + bad, tiny_world, batch_size=4, workers=0, progress=False)
    assert result.n_clips == 6 and all("leaves the video root" in s.reason for s in result.skipped)
    result = run_actionbench(tiny_backbone, records + bad, tiny_world, batch_size=4, workers=0, progress=False,
                             read=ReadOptions(allow_outside_root=True))
    assert result.n_clips == 6
    assert sorted(s.id for s in result.skipped) == ["broken", "missing"]
    assert "not found" in next(s.reason for s in result.skipped if s.id == "missing")
    out = result.to_dict()
    assert set(out) == {"action_antonym", "video_reversal", "object_replacement"}
    # mean pooling: a reversed clip has the same embedding, so every reversal is a tie
    assert out["video_reversal"]["accuracy"] == 0.5
    json.dumps(out)


def test_probe_cli_writes_json_and_reports_bad_rows(tiny_world, tiny_backbone, tmp_path, capsys):
    from actionkit.cli import main

    tiny_backbone.save(tmp_path / "ckpt")
    out = tmp_path / "probe.json"
    code = main(["probe", "--data", str(tiny_world), "--weights", str(tmp_path / "ckpt"), "--split", "all",
                 "--out", str(out), "--workers", "0", "--no-progress"])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["n_clips"] == 60 and report["skipped"] == 0
    assert "Action Antonym" in capsys.readouterr().out

    records = read_manifest(tiny_world / "manifest.jsonl")[:2]
    manifest = tmp_path / "bad.jsonl"
    write_manifest(manifest, records)
    manifest.write_text(manifest.read_text() + '{"id": "x"}\n')
    code = main(["probe", "--data", str(manifest), "--videos", str(tiny_world), "--weights",
                 str(tmp_path / "ckpt"), "--no-progress"])
    assert code == 2
    assert "bad.jsonl:3: missing field(s)" in capsys.readouterr().err


def test_clips_without_an_antonym_are_left_out_of_that_probe_only():
    records = [_record(0, "open"), replace(_record(1, "open"), antonym_caption="")]
    e = torch.eye(2)
    text = {"c0": e[0], "a0": e[1], "o0": e[1], "c1": e[1], "o1": e[0]}
    results = score_actionbench(TableText(text), ClipEmbeddings(records, e, e.flip(0))).results
    assert results["action_antonym"].n == 1 and results["action_antonym"].accuracy == 1.0
    assert results["video_reversal"].n == 2 and results["object_replacement"].n == 2


def test_clip_window_from_the_record_is_honoured(tmp_path):
    import numpy as np

    from actionkit.data.clips import load_clips
    from actionkit.video import write_mp4

    frames = np.stack([np.full((32, 32, 3), 10 * i, dtype=np.uint8) for i in range(16)])  # 8 fps, 2 s
    write_mp4(tmp_path / "v.mp4", frames, fps=8)
    whole, window = (replace(_record(0, "open"), path="v.mp4", start=start) for start in (None, 1.0))
    loaded = load_clips([whole, window], tmp_path, num_frames=4, workers=0, progress=False)
    assert loaded.frames[0].float().mean() < 80 < loaded.frames[1].float().mean()   # grey 0..150 vs 80..150
    assert loaded.frames[1].float().min() >= 75

import json

from actionkit.cli import main

PROBES = {"action_antonym", "video_reversal", "object_replacement"}


def test_quick_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0

    report = json.loads((out / "report.json").read_text())
    assert report["split"] == "test"
    assert isinstance(report["wall_seconds"], float) and report["wall_seconds"] > 0
    assert report["n_clips"] > 0 and report["skipped"] == 0
    backbone = report["models"]["backbone"]
    assert set(backbone) == PROBES
    for probe in PROBES:
        r = backbone[probe]
        assert 0 <= r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] <= 1
        assert r["n"] == report["n_clips"]
        assert sum(v["n"] for v in r["per_verb"].values()) == r["n"]
    assert backbone["video_reversal"]["accuracy"] == 0.5   # mean pooling cannot see order
    assert "| backbone |" in (out / "report.md").read_text()
    assert (out / "probe_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report:" in capsys.readouterr().out

    # A rerun resumes: the world and the backbone are reused, the report is rewritten.
    checkpoint = out / "backbone" / "model.safetensors"
    before = checkpoint.stat().st_mtime_ns
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert checkpoint.stat().st_mtime_ns == before
    assert json.loads((out / "report.json").read_text())["models"] == report["models"]

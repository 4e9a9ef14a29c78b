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
    assert list(report["models"]) == ["backbone", "patched"]
    families = report["families"]
    assert set(families) == {"state", "dynamics", "dynamics/order_only", "dynamics/not_order_only"}
    symmetric = families["dynamics/not_order_only"]["models"]["backbone"]["action_antonym"]["n"]
    assert symmetric > 0                         # time-symmetric clips: left out of Video Reversal
    for model in report["models"].values():
        assert set(model) == PROBES
        for probe in PROBES:
            r = model[probe]
            assert 0 <= r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] <= 1
            assert r["n"] == report["n_clips"] - (symmetric if probe == "video_reversal" else 0)
            assert sum(v["n"] for v in r["per_verb"].values()) == r["n"]
    assert set(report["controls"]) == {"last_frame", "first_frame", "shuffled"}
    assert (families["state"]["models"]["patched"]["action_antonym"]["n"]
            + families["dynamics"]["models"]["patched"]["action_antonym"]["n"]) == report["n_clips"]
    # Video Reversal ties by construction for the frozen mean-pooling backbone, and for any model
    # given one repeated frame (it reverses to itself)
    order_only = families["dynamics/order_only"]
    assert order_only["models"]["backbone"]["video_reversal"]["accuracy"] == 0.5
    assert order_only["controls"]["last_frame"]["models"]["patched"]["video_reversal"]["accuracy"] == 0.5
    assert report["models"]["backbone"]["video_reversal"]["accuracy"] == 0.5   # mean pooling cannot see order
    assert report["models"]["patched"]["video_reversal"]["accuracy"] != 0.5    # the patcher can
    markdown = (out / "report.md").read_text()
    assert "| backbone |" in markdown and "| patched |" in markdown and "### dynamics/order_only" in markdown
    assert (out / "probe_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "report:" in capsys.readouterr().out

    # A rerun resumes: the world, the backbone and the patcher are reused, the report is rewritten.
    checkpoints = [out / "backbone" / "model.safetensors", out / "patcher" / "heads.safetensors"]
    before = [c.stat().st_mtime_ns for c in checkpoints]
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    assert [c.stat().st_mtime_ns for c in checkpoints] == before
    assert json.loads((out / "report.json").read_text())["models"] == report["models"]

"""Tests for actionkit.report (atomic IO, Markdown, bar chart)."""

from __future__ import annotations

import json
from pathlib import Path

from actionkit.report import (
    per_verb_markdown,
    probe_bar_chart,
    probe_table_markdown,
    report_markdown,
    write_json_atomic,
    write_text_atomic,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _probe(acc: float, lo: float, hi: float, verbs: dict[str, float]) -> dict:
    return {
        "accuracy": acc,
        "ci95": [lo, hi],
        "n": 40,
        "per_verb": {v: {"accuracy": a, "ci95": [0.0, 1.0], "n": 10} for v, a in verbs.items()},
    }


def _models() -> dict:
    return {
        "backbone": {
            "action_antonym": _probe(0.512, 0.47, 0.553, {"open": 0.6, "close": 0.4}),
            "video_reversal": _probe(0.5, 0.45, 0.55, {"open": 0.5, "close": 0.5}),
            "object_replacement": _probe(0.9, 0.85, 0.94, {"open": 0.9}),
        },
        "patched": {
            "action_antonym": _probe(0.775, 0.73, 0.81, {"open": 0.8, "push": 0.75}),
            "video_reversal": _probe(0.61, 0.56, 0.66, {"open": 0.7}),
            "object_replacement": _probe(0.875, 0.83, 0.91, {"open": 0.85}),
        },
    }


def test_write_json_atomic_roundtrip_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "dir" / "report.json"
    obj = {"a": 1, "b": [0.5, 0.25], "c": {"d": "x"}}
    write_json_atomic(target, obj)
    assert json.loads(target.read_text()) == obj
    assert target.read_text().startswith('{\n  "a"')  # indent=2
    write_json_atomic(target, {"a": 2})  # overwrite
    assert json.loads(target.read_text()) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_write_text_atomic(tmp_path: Path) -> None:
    target = tmp_path / "x" / "r.md"
    write_text_atomic(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert [p.name for p in target.parent.iterdir()] == ["r.md"]


def test_probe_table_markdown() -> None:
    md = probe_table_markdown(_models())
    lines = md.strip().splitlines()
    assert len(lines) == 4  # header, separator, two models
    assert "Action Antonym" in lines[0] and "Object Replacement" in lines[0]
    assert lines[2].startswith("| backbone |")
    assert "0.512 [0.47, 0.55]" in lines[2]
    assert "0.500 [0.45, 0.55]" in lines[2]
    assert lines[3].startswith("| patched |")
    assert "0.775 [0.73, 0.81]" in lines[3]


def test_per_verb_markdown() -> None:
    md = per_verb_markdown(_models(), "action_antonym")
    lines = md.strip().splitlines()
    assert lines[0] == "| verb | backbone | patched |"
    assert lines[2:] == [
        "| close | 0.400 | - |",
        "| open | 0.600 | 0.800 |",
        "| push | - | 0.750 |",
    ]


def test_report_markdown() -> None:
    report = {
        "split": "test",
        "wall_seconds": 12.34,
        "n_clips": 40,
        "skipped": 25,
        "config": {"ignored": True},
        "models": _models(),
        "skipped_items": [{"id": f"c{i}", "path": f"v/{i}.mp4", "reason": "decode"} for i in range(25)],
    }
    md = report_markdown(report)
    assert md.startswith("# actionkit report")
    assert "test" in md and "40" in md and "12.3" in md
    assert "backbone" in md and "patched" in md
    assert "0.512 [0.47, 0.55]" in md and "0.610 [0.56, 0.66]" in md
    assert "chance = 0.50; ties count 0.5" in md
    assert "ignored" not in md
    assert "c19" in md and "c20" not in md  # only 20 listed
    md_plain = report_markdown({k: v for k, v in report.items() if k != "skipped_items"})
    assert "v/0.mp4" not in md_plain


def test_probe_bar_chart_one_and_two_models(tmp_path: Path) -> None:
    models = _models()
    for name, subset in (("one.png", {"backbone": models["backbone"]}), ("two.png", models)):
        out = tmp_path / "plots" / name
        probe_bar_chart(subset, out)
        data = out.read_bytes()
        assert len(data) > 1000
        assert data[:8] == PNG_MAGIC
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["one.png", "two.png"]


def test_downstream_table_rows_per_metric_and_std():
    from actionkit.report import downstream_table_markdown

    table = downstream_table_markdown({
        "backbone": {"fewshot": {"linear_2shot": 0.5, "linear_2shot_std": 0.1}, "rcad": {"R@1": 0.25, "MnR": 3.0, "n": 8}},
        "patched": {"rcad": {"R@1": 0.75, "MnR": 1.25, "n": 8}}})
    lines = table.splitlines()
    assert lines[0] == "| task | metric | backbone | patched |"
    assert "| fewshot | linear_2shot | 0.500 +- 0.100 | - |" in lines
    assert "| rcad | MnR | 3.0 | 1.2 |" in lines and not any("| n |" in line for line in lines)

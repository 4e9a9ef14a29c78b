import json

import pytest

from actionkit.data.manifest import OPTIONAL_TEXT_FIELDS, REQUIRED_FIELDS, ClipRecord, ManifestError, read_manifest, write_manifest


def _row(i: int, **over) -> dict:
    row = {k: f"{k}-{i}" for k in REQUIRED_FIELDS + OPTIONAL_TEXT_FIELDS}
    row.update({"path": f"clips/{i}.mp4", "split": "test", **over})
    return row


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_round_trip_keeps_extra_fields(tmp_path):
    records = [ClipRecord(**_row(0), extra={"verb_pair": "open_close"})]
    write_manifest(tmp_path / "m.jsonl", records)
    back = read_manifest(tmp_path / "m.jsonl")
    assert back == records and back[0].extra == {"verb_pair": "open_close"}


def test_split_filter_and_blank_lines(tmp_path):
    path = _write(tmp_path / "m.jsonl", [_row(0), "", _row(1, split="train")])
    assert [r.id for r in read_manifest(path, split="train")] == ["id-1"]


@pytest.mark.parametrize("bad, problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({k: v for k, v in _row(1).items() if k != "caption"}), "missing field(s) caption"),
    (json.dumps(_row(1, split="dev")), "split 'dev'"),
    (json.dumps(_row(1, verb=3)), "verb must be non-empty strings"),
    (json.dumps(_row(0)), "duplicate id 'id-0' (first on line 1)"),
    (json.dumps(_row(1, antonym_caption=5)), "antonym_caption must be strings or null"),
    (json.dumps(_row(1, start=-1)), "start must be non-negative numbers of seconds"),
    (json.dumps(_row(1, start=2.0, end=1.0)), "end (1.0) must be after start (2.0)"),
])
def test_malformed_row_names_file_line_and_problem(tmp_path, bad, problem):
    path = _write(tmp_path / "m.jsonl", [_row(0), bad])
    with pytest.raises(ManifestError) as e:
        read_manifest(path)
    assert "m.jsonl:2: " in str(e.value) and problem in str(e.value)
    assert e.value.line == 2


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="manifest file not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_antonym_and_replaced_captions_are_optional(tmp_path):
    row = {k: v for k, v in _row(0).items() if k != "antonym_caption"}
    path = _write(tmp_path / "m.jsonl", [row, _row(1, object_replaced_caption=None)])
    first, second = read_manifest(path)
    assert first.antonym_caption == "" and first.object_replaced_caption == "object_replaced_caption-0"
    assert second.object_replaced_caption == ""


def test_clip_window_round_trips(tmp_path):
    path = _write(tmp_path / "m.jsonl", [_row(0, start=1.5, end=3)])
    (record,) = read_manifest(path)
    assert (record.start, record.end) == (1.5, 3.0)
    write_manifest(tmp_path / "n.jsonl", [record])
    assert read_manifest(tmp_path / "n.jsonl")[0] == record

"""Tests for the annotation readers (Ego4D, Kinetics, mmaction2, generic JSONL) and clip-window checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from actionkit.data.clips import load_clips
from actionkit.data.ego4d import narration_caption, read_ego4d
from actionkit.data.generic_jsonl import read_generic_jsonl
from actionkit.data.kinetics import read_class_list, read_kinetics
from actionkit.data.manifest import ClipRecord, ManifestError
from actionkit.data.mmaction import read_mmaction_list
from actionkit.data.validate import OUTSIDE, UNREADABLE, check_clip_windows
from actionkit.video import write_mp4


def _write(path, lines: list) -> object:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def _assert_error(exc: pytest.ExceptionInfo, name: str, line: int, problem: str) -> None:
    assert f"{name}:{line}: " in str(exc.value), str(exc.value)
    assert problem in str(exc.value), str(exc.value)
    assert exc.value.line == line


# --- Ego4D ------------------------------------------------------------------

EGO_OK = {"video_uid": "v1", "clip_uid": "c1", "clip_start_sec": 1.5, "clip_end_sec": 3.0,
          "narration_text": "#C C opens the drawer  ", "verb": "open", "noun": "drawer", "split": "train",
          "narration_pass": "narration_pass_1"}
EGO_DEFAULTS = {"video_uid": "v2", "clip_start_sec": 0, "clip_end_sec": 2,
                "narration_text": "#O man X picks a cup", "verb": "pick", "noun": "cup"}


def test_ego4d_happy_path(tmp_path):
    path = _write(tmp_path / "narr.jsonl", [EGO_OK, "", EGO_DEFAULTS])
    first, second = read_ego4d(path)
    assert (first.id, first.path, first.caption, first.verb, first.object, first.split) == (
        "c1", "v1.mp4", "opens the drawer", "open", "drawer", "train")
    assert (first.start, first.end) == (1.5, 3.0)
    assert first.extra == {"video_uid": "v1", "narration_text": "#C C opens the drawer  ",
                           "narration_pass": "narration_pass_1"}
    assert (second.id, second.path, second.caption, second.split) == ("v2_3", "v2.mp4", "man X picks a cup", "test")
    assert (second.start, second.end) == (0.0, 2.0)
    assert read_ego4d(path, video_ext=".mkv")[0].path == "v1.mkv"


def test_narration_markers():
    assert narration_caption("#c c takes a knife") == "takes a knife"
    assert narration_caption("#C C  Opens the door\n") == "Opens the door"
    assert narration_caption("no marker here ") == "no marker here"


@pytest.mark.parametrize("change, problem", [
    ({"video_uid": None}, "missing field video_uid"),
    ({"clip_start_sec": "1.0"}, "clip_start_sec must be a number of seconds, got str"),
    ({"clip_start_sec": -1}, "clip_start_sec must be a non-negative finite number"),
    ({"clip_end_sec": 1.5}, "end (1.5) must be after start (1.5)"),
    ({"narration_text": "#C C  "}, "has no words after its marker"),
    ({"verb": ""}, "field verb must not be empty"),
    ({"noun": 3}, "field noun must be a string, got int"),
    ({"split": "dev"}, "split 'dev' is not one of train, val, test"),
    ({"clip_uid": "c0"}, "duplicate id 'c0' (first on line 1)"),
])
def test_ego4d_malformed(tmp_path, change, problem):
    row = {k: v for k, v in {**EGO_OK, **change}.items() if v is not None}
    path = _write(tmp_path / "narr.jsonl", [{**EGO_OK, "clip_uid": "c0"}, row])
    with pytest.raises(ManifestError) as e:
        read_ego4d(path)
    _assert_error(e, "narr.jsonl", 2, problem)


@pytest.mark.parametrize("bad, problem", [("{oops", "not valid JSON"), ("[1]", "expected a JSON object")])
def test_ego4d_not_json(tmp_path, bad, problem):
    with pytest.raises(ManifestError) as e:
        read_ego4d(_write(tmp_path / "narr.jsonl", [EGO_OK, "", bad]))
    _assert_error(e, "narr.jsonl", 3, problem)


# --- Kinetics ---------------------------------------------------------------

KINETICS_CSV = (
    "label,youtube_id,time_start,time_end,split,is_cc\n"
    '"air drumming",abc123,14,24,train,0\n'
    "\n"
    "abseiling,xyz789,0,10,validate,1\n"
)


def test_kinetics_happy_path(tmp_path):
    path = tmp_path / "k400.csv"
    path.write_text(KINETICS_CSV)
    first, second = read_kinetics(path)
    assert (first.id, first.path, first.caption, first.verb, first.split) == (
        "abc123_000014_000024", "air_drumming/abc123_000014_000024.mp4", "air drumming", "air drumming", "train")
    assert (first.start, first.end) == (None, None)
    assert first.extra == {"is_cc": "0", "youtube_id": "abc123", "time_start": 14.0, "time_end": 24.0}
    assert (second.id, second.path, second.split) == ("xyz789_000000_000010", "abseiling/xyz789_000000_000010.mp4", "val")


def test_kinetics_untrimmed_and_layout(tmp_path):
    path = tmp_path / "k400.csv"
    path.write_text(KINETICS_CSV)
    full = read_kinetics(path, trimmed=False)[0]
    assert (full.path, full.start, full.end) == ("abc123.mp4", 14.0, 24.0)
    assert read_kinetics(path, layout="videos/{label}/{youtube_id}.mkv")[0].path == "videos/air_drumming/abc123.mkv"
    with pytest.raises(ValueError, match="'name'"):
        read_kinetics(path, layout="{name}.mp4")


@pytest.mark.parametrize("row, problem", [
    ("abseiling,q1,0,10,dev,0", "split 'dev' is not one of train, val, validate, test"),
    ("abseiling,q1,x,10,train,0", "time_start 'x' is not a number of seconds"),
    ("abseiling,q1,-2,10,train,0", "time_start must be a non-negative number of seconds"),
    ("abseiling,q1,10,10,train,0", "time_end (10.0) must be after time_start (10.0)"),
    (",q1,0,10,train,0", "empty value(s) in column(s) label"),
    ("abseiling,q1,0,10,train", "expected 6 fields, got 5"),
    ('"air drumming",abc123,14,24,test,0', "duplicate id 'abc123_000014_000024' (first on line 2)"),
])
def test_kinetics_malformed(tmp_path, row, problem):
    path = tmp_path / "k400.csv"
    path.write_text(KINETICS_CSV + row + "\n")
    with pytest.raises(ManifestError) as e:
        read_kinetics(path)
    _assert_error(e, "k400.csv", 5, problem)


def test_kinetics_bad_header(tmp_path):
    path = tmp_path / "k400.csv"
    path.write_text("label,youtube_id,time_start,split\nabseiling,q1,0,train\n")
    with pytest.raises(ManifestError) as e:
        read_kinetics(path)
    _assert_error(e, "k400.csv", 1, "header lacks column(s) time_end")


def test_class_list(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("abseiling\n\nair drumming  \n")
    assert read_class_list(path) == ["abseiling", "air drumming"]
    path.write_text("abseiling\n\nair drumming\nabseiling\n")
    with pytest.raises(ManifestError) as e:
        read_class_list(path)
    _assert_error(e, "classes.txt", 4, "duplicate class 'abseiling' (first on line 1)")


# --- mmaction2 --------------------------------------------------------------

MM_LIST = "# video list\nabseiling/clip1.mp4 0\n\nrawframes/clip2 120 2\n"
CLASSES = ["abseiling", "air drumming", "archery"]


def test_mmaction_both_styles(tmp_path):
    path = tmp_path / "val_list.txt"
    path.write_text(MM_LIST)
    video, frames = read_mmaction_list(path, classes=CLASSES, split="val")
    assert (video.id, video.path, video.caption, video.verb, video.split) == (
        "abseiling/clip1", "abseiling/clip1.mp4", "abseiling", "abseiling", "val")
    assert video.extra == {"label": 0} and (video.start, video.end) == (None, None)
    assert (frames.id, frames.path, frames.caption, frames.split) == ("rawframes/clip2", "rawframes/clip2", "archery", "val")
    assert frames.extra == {"num_frames": 120, "label": 2}
    plain = read_mmaction_list(path)
    assert [(r.caption, r.verb, r.split) for r in plain] == [("0", "0", "test"), ("2", "2", "test")]


@pytest.mark.parametrize("row, problem", [
    ("x.mp4 3", "label 3 is out of range (0..2)"),
    ("x.mp4 -1", "label -1 is out of range"),
    ("x.mp4 abc", "label 'abc' is not an integer"),
    ("x.mp4", "got 1 fields"),
    ("my clip.mp4 1", "num_frames 'clip.mp4' is not an integer"),
    ("x 0 1", "num_frames must be positive"),
    ("abseiling/clip1.avi 1", "duplicate id 'abseiling/clip1' (first on line 2)"),
])
def test_mmaction_malformed(tmp_path, row, problem):
    path = tmp_path / "val_list.txt"
    path.write_text(MM_LIST + row + "\n")
    with pytest.raises(ManifestError) as e:
        read_mmaction_list(path, classes=CLASSES)
    _assert_error(e, "val_list.txt", 5, problem)


# --- generic JSONL ----------------------------------------------------------

GEN_FULL = {"path": "a.mp4", "caption": "Opens the drawer.", "start": 1, "end": 2.5, "object": "drawer",
            "antonym_caption": "closes the drawer", "source": "mine"}
GEN_MIN = {"path": "sub/b.mp4", "caption": "pour water"}


def test_generic_jsonl_fields_and_defaults(tmp_path):
    path = _write(tmp_path / "ann.jsonl", [GEN_FULL, "", GEN_MIN, {**GEN_MIN, "id": "b", "verb": "pour", "split": "train"}])
    full, minimal, given = read_generic_jsonl(path)
    assert (full.id, full.path, full.caption, full.verb, full.split) == ("ann_1", "a.mp4", "Opens the drawer.", "opens", "test")
    assert (full.start, full.end, full.object, full.antonym_caption) == (1.0, 2.5, "drawer", "closes the drawer")
    assert full.extra == {"source": "mine"}
    assert (minimal.id, minimal.verb, minimal.start, minimal.end, minimal.object) == ("ann_3", "pour", None, None, "")
    assert (given.id, given.verb, given.split) == ("b", "pour", "train")


@pytest.mark.parametrize("row, problem", [
    ({"path": "c.mp4"}, "missing field caption"),
    ({"path": 5, "caption": "x"}, "field path must be a string, got int"),
    ({**GEN_MIN, "start": "1"}, "field start must be a number of seconds, got str"),
    ({**GEN_MIN, "end": -1}, "field end must be a non-negative finite number"),
    ({**GEN_MIN, "start": 3, "end": 2}, "end (2.0) must be after start (3.0)"),
    ({**GEN_MIN, "split": "dev"}, "split 'dev'"),
    ({**GEN_MIN, "caption": "..."}, "give a verb field"),
    ({**GEN_MIN, "id": "ann_1"}, "duplicate id 'ann_1' (first on line 1)"),
    ("{bad", "not valid JSON"),
])
def test_generic_jsonl_malformed(tmp_path, row, problem):
    path = _write(tmp_path / "ann.jsonl", [GEN_FULL, row])
    with pytest.raises(ManifestError) as e:
        read_generic_jsonl(path)
    _assert_error(e, "ann.jsonl", 2, problem)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        read_generic_jsonl(tmp_path / "nope.jsonl")


# --- video checks and decoding ---------------------------------------------


@pytest.fixture(scope="module")
def grey_root(tmp_path_factory):
    """A folder with ``grey.mp4``: 16 frames of 32x32 at 8 fps (2 s), frame i has grey level 10*i."""
    root = tmp_path_factory.mktemp("videos")
    frames = np.repeat((10 * np.arange(16, dtype=np.uint8))[:, None, None, None], 32, axis=1)
    write_mp4(root / "grey.mp4", np.broadcast_to(frames, (16, 32, 32, 3)).copy(), fps=8)
    return root


def _clip(id: str, path: str, start: float | None, end: float | None) -> ClipRecord:
    return ClipRecord(id=id, path=path, caption="c", verb="v", split="test", start=start, end=end)


def test_check_clip_windows(grey_root):
    inside, outside = _clip("in", "grey.mp4", 0.5, 2.2), _clip("out", "grey.mp4", 3.0, 5.0)
    missing, whole = _clip("gone", "gone.mp4", 0.0, 1.0), _clip("all", "gone.mp4", None, None)
    problems = check_clip_windows([inside, outside, missing, whole], grey_root)
    assert [(p.record.id, p.kind) for p in problems] == [("out", OUTSIDE), ("gone", UNREADABLE)]
    assert problems[0].detail == f"{grey_root / 'grey.mp4'}: window [3.0, 5.0] s is outside the video (2.00 s long)"
    assert problems[1].detail == f"{grey_root / 'gone.mp4'}: file not found"
    assert [p.record.id for p in check_clip_windows([whole], grey_root, probe_all=True)] == ["all"]


def test_load_clips_honours_generic_jsonl_window(tmp_path, grey_root):
    ann = _write(tmp_path / "ann.jsonl", [{"path": "grey.mp4", "caption": "grey ramp", "start": 1.0, "end": 1.5}])
    loaded = load_clips(read_generic_jsonl(ann), grey_root, num_frames=4, workers=0, progress=False)
    assert loaded.frames.shape == (1, 4, 3, 32, 32) and not loaded.skipped
    levels = loaded.frames[0].float().mean(dim=(1, 2, 3))
    assert np.allclose(levels.numpy(), [80, 90, 100, 110], atol=4), levels

import json
import random

import numpy as np
import pytest

from actionkit.cli import main
from actionkit.data.manifest import ClipRecord, ManifestError, read_manifest
from actionkit.data.ssv2 import fill_template, read_ssv2, template_key
from actionkit.text.actionbench import build_actionbench, write_actionbench
from actionkit.text.objects import build_vocabulary, object_replaced

LABELS = {"Holding something next to something": "19", "Opening something": "46",
          "Putting something into something": "104", "Poking something so it slightly moves": "55",
          "Tipping something with something in it over, so something in it falls out": "161",
          "Pushing something from left to right": "94"}
ITEMS = [
    {"id": "78687", "label": "holding potato next to vicks vaporub bottle",
     "template": "Holding [something] next to [something]", "placeholders": ["potato", "vicks vaporub bottle"]},
    {"id": "42326", "label": "opening a drawer", "template": "Opening [something]", "placeholders": ["a drawer"]},
    {"id": "100", "template": "Putting [something] into [something]"},          # test split: no label
    {"id": "7", "label": "tipping cup with water over, so water falls out",
     "template": "Tipping [something with something in it] over, so [something in it] falls out",
     "placeholders": ["cup with water", "water"]},
]


def _write(tmp_path, items=ITEMS, labels=LABELS):
    ann, lab = tmp_path / "ann.json", tmp_path / "labels.json"
    ann.write_text(json.dumps(items))
    lab.write_text(json.dumps(labels))
    return ann, lab


def test_read_ssv2_happy_path(tmp_path):
    ann, lab = _write(tmp_path)
    records = read_ssv2(ann, lab, split="val")
    first, _, unlabelled, tipping = records
    assert first == ClipRecord(id="78687", path="78687.webm", caption="holding potato next to vicks vaporub bottle",
                               verb="Holding [something] next to [something]", split="val", object="potato")
    assert first.extra == {"template": "Holding [something] next to [something]",
                           "placeholders": ["potato", "vicks vaporub bottle"],
                           "label": "holding potato next to vicks vaporub bottle"}
    assert unlabelled.caption == "Putting something into something" and unlabelled.object == ""
    assert unlabelled.extra == {"template": "Putting [something] into [something]", "placeholders": [], "label": ""}
    assert tipping.object == "cup with water"
    assert read_ssv2(ann, videos_ext=".mp4", split="train")[1].path == "42326.mp4"


def test_template_helpers():
    key = template_key("Tipping [something with something in it] over")
    assert key == "tipping something with something in it over"
    assert fill_template("Putting [something] into [something]", ["a cup"]) == "Putting a cup into something"


@pytest.mark.parametrize("item, problem", [
    ({"id": "1", "label": "x"}, "item 1: missing field(s) template"),
    ({"template": "Opening [something]"}, "item 1: missing field(s) id"),
    ({"id": 5, "template": "Opening [something]"}, "item 1: wrong type of field(s) id"),
    ({"id": "1", "template": "Opening [something]", "placeholders": "cup"},
     "item 1: wrong type of field(s) placeholders"),
    ({"id": "42326", "template": "Opening [something]"}, "item 1: duplicate id '42326' (first at item 0)"),
    ("not an object", "item 1: expected a JSON object"),
])
def test_malformed_item_names_file_and_item(tmp_path, item, problem):
    ann, lab = _write(tmp_path, [ITEMS[1], item])
    with pytest.raises(ManifestError) as e:
        read_ssv2(ann, lab)
    assert "ann.json" in str(e.value) and problem in str(e.value)


def test_unknown_template_names_the_item(tmp_path):
    ann, lab = _write(tmp_path, [ITEMS[1], {"id": "9", "template": "Juggling [something]"}])
    with pytest.raises(ManifestError, match=r"ann\.json: item 1: template 'Juggling \[something\]' is not a class"):
        read_ssv2(ann, lab)
    assert len(read_ssv2(ann)) == 2         # without labels any template is accepted


def test_missing_and_bad_files(tmp_path):
    with pytest.raises(ManifestError, match="annotation file not found"):
        read_ssv2(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ManifestError, match="bad.json: not valid JSON"):
        read_ssv2(tmp_path / "bad.json")


def _record(i: int, label: str, template: str, placeholders: list[str]) -> ClipRecord:
    return ClipRecord(id=str(i), path=f"{i}.webm", caption=label, verb=template, split="val",
                      object=placeholders[0] if placeholders else "",
                      extra={"template": template, "placeholders": placeholders, "label": label})


RECORDS = [
    _record(0, "opening a drawer", "Opening [something]", ["a drawer"]),
    _record(1, "pushing left shoe from left to right", "Pushing [something] from left to right", ["left shoe"]),
    _record(2, "poking a pen so it slightly moves", "Poking [something] so it slightly moves", ["a pen"]),
    _record(3, "holding cup", "Holding [something]", ["cup"]),
    _record(4, "putting bowl into box", "Putting [something] into [something]", ["bowl", "box"]),
    _record(5, "closing the lid", "Closing [something]", ["jar"]),       # the object is not in the label
]


def test_build_actionbench_counts_fields_and_objects():
    build = build_actionbench(RECORDS, seed=0)
    assert build.kept == 4 and [r.id for r in build.records] == ["0", "1", "4", "5"]
    assert build.dropped == {"no antonym: verb 'poking' is in the ignore list": 1, "no antonym: no rule applies": 1}
    assert build.no_object_replacement == {"object not found in label": 1}
    by_id = {r.id: r for r in build.records}
    assert by_id["0"].antonym_caption == "closing a drawer"
    assert by_id["1"].antonym_caption == "pushing left shoe from right to left"     # object words never flipped
    assert by_id["4"].antonym_caption == "taking bowl out of box"
    assert by_id["5"].antonym_caption == "opening the lid" and by_id["5"].object_replaced_caption == ""
    extra = by_id["4"].extra
    assert set(extra) == {"label", "template", "placeholders", "label_action_antonym_clip_text",
                          "template_action_antonym_clip_text", "label_object_shuffled_clip_text"}
    assert extra["template_action_antonym_clip_text"] == "Taking [something] out of [something]"
    assert extra["label_action_antonym_clip_text"] == "taking bowl out of box"
    vocabulary = set(build_vocabulary(RECORDS))
    shuffled = by_id["0"].object_replaced_caption
    assert shuffled.startswith("opening ") and shuffled[len("opening "):] in vocabulary - {"a drawer"}
    assert extra["label_object_shuffled_clip_text"] == by_id["4"].object_replaced_caption
    first, second = by_id["4"].object_replaced_caption.removeprefix("putting ").split(" into ")
    assert {first, second} <= vocabulary - {"bowl", "box"} and first != second


def test_build_actionbench_is_reproducible_by_seed():
    def shuffled(seed):
        return [r.object_replaced_caption for r in build_actionbench(RECORDS, seed=seed).records]
    assert shuffled(3) == shuffled(3)
    assert any(shuffled(s) != shuffled(0) for s in range(1, 6))


def test_written_bench_is_a_valid_manifest(tmp_path):
    write_actionbench(tmp_path / "bench.jsonl", build_actionbench(RECORDS))
    back = read_manifest(tmp_path / "bench.jsonl")
    assert [r.id for r in back] == ["0", "1", "4", "5"]
    assert back[2].extra["placeholders"] == ["bowl", "box"] and back[2].antonym_caption == "taking bowl out of box"


def test_object_replaced_is_whole_phrase_and_case_preserving():
    rng = random.Random(0)
    assert object_replaced("Cup next to cupboard", ["cup"], ["pen"], rng) == "Pen next to cupboard"
    assert object_replaced("a CUP", ["cup"], ["pen"], rng) == "a PEN"
    assert object_replaced("cup and cup", ["cup", "cup"], ["pen", "box"], random.Random(1)).count("cup") == 0
    assert object_replaced("a cupboard", ["cup"], ["pen"], rng) is None
    assert object_replaced("a cup", ["cup"], ["cup"], rng) is None         # no other noun to draw


def test_cli_bench_build(tmp_path, capsys):
    ann, lab = _write(tmp_path)
    out = tmp_path / "bench.jsonl"
    rc = main(["bench", "build", "--format", "ssv2", "--labels", str(lab), "--annotations", str(ann),
               "--out", str(out), "--split", "val", "--seed", "1"])
    printed = capsys.readouterr().out
    assert rc == 0
    assert [r.id for r in read_manifest(out)] == ["42326", "100"]
    assert "2 of 4 records kept, 2 dropped" in printed
    assert "dropped 1: no antonym: no rule applies" in printed
    assert "kept without an object replacement 1: no object: the record has no placeholders" in printed
    dropped = [json.loads(line) for line in (tmp_path / "bench.dropped.jsonl").read_text().splitlines()]
    assert sorted(d["id"] for d in dropped) == ["7", "78687"]


def test_read_ssv2_collects_bad_items(tmp_path):
    items = [ITEMS[1], {"id": "9", "template": "Juggling [something]"}, {"template": "Opening [something]"},
             ITEMS[1]]
    ann, lab = _write(tmp_path, items)
    errors = []
    assert [r.id for r in read_ssv2(ann, lab, errors=errors)] == ["42326"]
    assert [(e.kind, e.problem.split(":")[0]) for e in errors] == [
        ("unknown label", "item 1"), ("missing field", "item 2"), ("duplicate id", "item 3")]
    assert all(str(ann) in str(e) for e in errors)


def test_cli_bench_build_keeps_going_and_reports_bad_rows(tmp_path, capsys):
    """A bad item, a missing video and an unreadable video are dropped, counted and named; the rest is kept."""
    from actionkit.video import write_mp4

    items = [ITEMS[1], {"id": "9", "template": "Juggling [something]"},
             {"id": "43", "label": "opening a box", "template": "Opening [something]", "placeholders": ["a box"]},
             {"id": "44", "label": "opening a jar", "template": "Opening [something]", "placeholders": ["a jar"]}]
    ann, lab = _write(tmp_path, items)
    videos = tmp_path / "videos"
    videos.mkdir()
    write_mp4(videos / "42326.mp4", np.zeros((4, 16, 16, 3), np.uint8), fps=4)
    (videos / "44.mp4").write_bytes(b"not a video at all")
    out = tmp_path / "b.jsonl"
    rc = main(["bench", "build", "--format", "ssv2", "--labels", str(lab), "--annotations", str(ann),
               "--out", str(out), "--videos", str(videos), "--videos-ext", ".mp4"])
    printed = capsys.readouterr().out
    assert rc == 0 and [r.id for r in read_manifest(out)] == ["42326"]
    assert "1 of 4 records kept, 3 dropped" in printed
    assert "dropped 2: video missing or unreadable" in printed and "dropped 1: unknown label" in printed
    assert f"{videos / '43.mp4'}: file not found" in printed
    assert f"{ann}: item 1: template 'Juggling [something]'" in printed
    dropped = [json.loads(line) for line in (tmp_path / "b.dropped.jsonl").read_text().splitlines()]
    assert sorted(d["reason"] for d in dropped) == ["unknown label", "video missing or unreadable",
                                                    "video missing or unreadable"]
    assert any(d.get("id") == "44" and str(videos / "44.mp4") in d["detail"] for d in dropped)

"""Something-Something v2 annotations -> ``ClipRecord``s.

The annotation file is a JSON list of ``{"id": "78687", "label": "holding potato next to vicks
vaporub bottle", "template": "Holding [something] next to [something]", "placeholders":
["potato", "vicks vaporub bottle"]}`` (the test split has no label nor placeholders). The
labels file maps the 174 templates, written without brackets ("Holding something next to
something"), to class indices. A malformed item raises ``ManifestError`` naming the file and
the item's 0-based index ("item 3"); given an ``errors`` list, the reader appends the error
and goes on with the next item instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from actionkit.data.manifest import SPLITS, ClipRecord, ManifestError, text_file

_SLOT = re.compile(r"\[([^\[\]]*)\]")


def template_key(template: str) -> str:
    """The labels-file key of a template: brackets dropped, spaces collapsed, lowercase."""
    return " ".join(template.replace("[", "").replace("]", "").split()).lower()


def template_slots(template: str) -> list[str]:
    """The words inside the template's ``[...]`` slots, in order."""
    return _SLOT.findall(template)


def fill_template(template: str, placeholders: list[str]) -> str:
    """Fill the template's ``[...]`` slots in order; slots left over keep their own words."""
    rest = iter(placeholders)
    return _SLOT.sub(lambda m: next(rest, m.group(1)), template)


def _load_json(path: Path, what: str) -> object:
    try:
        with text_file(path, f"{what} file") as f:
            return json.loads(f.read())
    except json.JSONDecodeError as e:
        raise ManifestError(path, None, f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None


def read_ssv2_labels(labels: Path | str) -> dict[str, int]:
    """``labels.json`` -> {template_key: class index}."""
    path = Path(labels)
    raw = _load_json(path, "labels")
    if not isinstance(raw, dict):
        raise ManifestError(path, None, f"expected a JSON object of template -> index, got {type(raw).__name__}")
    out: dict[str, int] = {}
    for template, index in raw.items():
        try:
            out[template_key(template)] = int(index)
        except (TypeError, ValueError):
            raise ManifestError(path, None, f"template {template!r}: index {index!r} is not an integer") from None
    return out


def _check_item(item: object, path: Path, i: int) -> dict:
    where = f"item {i}"
    if not isinstance(item, dict):
        raise ManifestError(path, None, f"{where}: expected a JSON object, got {type(item).__name__}",
                            "not an object")
    missing = [k for k in ("id", "template") if k not in item]
    if missing:
        raise ManifestError(path, None, f"{where}: missing field(s) {', '.join(missing)}", "missing field")
    bad = [k for k in ("id", "template") if not isinstance(item[k], str) or not item[k].strip()]
    if "label" in item and not isinstance(item["label"], str):
        bad.append("label")
    placeholders = item.get("placeholders", [])
    if not isinstance(placeholders, list) or not all(isinstance(p, str) for p in placeholders):
        bad.append("placeholders")
    if bad:
        raise ManifestError(path, None, f"{where}: wrong type of field(s) {', '.join(bad)} (id, template: "
                                        "non-empty strings; label: string; placeholders: list of strings)",
                            "wrong field type")
    return item


def _record(path: Path, i: int, raw: object, classes: dict[str, int] | None, labels: Path | str | None,
            seen: dict[str, int], videos_ext: str, split: str) -> ClipRecord:
    item = _check_item(raw, path, i)
    cid, template = item["id"].strip(), item["template"]
    if cid in seen:
        raise ManifestError(path, None, f"item {i}: duplicate id {cid!r} (first at item {seen[cid]})",
                            "duplicate id")
    if classes is not None and template_key(template) not in classes:
        raise ManifestError(path, None, f"item {i}: template {template!r} is not a class of {labels}",
                            "unknown label")
    seen[cid] = i
    placeholders = list(item.get("placeholders", []))
    label = item.get("label", "")
    return ClipRecord(
        id=cid, path=f"{cid}{videos_ext}", caption=label or fill_template(template, placeholders),
        verb=template, split=split, object=placeholders[0] if placeholders else "",
        extra={"template": template, "placeholders": placeholders, "label": label},
    )


def read_ssv2(annotations: Path | str, labels: Path | str | None = None, videos_ext: str = ".webm",
              split: str = "val", errors: list[ManifestError] | None = None) -> list[ClipRecord]:
    """Read an SSv2 annotation file; with ``labels``, every template must be one of its classes.

    Record: id = SSv2 id, path = ``{id}{videos_ext}``, caption = label (or the filled template),
    verb = template (the SSv2 class, with ``[something]`` slots), object = first placeholder,
    extra = {"template", "placeholders", "label"}. A malformed item raises ``ManifestError``;
    with an ``errors`` list it is appended there and skipped (a file that cannot be read at
    all still raises).
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    path = Path(annotations)
    items = _load_json(path, "annotation")
    if not isinstance(items, list):
        raise ManifestError(path, None, f"expected a JSON list of annotations, got {type(items).__name__}")
    classes = read_ssv2_labels(labels) if labels is not None else None
    records: list[ClipRecord] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(items):
        try:
            records.append(_record(path, i, raw, classes, labels, seen, videos_ext, split))
        except ManifestError as e:
            if errors is None:
                raise
            errors.append(e)
    return records

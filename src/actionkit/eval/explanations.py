"""A model's explanations of clips (ALT: the entities its regions were aligned to), checked against
what the manifest says the clips show.

``explanation_report(records, explanations)``::

    {"n": N, "object_named": share, "motion_fits": share, "both": share, "checked": {...},
     "clips": {clip id: explanation}}

- ``object_named``: the explanation's top ``object`` entity is the record's ``object`` (or one of
  its ``placeholders``), over the clips that name one (and whose explanation has an object);
- ``motion_fits``: its top ``motion`` entity is one of the motion primitives the verb shows
  (``world.glosses.MOTIONS``), over Action World clips (whose explanation has a motion);
- ``both``: both hold, over the clips where both are checked. A share with nothing to check is None.
"""

from __future__ import annotations

from actionkit.data.manifest import ClipRecord
from actionkit.world.downstream import is_world
from actionkit.world.glosses import MOTIONS


def _norm(text: object) -> str:
    return " ".join(str(text).split()).lower()


def _objects(record: ClipRecord) -> set[str]:
    placeholders = record.extra.get("placeholders")
    names = placeholders if isinstance(placeholders, list) else [record.object]
    return {_norm(n) for n in names if isinstance(n, str) and n.strip()}


def _share(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def explanation_report(records: list[ClipRecord], explanations: list[dict]) -> dict:
    """Agreement of ``explanations`` (one per record, each with a ``"top"`` entity per kind) with the records."""
    if len(records) != len(explanations):
        raise ValueError(f"{len(explanations)} explanations for {len(records)} clips")
    objects, motions, both = [], [], []
    on_world = is_world(records)
    for record, said in zip(records, explanations):
        top = said.get("top", {})
        named = fits = None
        if _objects(record) and "object" in top:
            named = _norm(top["object"]) in _objects(record)
            objects.append(named)
        if on_world and "motion" in top:
            fits = top["motion"] in MOTIONS[record.verb]
            motions.append(fits)
        if named is not None and fits is not None:
            both.append(named and fits)
    return {"n": len(records), "object_named": _share(objects), "motion_fits": _share(motions),
            "both": _share(both), "checked": {"object": len(objects), "motion": len(motions), "both": len(both)},
            "clips": {r.id: said for r, said in zip(records, explanations)}}


def explanation_line(report: dict) -> str:
    """One line for a terminal or a report."""
    def pct(v):
        return "n/a" if v is None else f"{v:.3f}"
    return (f"explanations of {report['n']} clips: top object entity names the object {pct(report['object_named'])}, "
            f"top motion entity fits the verb {pct(report['motion_fits'])}, both {pct(report['both'])}")


def explanations_markdown(reports: dict[str, dict], examples: int = 5) -> str:
    """Per model, the agreement shares, then its explanation of the first ``examples`` clips."""
    def pct(v):
        return "n/a" if v is None else f"{v:.3f}"
    lines = ["| model | clips | object named | motion fits verb | both |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {r['n']} | {pct(r['object_named'])} | {pct(r['motion_fits'])} | {pct(r['both'])} |"
              for name, r in reports.items()]
    for name, r in reports.items():
        lines += ["", f"{name}, first clips (top entity per kind; overall, by share of the patches aligned):", ""]
        for clip, said in list(r["clips"].items())[:examples]:
            top = ", ".join(f"{k}: {u}" for k, u in said.get("top", {}).items())
            overall = ", ".join(f"{e['unit']} {e['share']:.2f}" for e in said.get("overall", []))
            lines.append(f"- `{clip}`: {top}; overall {overall}")
    return "\n".join(lines)

"""Markdown rendering of probe results.

``models`` everywhere is {model_name: {probe: ProbeResult.to_dict()}}.
"""

from __future__ import annotations

from typing import Any

from actionkit.probes.metrics import PROBES

PROBE_TITLES: dict[str, str] = {
    "action_antonym": "Action Antonym",
    "video_reversal": "Video Reversal",
    "object_replacement": "Object Replacement",
}

_MAX_SKIPPED_LISTED = 20


def _cell(result: dict[str, Any] | None) -> str:
    """Format one probe result as ``0.512 [0.47, 0.55]``; missing -> ``-``; no clips -> ``n/a``."""
    if not result:
        return "-"
    if not result.get("n", 1):
        return "n/a"
    lo, hi = result.get("ci95", (0.0, 1.0))
    return f"{float(result['accuracy']):.3f} [{float(lo):.2f}, {float(hi):.2f}]"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def probe_table_markdown(models: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Table with one row per model and one column per probe (accuracy [ci95])."""
    lines = [
        _row(["model"] + [PROBE_TITLES[p] for p in PROBES]),
        _row(["---"] + ["---:"] * len(PROBES)),
    ]
    for name, probes in models.items():
        lines.append(_row([name] + [_cell(probes.get(p)) for p in PROBES]))
    return "\n".join(lines) + "\n"


def per_verb_markdown(models: dict[str, dict[str, dict[str, Any]]], probe: str) -> str:
    """Table of per-verb accuracy for one probe: rows = verbs (sorted), columns = models."""
    names = list(models)
    verbs = sorted({v for m in models.values() for v in (m.get(probe) or {}).get("per_verb", {})})
    lines = [_row(["verb"] + names), _row(["---"] + ["---:"] * len(names))]
    for verb in verbs:
        cells = [verb]
        for name in names:
            entry = (models[name].get(probe) or {}).get("per_verb", {}).get(verb)
            cells.append(f"{float(entry['accuracy']):.3f}" if entry else "-")
        lines.append(_row(cells))
    return "\n".join(lines) + "\n"


def controls_markdown(report: dict[str, Any]) -> str:
    """Per group of clips (all clips, then each family), a table of every model on the real
    clips and under each control: ``report`` holds ``models``, ``controls`` and ``families``
    as ``probes.actionbench.report_blocks`` writes them."""
    controls = report.get("controls") or {}
    blocks = [("all clips", report.get("models", {}), controls)]
    blocks += [(name, fam.get("models", {}), fam.get("controls", {}))
               for name, fam in (report.get("families") or {}).items()]
    parts = []
    for title, models, ctrl in blocks:
        n = max((p["n"] for m in models.values() for p in m.values() if p), default=0)
        lines = [f"### {title} ({n} clips)\n", _row(["model", "frames"] + [PROBE_TITLES[p] for p in PROBES]),
                 _row(["---", "---"] + ["---:"] * len(PROBES))]
        for name, probes in models.items():
            lines.append(_row([name, "clip"] + [_cell(probes.get(p)) for p in PROBES]))
            for control, block in ctrl.items():
                lines.append(_row([name, control] + [_cell(block["models"][name].get(p)) for p in PROBES]))
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def report_markdown(report: dict[str, Any]) -> str:
    """Render a report dict {split, wall_seconds, n_clips, skipped, models, ...} as Markdown."""
    models = report.get("models", {})
    parts = [
        "# actionkit report\n",
        f"split: {report.get('split', '?')} | clips: {report.get('n_clips', 0)} | "
        f"skipped: {report.get('skipped', 0)} | wall time: "
        f"{float(report.get('wall_seconds', 0.0)):.1f} s\n",
        probe_table_markdown(models),
        "chance = 0.50; ties count 0.5\n",
    ]
    if report.get("controls") or report.get("families"):
        parts += ["## Families and controls\n",
                  "Controls replace each clip's frames: `last_frame` / `first_frame` repeat one frame T "
                  "times, `shuffled` is one seeded random order. A score that survives `last_frame` comes "
                  "from the end state, not from motion.\n",
                  controls_markdown(report)]
    for probe in ("action_antonym", "video_reversal"):
        parts.append(f"## Per verb: {PROBE_TITLES[probe]}\n")
        parts.append(per_verb_markdown(models, probe))
    skipped_items = report.get("skipped_items") or []
    if skipped_items:
        parts.append(f"## Skipped items ({len(skipped_items)})\n")
        listed = [
            f"- {item.get('id', '?')} `{item.get('path', '')}`: {item.get('reason', '')}"
            for item in skipped_items[:_MAX_SKIPPED_LISTED]
        ]
        if len(skipped_items) > _MAX_SKIPPED_LISTED:
            listed.append(f"- ... and {len(skipped_items) - _MAX_SKIPPED_LISTED} more")
        parts.append("\n".join(listed) + "\n")
    return "\n".join(parts)


_COUNTS = ("n", "classes", "candidates", "splits")


def _metric_cell(metrics: dict[str, float] | None, key: str) -> str:
    if not metrics or key not in metrics:
        return "-"
    value = metrics[key]
    text = f"{value:.1f}" if "MnR" in key or "MdR" in key else f"{value:.3f}"
    for std in (f"{key}_std", f"{key}_splits_std"):      # over episodes, over split files
        if std in metrics:
            text += f" +- {metrics[std]:.3f}"
    return text


def downstream_table_markdown(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """One table, a row per (task, metric) and a column per model: ``{model: {task: {metric: value}}}``.

    Few-shot rows show mean +- std over episodes; ranks (MdR, MnR) are lower-is-better.
    """
    models = list(results)
    tasks = list(dict.fromkeys(t for m in models for t in results[m]))
    lines = [_row(["task", "metric", *models]), _row(["---", "---", *["---:"] * len(models)])]
    for task in tasks:
        keys = list(dict.fromkeys(k for m in models for k in results[m].get(task, {})))
        for key in keys:
            if key in _COUNTS or key.endswith("_std"):
                continue
            lines.append(_row([task, key, *[_metric_cell(results[m].get(task), key) for m in models]]))
    return "\n".join(lines)

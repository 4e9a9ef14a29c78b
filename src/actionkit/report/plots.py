"""Grouped bar chart of probe accuracies (matplotlib, Agg canvas, no global state)."""

from __future__ import annotations

import logging
import os
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from actionkit.fileio import atomic_path
from actionkit.probes.metrics import PROBES
from actionkit.report.markdown import PROBE_TITLES

logger = logging.getLogger(__name__)


def probe_bar_chart(
    models: dict[str, dict[str, dict[str, Any]]], path: str | os.PathLike[str]
) -> None:
    """Save a PNG (dpi 120) of accuracy per probe, one bar per model, ci95 error bars.

    models: {model_name: {probe: ProbeResult.to_dict()}}. Written atomically.
    """
    names = list(models)
    n_models = max(len(names), 1)
    width = 0.8 / n_models
    fig = Figure(figsize=(max(6.0, 3.0 + 1.5 * n_models), 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for i, name in enumerate(names):
        xs, accs, err_lo, err_hi = [], [], [], []
        for j, probe in enumerate(PROBES):
            result = models[name].get(probe)
            if not result:
                continue
            acc = float(result["accuracy"])
            lo, hi = (float(v) for v in result.get("ci95", (acc, acc)))
            xs.append(j - 0.4 + width * (i + 0.5))
            accs.append(acc)
            err_lo.append(max(acc - lo, 0.0))
            err_hi.append(max(hi - acc, 0.0))
        bars = ax.bar(xs, accs, width=width * 0.95, label=name,
                      yerr=[err_lo, err_hi], capsize=3)
        for bar, acc, up in zip(bars, accs, err_hi):
            ax.text(bar.get_x() + bar.get_width() / 2, min(acc + up + 0.01, 1.0),
                    f"{acc:.2f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(0.5, linestyle="--", color="grey", linewidth=1, label="chance")
    ax.set_xticks(range(len(PROBES)))
    ax.set_xticklabels([PROBE_TITLES[p] for p in PROBES])
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("accuracy")
    ax.set_title("ActionBench probes")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(names) + 1,
              fontsize=8, frameon=False)
    fig.tight_layout()

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")


_MARKERS = {"last_frame": "v", "first_frame": "^", "shuffled": "D"}


def probe_panels_chart(report: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Save a PNG with one panel per group of clips (all clips, then each family): bars are
    each model's accuracy per probe on the real clips (ci95 error bars), markers its accuracy
    under each control. ``report`` holds ``models``, ``controls``, ``families``."""
    controls = report.get("controls") or {}
    groups = [("all clips", report.get("models", {}), controls)]
    groups += [(g, b.get("models", {}), b.get("controls", {})) for g, b in (report.get("families") or {}).items()]
    names = list(report.get("models", {}))
    width = 0.8 / max(len(names), 1)
    fig = Figure(figsize=(max(6.0, 3.0 + 1.5 * len(names)), 3.2 * len(groups) + 0.8))
    FigureCanvasAgg(fig)
    colours = [f"C{i}" for i in range(len(names))]
    for row, (title, models, ctrl) in enumerate(groups):
        ax = fig.add_subplot(len(groups), 1, row + 1)
        for i, name in enumerate(names):
            for j, probe in enumerate(PROBES):
                result = models.get(name, {}).get(probe)
                if not result or not result.get("n"):
                    continue
                x = j - 0.4 + width * (i + 0.5)
                acc = float(result["accuracy"])
                lo, hi = (float(v) for v in result.get("ci95", (acc, acc)))
                ax.bar([x], [acc], width=width * 0.95, color=colours[i], yerr=[[acc - lo], [hi - acc]], capsize=3,
                       label=name if j == 0 else None)
                for control, block in ctrl.items():
                    c = block["models"].get(name, {}).get(probe)
                    if c and c.get("n"):
                        ax.plot([x], [float(c["accuracy"])], marker=_MARKERS.get(control, "o"), color="black",
                                markersize=5, linestyle="none", label=control if (i, j) == (0, 0) else None)
        ax.axhline(0.5, linestyle="--", color="grey", linewidth=1)
        ax.set_xticks(range(len(PROBES)))
        ax.set_xticklabels([PROBE_TITLES[p] for p in PROBES])
        ax.set_ylim(0.0, 1.05)
        ax.set_ylabel("accuracy")
        ax.set_title(f"{title}: bars = real clips, markers = controls, dashed = chance", fontsize=9)
        if row == 0:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(names) + len(ctrl), fontsize=7,
                      frameon=False)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")

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

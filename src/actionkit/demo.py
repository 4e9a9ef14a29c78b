"""The Action World demo: generate the world, train the built-in backbone, cache its frame
features, probe it frozen, patch it with PAXION (Knowledge Patcher + DVDM), probe again,
report both side by side.

Every stage writes into ``out/`` and is skipped when its result is already there (world
clips, backbone, feature cache, patcher), and training and extraction continue from where
they stopped, so an interrupted demo resumes. The frozen backbone's features are computed
once (``out/features``); the probes and the patcher read them instead of decoding again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from actionkit.backbones.world import CONFIG_FILE, WEIGHTS_FILE, WorldBackbone
from actionkit.backbones.world_training import WorldTrainConfig, train_world_backbone
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.methods import load_model
from actionkit.methods.checkpoint import base_reference, is_method_folder
from actionkit.methods.paxion.method import PAXION
from actionkit.methods.training import train_method
from actionkit.probes.actionbench import report_blocks, run_actionbench
from actionkit.probes.controls import CONTROLS
from actionkit.report import probe_panels_chart, report_markdown, write_json_atomic, write_text_atomic
from actionkit.world.generate import WorldConfig, generate_world

log = logging.getLogger(__name__)


@dataclass
class DemoConfig:
    n: int = 5000            # clips in the world (train / val / test together)
    seed: int = 0
    epochs: int = 40         # backbone training epochs
    patch_epochs: int = 30   # Knowledge Patcher training epochs (DVDM: VTC + VAC + ATM)
    batch_size: int = 128
    workers: int = 2

    def quick(self) -> "DemoConfig":
        """The same pipeline, small enough for a test (under a minute on 2 CPU cores)."""
        return replace(self, n=240, epochs=2, patch_epochs=2, batch_size=32)


def run_demo(out: Path | str, cfg: DemoConfig = DemoConfig(), progress: bool = True) -> dict:
    """Run the whole demo into ``out``; returns the report dict (also in ``out/report.json``)."""
    start = time.time()
    out = Path(out)
    world = out / "world"
    summary = generate_world(world, cfg.n, WorldConfig(seed=cfg.seed), workers=cfg.workers, progress=progress)
    log.info("world: %d clips written, %d already there, %d failed", summary.written, summary.existing,
             len(summary.failed))

    backbone_dir = out / "backbone"
    train_cfg = WorldTrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed, workers=cfg.workers)
    if (backbone_dir / WEIGHTS_FILE).is_file() and (backbone_dir / CONFIG_FILE).is_file():
        log.info("reusing the backbone already trained in %s", backbone_dir)
    else:
        train_world_backbone(world, backbone_dir, cfg=train_cfg, progress=progress, resume=True)
    backbone = WorldBackbone.load(backbone_dir)
    records = [r for r in read_manifest(world / "manifest.jsonl") if r.split in ("train", "test")]
    extracted = extract_features(backbone, records, world, out / "features", ExtractConfig(workers=cfg.workers),
                                 progress=progress)
    log.info("features: %d extracted, %d already cached, %d skipped", extracted.extracted, extracted.already,
             extracted.skipped)
    test = [r for r in records if r.split == "test"]
    test_features = ClipFeatures.from_cache(out / "features", test, backbone)
    controls = tuple(CONTROLS)
    frozen = run_actionbench(backbone, test, world, progress=progress, features=test_features, controls=controls)

    patcher_dir = out / "patcher"
    if is_method_folder(patcher_dir):
        log.info("reusing the patcher already trained in %s", patcher_dir)
    else:
        train_features = ClipFeatures.from_cache(out / "features", [r for r in records if r.split == "train"],
                                                 backbone)
        train = replace(PAXION.train_defaults, epochs=cfg.patch_epochs, batch_size=cfg.batch_size, seed=cfg.seed)
        train_method(PAXION, backbone, base_reference("world", backbone_dir), train_features, patcher_dir,
                     train=train, progress=progress, resume=True)
    patched = run_actionbench(load_model(patcher_dir, backbone=backbone), test, world, progress=progress,
                              features=test_features, controls=controls)

    report = {
        "split": "test",
        "wall_seconds": round(time.time() - start, 2),
        "n_clips": frozen.n_clips,
        "skipped": len(frozen.skipped),
        **report_blocks({"backbone": frozen, "patched": patched}),
        "skipped_items": [s.to_dict() for s in frozen.skipped],
        "config": {"demo": asdict(cfg), "world": asdict(WorldConfig(seed=cfg.seed))},
    }
    write_json_atomic(out / "report.json", report)
    write_text_atomic(out / "report.md", report_markdown(report))
    probe_panels_chart(report, out / "probe_accuracy.png")
    return report

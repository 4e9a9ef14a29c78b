"""Does the frozen backbone see what the motion verbs need? A linear read-out of one frame's features.

For the clips of the spin, rotate and orbit pairs, the true angle of each sampled frame (the
marker's orientation; for orbit, the object's place on its loop) is known from the clip's
scene spec. A ridge regression from one frame's patch tokens (flattened, places kept) or from
its pooled embedding to (cos, sin) of that angle is fitted on the train clips and scored on
the test clips (R^2 and the median angle error). High from the tokens means a patcher that
reads tokens has the information; a patcher at chance on those verbs then fails to use it.

    python benchmarks/orientation_probe.py --run runs/demo      # a folder written by `actionkit demo`
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import Ridge

from actionkit.data.manifest import read_manifest
from actionkit.features.cache import FeatureCache
from actionkit.video.sampling import segment_indices
from actionkit.world.render import motion_schedule
from actionkit.world.scene import sample_scene

TURN = {"spin": 2 * np.pi, "orbit": 2 * np.pi, "rotate": np.deg2rad(150)}   # as world/render.py draws them


def angles(record, world_seed: int, num_frames: int, sampled: list[int]) -> np.ndarray:
    spec = sample_scene(world_seed, int(record.id.split("_")[1]))
    s = motion_schedule(spec, num_frames)
    start = 0.0 if spec.pair == "orbit" else spec.angle          # orbit: the loop starts at the top
    return np.array([start + TURN[spec.pair] * s[i] for i in sampled])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, features/)")
    parser.add_argument("--seed", type=int, default=0, help="the world's seed")
    args = parser.parse_args()
    records = read_manifest(f"{args.run}/world/manifest.jsonl")
    cache = FeatureCache(f"{args.run}/features")
    total = int(records[0].extra["num_frames"])
    sampled = segment_indices(total, cache.settings.num_frames)
    for pair in TURN:
        chosen = {split: [r for r in records if r.extra["verb_pair"] == pair and r.split == split and r.id in cache]
                  for split in ("train", "test")}
        for kind in ("frame_tokens", "frame_pooled"):
            data = {}
            for split, recs in chosen.items():
                x = cache.read([r.id for r in recs], kind).float()                   # [N, T, ...]
                a = np.concatenate([angles(r, args.seed, total, sampled) for r in recs])
                data[split] = (x.reshape(x.shape[0] * x.shape[1], -1).numpy(), np.stack([np.cos(a), np.sin(a)], 1))
            model = Ridge(alpha=10.0).fit(*data["train"])
            x, y = data["test"]
            pred = model.predict(x)
            r2 = 1 - ((pred - y) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
            error = np.degrees(np.abs(np.angle(np.exp(1j * (np.arctan2(pred[:, 1], pred[:, 0])
                                                              - np.arctan2(y[:, 1], y[:, 0]))))))
            print(f"{pair:7s} {kind:13s} train {len(chosen['train'])} clips, test {len(chosen['test'])}: "
                  f"R^2 {r2:.3f}, median angle error {np.median(error):.0f} deg")


if __name__ == "__main__":
    main()

"""Does the frozen backbone see what the motion verbs need? A linear read-out of one frame's features.

For the clips of the spin, rotate and orbit pairs, the true angle of each sampled frame (the
marker's orientation; for orbit, the object's place on its loop) is known from the clip's
scene spec. A ridge regression from one frame's patch tokens (flattened, places kept) or from
its pooled embedding to (cos, sin) of that angle is fitted on the train clips and scored on
the test clips (R^2 and the median angle error). High from the tokens means a patcher that
reads tokens has the information; a patcher at chance on those verbs then fails to use it.

Second part, *which way it turned*: the direction (clockwise or not) of each test clip, (1)
from the angle read-out above, as the sign of the summed frame-to-frame angle changes, no
direction label used; (2) from small heads trained on the train clips' direction labels
alone (binary cross-entropy, a fixed budget), each over consecutive frame pairs, differing
only in what a frame is to them: the frame's tokens flattened through one learned linear map
(``places``: a weight per place), each token on its own with weights shared over places
(``token``: what a Perceiver or a transformer block does), or the pooled frame embedding
(``pooled``). A head that reaches the read-out's accuracy shows the shape of head that can
learn the motion from these features; one at chance on test but not on train memorised.

    python benchmarks/orientation_probe.py --run runs/demo      # a folder written by `actionkit demo`
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.linear_model import Ridge
from torch import nn

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


def turned_clockwise(a: np.ndarray) -> np.ndarray:
    """Angles [N, T] -> [N] bool: the summed frame-to-frame change (each wrapped to (-pi, pi]) is positive."""
    return np.angle(np.exp(1j * np.diff(a, axis=1))).sum(1) > 0


class PairHead(nn.Module):
    """Frames ``[N, T, ...]`` -> a logit per clip: an MLP on each pair of consecutive frames, averaged.
    ``places``: a frame is its tokens ``[P, Dv]`` flattened through a learned linear map; ``token``:
    each token ``[Dv]`` of a place paired with the same place's next token, weights shared over
    places; ``pooled``: the frame embedding ``[D]``."""

    def __init__(self, kind: str, frame_shape: tuple[int, ...], width: int = 64):
        super().__init__()
        self.kind = kind
        dim = frame_shape[-1] if kind != "places" else width
        self.frame = nn.Sequential(nn.LayerNorm(int(np.prod(frame_shape))), nn.Linear(int(np.prod(frame_shape)), width)) \
            if kind == "places" else nn.LayerNorm(dim)
        self.pair = nn.Sequential(nn.Linear(2 * dim, 128), nn.GELU(), nn.Linear(128, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.frame(x.flatten(2)) if self.kind == "places" else self.frame(x)   # [N, T, (P,) d]
        return self.pair(torch.cat([z[:, :-1], z[:, 1:]], dim=-1)).flatten(1).mean(1)


def direction_head_accuracy(kind: str, train: tuple, test: tuple, steps: int = 1800, seed: int = 0
                            ) -> tuple[float, float]:
    """Train a ``PairHead`` on (frames, clockwise) of the train clips; (train, test) accuracy."""
    torch.manual_seed(seed)
    (xtr, ytr), (xte, yte) = train, test
    head = PairHead(kind, tuple(xtr.shape[2:]))
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=1.0)
    for _ in range(steps):
        rows = torch.randint(0, len(xtr), (64,))
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(head(xtr[rows]), ytr[rows]).backward()
        opt.step()
    with torch.no_grad():
        return tuple(float(((head(x) > 0).float() == y).float().mean()) for x, y in ((xtr, ytr), (xte, yte)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, features/)")
    parser.add_argument("--seed", type=int, default=0, help="the world's seed")
    args = parser.parse_args()
    records = read_manifest(f"{args.run}/world/manifest.jsonl")
    cache = FeatureCache(f"{args.run}/features")
    total = int(records[0].extra["num_frames"])
    sampled = segment_indices(total, cache.settings.num_frames)
    groups = {pair: (pair,) for pair in TURN} | {"spin+rotate": ("spin", "rotate")}   # the marker's two verbs
    for pair, members in groups.items():
        chosen = {split: [r for r in records if r.extra["verb_pair"] in members and r.split == split and r.id in cache]
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
            print(f"{pair:11s} {kind:13s} train {len(chosen['train'])} clips, test {len(chosen['test'])}: "
                  f"R^2 {r2:.3f}, median angle error {np.median(error):.0f} deg")
            if kind == "frame_tokens":
                t = len(sampled)
                read = np.arctan2(pred[:, 1], pred[:, 0]).reshape(-1, t)
                truth = np.arctan2(y[:, 1], y[:, 0]).reshape(-1, t)
                agree = (turned_clockwise(read) == turned_clockwise(truth)).mean()
                print(f"{pair:11s} direction from the read-out angles (no direction label): test {agree:.3f}")
        for kind, key in (("places", "frame_tokens"), ("token", "frame_tokens"), ("pooled", "frame_pooled")):
            sets = []
            for split, recs in chosen.items():
                a = np.stack([angles(r, args.seed, total, sampled) for r in recs])
                sets.append((cache.read([r.id for r in recs], key).float(), torch.tensor(turned_clockwise(a)).float()))
            train_acc, test_acc = direction_head_accuracy(kind, *sets)
            print(f"{pair:11s} direction head {kind:6s} trained on direction labels: train {train_acc:.3f}, "
                  f"test {test_acc:.3f}")


if __name__ == "__main__":
    main()

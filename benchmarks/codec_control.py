"""Is a patcher reading compression artefacts of time order? Probe it on features of the test
clips computed from the rendered frames (no codec) beside the decoded mp4s' cached features.

x264 codes the first and the last frame of a clip differently (an I-frame and late P-frames),
so decoded frames carry a faint arrow of time. A patcher that leaned on it would lose its edge
on the rendered frames. The world must be the seed's (`actionkit demo`'s world/).

    python benchmarks/codec_control.py --run runs/demo --model runs/demo/patcher [--model ...]
"""

from __future__ import annotations

import argparse

import torch

from actionkit.backbones.world import WorldBackbone
from actionkit.data.manifest import read_manifest
from actionkit.features.clip_features import ClipFeatures
from actionkit.methods import load_model
from actionkit.probes.actionbench import run_actionbench
from actionkit.video.sampling import segment_indices
from actionkit.world.render import render_clip
from actionkit.world.scene import sample_scene


@torch.no_grad()
def rendered_features(backbone: WorldBackbone, records, seed: int, total: int) -> ClipFeatures:
    idx = segment_indices(total, backbone.num_frames)
    tokens, pooled = [], []
    for i in range(0, len(records), 64):
        frames = torch.stack([torch.from_numpy(render_clip(sample_scene(seed, int(r.id.split("_")[1])), total,
                                                           backbone.image_size)[idx]).permute(0, 3, 1, 2)
                              for r in records[i:i + 64]])
        f = backbone.encode_video(backbone.preprocess(frames))
        tokens.append(f.frame_tokens.half())
        pooled.append(f.frame_pooled.half())
    return ClipFeatures(torch.cat(tokens), torch.cat(pooled), records, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a demo run folder (world/, backbone/, features/)")
    parser.add_argument("--model", action="append", required=True, help="a trained method's folder (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="the world's seed")
    args = parser.parse_args()
    backbone = WorldBackbone.load(f"{args.run}/backbone")
    test = read_manifest(f"{args.run}/world/manifest.jsonl", split="test")
    sources = {"decoded": ClipFeatures.from_cache(f"{args.run}/features", test, backbone),
               "rendered": rendered_features(backbone, test, args.seed, int(test[0].extra["num_frames"]))}
    for folder in args.model:
        model = load_model(folder, backbone=backbone)
        for label, features in sources.items():
            r = run_actionbench(model, test, "", features=features, progress=False)
            cells = [f"{g} AA {r.groups[g]['action_antonym'].accuracy:.3f} VR {r.groups[g]['video_reversal'].accuracy:.3f}"
                     for g in r.groups if "/" not in g]
            print(f"{folder} {label:8s} all AA {r.results['action_antonym'].accuracy:.3f} "
                  f"VR {r.results['video_reversal'].accuracy:.3f} | " + " | ".join(cells))


if __name__ == "__main__":
    main()

"""Throughput of feature extraction and of patcher training on cached features vs recomputing the backbone.

    python benchmarks/throughput.py                      # small model on CPU (the default without a GPU)
    python benchmarks/throughput.py --size vit-b-16      # ViT-B/16 CLIP, 8 frames, 224 px (run it on a GPU)

Everything runs in one process, side by side, so ratios hold on a shared, noisy machine:

(a) extraction: clips/s of (1) the stock Hugging Face CLIP vision forward on device-resident
    pixels (``vision_model`` + ``visual_projection``, the reference), (2) actionkit's
    extraction path from pinned host memory (``encode_video`` under bf16 autocast on CUDA,
    features cast to fp16 and copied back, as ``actionkit extract`` does after decoding), and
    (3) decoding alone: PyAV decode + preprocessing of real mp4 files in the decoding workers,
    the part a GPU cannot speed up. TFLOP/s come from ``torch.utils.flop_counter`` on one clip;
    the fraction is of the device's dense bf16 peak (nan where unknown, e.g. CPU).
(b) patcher training steps/s at the same batch: frame features read from an on-disk feature
    cache vs the original PAXION loop that runs the frozen backbone on every step, twice
    (the clip and its reversal). Both do the same DVDM step (VTC + ATM) and optimizer update.
(c) peak memory: CUDA peak allocated per phase; on CPU the process's peak RSS.

The last line is machine-readable:
``RESULT speedup_cached_vs_recompute=<x> extract_tflops=<y> extract_peak_fraction=<z|nan> device=<name>``
"""

from __future__ import annotations

import argparse
import math
import resource
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from actionkit.backbones.hf_clip import HFCLIPBackbone
from actionkit.backbones.protocol import TextFeatures
from actionkit.backbones.random_clip import VIT_B_16, VIT_B_16_TEXT, save_random_clip
from actionkit.data.clips import iter_clip_batches
from actionkit.data.manifest import ClipRecord
from actionkit.features.cache import CachedRows, FeatureCache
from actionkit.features.extract import ExtractConfig, extract_features
from actionkit.methods.paxion.losses import atm_loss, vtc_loss
from actionkit.methods.paxion.method import PaxionConfig, build
from actionkit.video.write import write_mp4

SIZES = {
    "vit-b-16": (VIT_B_16, VIT_B_16_TEXT, 512),
    "small": (dict(image_size=112, patch_size=16, hidden_size=192, intermediate_size=768, num_hidden_layers=4,
                   num_attention_heads=3),
              dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2), 128),
}
# Dense bf16 tensor-core peaks (FLOP/s) from the vendors' data sheets (SXM parts).
BF16_PEAK = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "L4": 121e12}


def device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def bf16_peak(name: str) -> float:
    return next((v for k, v in BF16_PEAK.items() if k in name), math.nan)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def timed(fn, device: torch.device, iters: int, warmup: int = 2) -> float:
    """Seconds per call of ``fn`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def peak_memory(device: torch.device) -> str:
    if device.type == "cuda":
        gib = torch.cuda.max_memory_allocated(device) / 2**30
        torch.cuda.reset_peak_memory_stats(device)
        return f"{gib:.2f} GiB (CUDA peak allocated)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (process peak RSS)"


def flops_per_clip(backbone: HFCLIPBackbone, pixels: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        backbone.encode_video(pixels[:1])
    return float(counter.get_total_flops())


def bench_extraction(backbone: HFCLIPBackbone, device: torch.device, batch: int, iters: int,
                     compile_too: bool = False) -> dict:
    t, s = backbone.num_frames, backbone.image_size
    host = torch.randn(batch, t, 3, s, s).pin_memory() if device.type == "cuda" else torch.randn(batch, t, 3, s, s)
    on_device = host.to(device)
    model = backbone.model

    @torch.no_grad()
    def stock():
        with autocast(device):
            out = model.vision_model(pixel_values=on_device.flatten(0, 1))
            model.visual_projection(out.pooler_output)

    @torch.no_grad()
    def ours():
        with autocast(device):
            f = backbone.encode_video(host.to(device, non_blocking=True))
        f.frame_tokens.half().cpu(), f.frame_pooled.half().cpu()

    compiled_encode = torch.compile(backbone.encode_video) if compile_too else None

    @torch.no_grad()
    def ours_compiled():
        with autocast(device):
            f = compiled_encode(host.to(device, non_blocking=True))
        f.frame_tokens.half().cpu(), f.frame_pooled.half().cpu()

    flops = flops_per_clip(backbone, on_device)
    rows = {}
    paths = [("stock HF CLIP forward (pixels on device)", stock),
             ("actionkit extract path (pinned host -> device -> fp16 host)", ours)]
    if compile_too:
        paths.append(("actionkit extract path, torch.compile (--compile)", ours_compiled))
    for name, fn in paths:
        sec = timed(fn, device, iters)
        rows[name] = {"clips_per_s": batch / sec, "frames_per_s": batch * t / sec,
                      "tflops": flops * batch / sec / 1e12, "memory": peak_memory(device)}
    return {"rows": rows, "flops_per_clip": flops}


def bench_decoding(backbone: HFCLIPBackbone, workers: int, n: int, batch: int, tmp: Path) -> dict:
    """clips/s of decoding + preprocessing real mp4 files (H.264, 16 frames, 320x240) in workers."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        frames = rng.integers(0, 256, (16, 240, 320, 3), dtype=np.uint8)
        write_mp4(tmp / f"v{i}.mp4", frames, fps=8)
        records.append(ClipRecord(id=str(i), path=f"v{i}.mp4", caption="c", verb="v", split="test"))
    start = time.perf_counter()
    seen = sum(len(b.index) for b in iter_clip_batches(records, tmp, backbone.num_frames, backbone.preprocess,
                                                       batch_size=batch, workers=workers, progress=False))
    return {"clips_per_s": seen / (time.perf_counter() - start), "records": records}


def bench_training(backbone: HFCLIPBackbone, device: torch.device, batch: int, iters: int, tmp: Path,
                   decode_records: list[ClipRecord]) -> dict:
    """Patcher steps/s: features from an on-disk cache vs the backbone recomputed every step."""
    t, s = backbone.num_frames, backbone.image_size
    heads = build(backbone, PaxionConfig(dim=256 if backbone.embed_dim >= 256 else 64)).to(device)
    cfg = heads.cfg                                   # the PatcherConfig sized for the backbone
    optimizer = torch.optim.AdamW([p for p in heads.parameters() if p.requires_grad], lr=1e-4)
    text_features = TextFeatures(
        tokens=torch.randn(batch, 16, cfg.text_dim, device=device),
        mask=torch.ones(batch, 16, dtype=torch.bool, device=device),
        pooled=torch.nn.functional.normalize(torch.randn(batch, cfg.embed_dim, device=device), dim=-1))
    ids = torch.arange(batch, device=device)

    def dvdm_step(tokens: torch.Tensor, reversed_tokens: torch.Tensor) -> None:
        with autocast(device):
            video = heads.patcher(tokens)                                       # [B, K, D]
            text = heads.text(backbone, text_features)                          # [B, D]
            scale = heads.logit_scale.exp().clamp(max=100)
            loss = vtc_loss(video, text, scale, similarity=heads.similarity, caption_ids=ids) + atm_loss(
                torch.stack([video, heads.patcher(reversed_tokens)], dim=1), text, scale,
                paired_similarity=heads.paired_similarity)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    # A feature cache on disk: the real extraction path over the decoding benchmark's mp4 files,
    # replicated to enough rows that batches are drawn at random as in training.
    extract_features(backbone, decode_records, tmp, tmp / "cache",
                     ExtractConfig(device=str(device), workers=0, batch_size=batch), progress=False)
    cache = FeatureCache(tmp / "cache")
    ids_cached = sorted(cache.clips)
    rows = CachedRows(cache, ids_cached * max(1, (4 * batch) // len(ids_cached)))
    gen = torch.Generator().manual_seed(0)

    def cached():
        idx = torch.randint(0, len(rows), (batch,), generator=gen)
        tokens = rows[idx].to(device, non_blocking=True).float()
        dvdm_step(tokens, tokens.flip(1))

    pixels = torch.randn(batch, t, 3, s, s, device=device)

    def recompute():
        with torch.no_grad(), autocast(device):
            tokens = backbone.encode_video(pixels).frame_tokens.float()
            reversed_tokens = backbone.encode_video(pixels.flip(1)).frame_tokens.float()
        dvdm_step(tokens, reversed_tokens)

    out = {}
    for name, fn in (("cached features (on-disk cache)", cached), ("recompute backbone each step (x2)", recompute)):
        sec = timed(fn, device, iters)
        out[name] = {"steps_per_s": 1 / sec, "memory": peak_memory(device)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=list(SIZES), help="default: vit-b-16 on a GPU, small otherwise")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, help="clips per batch (default 64 on a GPU, 8 on CPU)")
    parser.add_argument("--iters", type=int, help="timed iterations per measurement (default 20 GPU, 5 CPU)")
    parser.add_argument("--workers", type=int, default=2, help="decoding workers of (a3)")
    parser.add_argument("--decode-clips", type=int, default=32, help="mp4 files for the decoding measurement")
    parser.add_argument("--compile", action="store_true", help="also time the extraction path under torch.compile")
    args = parser.parse_args()
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    size = args.size or ("vit-b-16" if gpu else "small")
    batch = args.batch or (64 if gpu else 8)
    iters = args.iters or (20 if gpu else 5)
    vision, text, proj = SIZES[size]
    name = device_name(device)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        backbone = HFCLIPBackbone(save_random_clip(tmp / "clip", vision, text, proj), device=device, num_frames=8)
        print(f"# throughput: {size} CLIP vision tower ({sum(p.numel() for p in backbone.model.vision_model.parameters()) / 1e6:.1f}M "
              f"params), 8 frames x {vision['image_size']} px, batch {batch}, device {name}, torch {torch.__version__}")
        ext = bench_extraction(backbone, device, batch, iters, args.compile)
        dec = bench_decoding(backbone, args.workers, args.decode_clips, batch, tmp)
        train = bench_training(backbone, device, batch, iters, tmp, dec["records"])

    peak = bf16_peak(name)
    print(f"\n## (a) extraction ({ext['flops_per_clip'] / 1e9:.1f} GFLOP per clip)\n")
    print("| path | clips/s | frames/s | TFLOP/s | of bf16 peak | peak memory |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, r in ext["rows"].items():
        print(f"| {label} | {r['clips_per_s']:.1f} | {r['frames_per_s']:.0f} | {r['tflops']:.3f} | "
              f"{r['tflops'] * 1e12 / peak:.1%} | {r['memory']} |")
    print(f"| decoding + preprocessing only ({args.workers} workers, H.264 320x240) | {dec['clips_per_s']:.1f} | "
          f"{dec['clips_per_s'] * 8:.0f} | | | |")
    print(f"\n## (b) patcher training, batch {batch}\n")
    print("| path | steps/s | peak memory |")
    print("| --- | ---: | --- |")
    for label, r in train.items():
        print(f"| {label} | {r['steps_per_s']:.2f} | {r['memory']} |")
    cached, recompute = (r["steps_per_s"] for r in train.values())
    speedup = cached / recompute
    ours = ext["rows"]["actionkit extract path (pinned host -> device -> fp16 host)"]
    stock = ext["rows"]["stock HF CLIP forward (pixels on device)"]
    print(f"\nextract path / stock forward: {ours['clips_per_s'] / stock['clips_per_s']:.2f}x; "
          f"cached / recompute training: {speedup:.1f}x; decoding / extract path: "
          f"{dec['clips_per_s'] / ours['clips_per_s']:.2f}x")
    frac = ours["tflops"] * 1e12 / peak
    print(f"RESULT speedup_cached_vs_recompute={speedup:.2f} extract_tflops={ours['tflops']:.3f} "
          f"extract_peak_fraction={'nan' if math.isnan(frac) else f'{frac:.3f}'} device={name.replace(' ', '_')}")


if __name__ == "__main__":
    main()

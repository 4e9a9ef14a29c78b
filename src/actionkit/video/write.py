"""Write RGB frames to an mp4 file with PyAV (atomic replace)."""

from __future__ import annotations

import logging
import os

import av
import numpy as np
import torch

from actionkit.fileio import atomic_path

logger = logging.getLogger(__name__)

# x264 without lookahead and macroblock-tree rate control: with them, one thread and the
# same frames gave different bytes now and then (about 1 clip in 100 over 3 encodes in one
# process, at random; decoded pixels up to 34/255 apart), so the same seed did not give the
# same world. Without them, 800 clips x 3 encodes in each of two processes running at once
# gave one output per clip (benchmarks/RESULTS.md). Compression is a little worse at the same CRF.
X264_DETERMINISTIC = "threads=1:rc-lookahead=0:mbtree=0:sync-lookahead=0"


def _as_thwc(frames: np.ndarray | torch.Tensor) -> np.ndarray:
    """numpy uint8 [T,H,W,3] or torch uint8 [T,3,H,W] -> contiguous numpy uint8 [T,H,W,3]."""
    if isinstance(frames, torch.Tensor):
        if frames.dim() != 4 or frames.shape[1] != 3:
            raise ValueError(f"torch frames must be [T,3,H,W], got {tuple(frames.shape)}")
        if frames.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8, got {frames.dtype}")
        arr = frames.detach().cpu().permute(0, 2, 3, 1).numpy()
    else:
        arr = np.asarray(frames)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise ValueError(f"numpy frames must be [T,H,W,3], got {arr.shape}")
        if arr.dtype != np.uint8:
            raise ValueError(f"frames must be uint8, got {arr.dtype}")
    if arr.shape[0] == 0:
        raise ValueError("cannot write a video with zero frames")
    return np.ascontiguousarray(arr)


def write_mp4(
    path: str | os.PathLike[str],
    frames: np.ndarray | torch.Tensor,
    fps: int = 8,
    codec: str = "libx264",
    crf: int = 18,
) -> None:
    """Encode RGB frames to an mp4 (yuv420p) at ``fps`` frames/s.

    ``frames``: numpy uint8 ``[T, H, W, 3]`` or torch uint8 ``[T, 3, H, W]``; H and W
    must be even (yuv420p). ``crf`` applies to libx264; ``"mpeg4"`` uses a high bit
    rate instead. Written atomically (``fileio.atomic_path``); parent dirs are created.
    """
    arr = _as_thwc(frames)
    _, height, width, _ = arr.shape
    if height % 2 or width % 2:
        raise ValueError(
            f"yuv420p needs even height and width, got frames shaped {tuple(arr.shape)} (T,H,W,3)"
        )
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")

    with atomic_path(path) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        options = {"crf": str(crf), "preset": "veryfast", "x264-params": X264_DETERMINISTIC} \
            if codec == "libx264" else {}
        stream = container.add_stream(codec, rate=int(fps), options=options)
        # One encoder thread: parallelism comes from processes, and x264's threaded output
        # depends on thread timing. Clips are small.
        stream.codec_context.thread_count = 1
        stream.codec_context.thread_type = "NONE"
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        if codec != "libx264":
            stream.bit_rate = max(2_000_000, width * height * int(fps) * 4)
        for i, img in enumerate(arr):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    logger.debug("wrote %d frames %dx%d @ %d fps to %s", arr.shape[0], width, height, fps, path)

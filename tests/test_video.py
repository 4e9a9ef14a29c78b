"""Tests for actionkit.video: sampling, mp4 write/decode round trip, errors, transforms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from actionkit.video import (
    VideoDecodeError,
    decode_frames,
    center_crop,
    normalize,
    preprocess,
    probe_video,
    resize,
    resize_short_side,
    segment_indices,
    write_mp4,
)

T, H, W, FPS = 16, 64, 64, 8


def _clip(num: int = T, h: int = H, w: int = W) -> np.ndarray:
    """Smooth test clip uint8 [num, h, w, 3]: gray background whose blue level rises
    per frame, plus a red 16x16 square moving diagonally."""
    frames = np.full((num, h, w, 3), 110, np.uint8)
    for t in range(num):
        frames[t, :, :, 2] = 60 + 8 * t
        y = x = 2 + 2 * t
        frames[t, y : y + 16, x : x + 16] = (220, 40, 40)
    return frames


def _nearest(decoded: torch.Tensor, originals: np.ndarray) -> list[int]:
    """Index of the closest original (mean abs error) for each decoded [3,H,W] frame."""
    dec = decoded.permute(0, 2, 3, 1).numpy().astype(np.int32)
    orig = originals.astype(np.int32)
    return [int(np.abs(orig - d).mean(axis=(1, 2, 3)).argmin()) for d in dec]


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    write_mp4(path, _clip(), fps=FPS)
    return path


# --- sampling ---------------------------------------------------------------


def test_segment_indices_eval() -> None:
    assert segment_indices(16, 8) == [1, 3, 5, 7, 8, 10, 12, 14]      # mirrored halves
    assert segment_indices(15, 8) == [0, 2, 4, 6, 8, 10, 12, 14]
    assert segment_indices(8, 8) == list(range(8))
    for total in (5, 8, 16, 17, 30, 100):                              # a reversed video shows the same frames
        for n in (3, 4, 5, 8, 16):
            idx = segment_indices(total, n)
            mirrored = [total - 1 - i for i in reversed(idx)]
            assert idx == sorted(idx)
            if n % 2 and total % 2 == 0:       # odd N, even length: only the middle frame has no mirror
                assert [a for k, a in enumerate(idx) if k != n // 2] == [a for k, a in enumerate(mirrored) if k != n // 2]
                assert idx[n // 2] == total // 2
            else:
                assert mirrored == idx


def test_segment_indices_short_video_repeats() -> None:
    idx = segment_indices(3, 8)
    assert len(idx) == 8
    assert all(0 <= i <= 2 for i in idx)
    assert idx == sorted(idx)
    assert set(idx) == {0, 1, 2}


def test_segment_indices_train_inside_segments() -> None:
    n, k = 50, 8
    draws = []
    for seed in range(5):
        idx = segment_indices(n, k, mode="train", rng=np.random.default_rng(seed))
        assert idx == sorted(idx)
        for i, j in enumerate(idx):
            assert np.floor(i * n / k) <= j < (i + 1) * n / k
        draws.append(idx)
    assert any(d != draws[0] for d in draws[1:])
    # short video in train mode stays in range
    idx = segment_indices(3, 8, mode="train", rng=np.random.default_rng(0))
    assert all(0 <= i <= 2 for i in idx) and idx == sorted(idx)


@pytest.mark.parametrize(
    "args",
    [
        {"num_total": 0, "num_frames": 4},
        {"num_total": -1, "num_frames": 4},
        {"num_total": 10, "num_frames": 0},
        {"num_total": 10, "num_frames": 4, "mode": "test"},
    ],
)
def test_segment_indices_bad_args(args: dict) -> None:
    with pytest.raises(ValueError):
        segment_indices(**args)


# --- write / decode ----------------------------------------------------------


def test_mp4_round_trip(clip_path: Path) -> None:
    frames = decode_frames(clip_path, T)
    assert frames.shape == (T, 3, H, W)
    assert frames.dtype == torch.uint8
    err = np.abs(frames.permute(0, 2, 3, 1).numpy().astype(np.float64) - _clip()).mean()
    assert err < 6, err
    info = probe_video(clip_path)
    assert (info.num_frames, info.width, info.height) == (T, W, H)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(T / FPS, abs=0.2)


def test_write_accepts_torch_tchw(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "torch.mp4"
    write_mp4(path, torch.from_numpy(_clip(4)).permute(0, 3, 1, 2))
    assert path.is_file() and not path.with_name(path.name + ".tmp").exists()
    assert _nearest(decode_frames(path, 4), _clip(4)) == [0, 1, 2, 3]


def test_decode_start_end(clip_path: Path) -> None:
    second_half = decode_frames(clip_path, 8, start_s=1.0)
    assert second_half.shape == (8, 3, H, W)
    assert _nearest(second_half, _clip()) == list(range(8, 16))
    middle = decode_frames(clip_path, 4, start_s=0.5, end_s=1.0)
    assert _nearest(middle, _clip()) == [4, 5, 6, 7]


def test_decode_short_video_repeats(clip_path: Path) -> None:
    frames = decode_frames(clip_path, 24)
    assert frames.shape == (24, 3, H, W)
    near = _nearest(frames, _clip())
    assert near == sorted(near) and set(near) == set(range(T))


def test_decode_empty_window_raises(clip_path: Path) -> None:
    with pytest.raises(VideoDecodeError, match="clip.mp4"):
        decode_frames(clip_path, 4, start_s=10.0)


@pytest.mark.parametrize("kind", ["missing", "zero", "text", "truncated"])
def test_decode_errors_name_file(kind: str, tmp_path: Path, clip_path: Path) -> None:
    path = tmp_path / f"bad_{kind}.mp4"
    if kind == "zero":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a video\n")
    elif kind == "truncated":
        path.write_bytes(clip_path.read_bytes()[:300])
    with pytest.raises(VideoDecodeError) as exc_info:
        decode_frames(path, 4)
    assert path.name in str(exc_info.value)
    with pytest.raises(VideoDecodeError, match=path.name):
        probe_video(path)


def test_write_odd_dims_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="63"):
        write_mp4(tmp_path / "odd.mp4", np.zeros((2, 63, 64, 3), np.uint8))
    assert not list(tmp_path.iterdir())


# --- transforms --------------------------------------------------------------


def test_preprocess_shape_dtype() -> None:
    gen = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 256, (2, 4, 3, 48, 64), dtype=torch.uint8, generator=gen)
    out = preprocess(frames, 32, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    assert out.shape == (2, 4, 3, 32, 32)
    assert out.dtype == torch.float32
    # batched equals per-clip
    single = preprocess(frames[1], 32, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225))
    torch.testing.assert_close(out[1], single)


def test_normalize_half() -> None:
    x = torch.stack([torch.zeros(3, 2, 2), torch.ones(3, 2, 2)])
    y = normalize(x, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert torch.all(y[0] == -1) and torch.all(y[1] == 1)
    u8 = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1).expand(2, 3, 4, 4)
    out = preprocess(u8, 4, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    torch.testing.assert_close(out[0], torch.full((3, 4, 4), -1.0))
    torch.testing.assert_close(out[1], torch.full((3, 4, 4), 1.0))


def test_resize_and_crop_shapes() -> None:
    x = torch.zeros(5, 3, 48, 64, dtype=torch.uint8)
    short = resize_short_side(x, 24)
    assert short.shape == (5, 3, 24, 32) and short.dtype == torch.uint8
    tall = resize_short_side(torch.zeros(3, 64, 48), 24)
    assert tall.shape == (3, 32, 24)
    assert center_crop(short, 24).shape == (5, 3, 24, 24)
    assert resize(x.float(), 16).shape == (5, 3, 16, 16)
    with pytest.raises(ValueError):
        center_crop(short, 40)

"""Video I/O and preprocessing: sampling, decoding (PyAV), transforms, mp4 writing."""

from actionkit.video.decode import (
    VideoDecodeError,
    VideoInfo,
    decode_all_frames,
    decode_clip,
    decode_frames,
    probe_video,
)
from actionkit.video.sampling import segment_indices
from actionkit.video.transforms import (
    center_crop,
    normalize,
    preprocess,
    resize,
    resize_short_side,
    to_float,
)
from actionkit.video.write import write_mp4

__all__ = [
    "VideoDecodeError",
    "VideoInfo",
    "center_crop",
    "decode_all_frames",
    "decode_clip",
    "decode_frames",
    "normalize",
    "preprocess",
    "probe_video",
    "resize",
    "resize_short_side",
    "segment_indices",
    "to_float",
    "write_mp4",
]

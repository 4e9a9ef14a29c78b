"""Views of a clip made from its cached frame features (LSS Sec. 3.2; the views are [open]).

The paper trains on augmented views of each video, differing in spatial crop and in temporal
extent and speed (global views of 4 and 8 frames, local views of 2 to 16, as in the same
lab's self-supervised video transformer). From a cache of ``T`` frames of ``P`` patch tokens on
a ``g x g`` grid, a view is a subset of frames and of patch places:

- **temporal**: global views keep ``T`` frames (stride 1) or ``T/2`` (stride 2, random offset);
  local views keep ``local_frames`` consecutive frames at a random offset;
- **spatial**: global views drop each patch place with probability ``global_token_drop``;
  local views keep a random ``local_grid x local_grid`` sub-grid of places.

The pooled frame embedding (the summary token's input) is the backbone's, of the whole frame,
in every view [open: the backbone pooled it already; recomputing it from the kept tokens would
need the backbone]. One view geometry is drawn per step for the whole batch, from ``gen``
(None: the global RNG, which the trainer reseeds per step).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class View:
    frames: torch.Tensor     # [T'] frame positions, increasing
    patches: torch.Tensor    # [P'] patch places, increasing
    is_global: bool


@dataclass(frozen=True)
class ViewConfig:
    global_views: int = 2          # the teacher sees these; the student too
    local_views: int = 2           # the student only
    local_frames: int = 2          # consecutive frames of a local view
    local_grid: int = 3            # side of a local view's sub-grid of places (0: all places)
    global_token_drop: float = 0.25   # chance of dropping each patch place in a global view


def _global_frames(num_frames: int, k: int, gen: torch.Generator | None) -> torch.Tensor:
    if k % 2 == 0 or num_frames < 4:
        return torch.arange(num_frames)                               # the whole clip
    offset = int(torch.randint(0, 2, (1,), generator=gen))            # half the frames, stride 2
    return torch.arange(offset, num_frames, 2)


def _dropped(num_patches: int, drop: float, gen: torch.Generator | None) -> torch.Tensor:
    keep = torch.rand(num_patches, generator=gen) >= drop
    if not keep.any():
        keep[int(torch.randint(0, num_patches, (1,), generator=gen))] = True
    return keep.nonzero().flatten()


def _sub_grid(grid: int, side: int, gen: torch.Generator | None) -> torch.Tensor:
    if side <= 0 or side >= grid:
        return torch.arange(grid * grid)
    r, c = (int(v) for v in torch.randint(0, grid - side + 1, (2,), generator=gen))
    rows = torch.arange(r, r + side)[:, None] * grid
    return (rows + torch.arange(c, c + side)[None, :]).flatten()


def sample_views(num_frames: int, num_patches: int, cfg: ViewConfig, gen: torch.Generator | None = None) -> list[View]:
    """``cfg.global_views`` global views, then ``cfg.local_views`` local ones, for a clip of
    ``num_frames`` frames of ``num_patches`` places (a square grid, else sub-grids keep all)."""
    grid = int(round(num_patches ** 0.5))
    square = grid * grid == num_patches
    views = [View(_global_frames(num_frames, k, gen), _dropped(num_patches, cfg.global_token_drop, gen), True)
             for k in range(cfg.global_views)]
    length = max(1, min(cfg.local_frames, num_frames))
    for _ in range(cfg.local_views):
        start = int(torch.randint(0, num_frames - length + 1, (1,), generator=gen))
        places = _sub_grid(grid, cfg.local_grid, gen) if square else torch.arange(num_patches)
        views.append(View(torch.arange(start, start + length), places, False))
    return views

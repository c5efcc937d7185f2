"""Pictures compared as decoded pixels, within what an encoder update changes.

A new Pillow or libjpeg writes other bytes for the same picture (Pillow 13's JPEG encoder moved
pixels of input/sketch_chat_photo.jpg by at most 8 levels, 0.013 on average), so generated
inputs are compared by what they show, never by a hash of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

#: Mean absolute difference per channel (0-255) still counted as the same picture.
MEAN_LIMIT = 1.0
#: A pixel channel off by more than this is an outlier ...
OUTLIER_LEVEL = 32
#: ... and at most this share of them is allowed.
OUTLIER_SHARE = 0.001
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp"}


@dataclass(frozen=True)
class Difference:
    """How far two pictures are apart: sizes, mean absolute difference, share of outliers."""

    sizes: tuple[tuple[int, int], tuple[int, int]]
    mean: float
    outlier_share: float

    @property
    def same(self) -> bool:
        return (
            self.sizes[0] == self.sizes[1]
            and self.mean <= MEAN_LIMIT
            and self.outlier_share <= OUTLIER_SHARE
        )


def difference(a: Path, b: Path) -> Difference:
    """Decode both pictures as RGB and measure how far apart they are."""
    first, second = (Image.open(p).convert("RGB") for p in (a, b))
    if first.size != second.size:
        return Difference((first.size, second.size), float("inf"), 1.0)
    delta = np.abs(np.asarray(first, np.int16) - np.asarray(second, np.int16))
    return Difference(
        (first.size, second.size), float(delta.mean()), float((delta > OUTLIER_LEVEL).mean())
    )


def assert_same_files(made: Path, committed: Path) -> None:
    """Every file in ``made`` is in ``committed`` with the same content: pictures as pixels
    (:func:`difference`), anything else byte for byte."""
    names = sorted(p.name for p in made.iterdir())
    assert names, f"nothing was made in {made}"
    for name in names:
        assert (committed / name).exists(), f"{name} is made but not committed in {committed}"
        if Path(name).suffix.lower() in PICTURE_SUFFIXES:
            apart = difference(made / name, committed / name)
            assert apart.same, f"{name}: {apart}"
        else:
            assert (made / name).read_bytes() == (committed / name).read_bytes(), name

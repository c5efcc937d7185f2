"""Pictures compared as decoded pixels, within what an encoder update changes.

A new Pillow or libjpeg writes other bytes for the same picture (Pillow 13's JPEG encoder moved
pixels of input/sketch_chat_photo.jpg by at most 8 levels, 0.013 on average), so generated
inputs are compared by what they show, never by a hash of the file.
"""

from __future__ import annotations

import base64
import io
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


def difference(a: Path | bytes, b: Path | bytes, *, side: int | None = None) -> Difference:
    """Decode both pictures (files or encoded bytes) as RGB and measure how far apart they are;
    with ``side``, after scaling both to fit ``side`` x ``side`` (for renderings whose font
    smoothing may change between browser releases: a changed layout still shows)."""
    first, second = (
        Image.open(io.BytesIO(p) if isinstance(p, bytes) else p).convert("RGB") for p in (a, b)
    )
    if side is not None:
        for picture in (first, second):
            picture.thumbnail((side, side), Image.Resampling.BOX)
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


#: Stored notebook pictures are compared at this size (tests/conftest.py): the content must match,
#: not each anti-aliased pixel of a font or a JPEG block.
NOTEBOOK_PICTURE_SIDE = 256


def stored_picture_difference(stored_b64: str, fresh_b64: str) -> Difference:
    """How far a picture a notebook stores is from the one its cell draws now (base64 data of a
    PNG or JPEG output)."""
    return difference(
        base64.b64decode(stored_b64), base64.b64decode(fresh_b64), side=NOTEBOOK_PICTURE_SIDE
    )

"""Frame sampling cost: cold (decode + cache write) vs warm (cache hit), per backend.

Usage: python bench/frames.py [--video input/vtest.mp4] [--frames 16 64 256] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import report, timed

import helpers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=helpers.INPUT_DIR / "vtest.mp4")
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    info = helpers.describe_video(args.video)
    rows = []
    for backend in helpers.video.available_backends():
        helpers.sample_frames(args.video, 1, backend=backend, use_cache=False)  # import and warm up
        for count in args.frames:

            def cold(backend=backend, count=count):
                with tempfile.TemporaryDirectory() as cache:  # empty cache: decode and write
                    return helpers.sample_frames(
                        args.video, count, backend=backend, cache_dir=cache
                    )

            cold_s, (frames, _) = timed(cold, args.repeats)
            with tempfile.TemporaryDirectory() as cache:
                helpers.sample_frames(args.video, count, backend=backend, cache_dir=cache)
                warm_s, _ = timed(
                    lambda cache=cache, backend=backend, count=count: helpers.sample_frames(
                        args.video, count, backend=backend, cache_dir=cache
                    ),
                    args.repeats,
                )
            rows.append(
                {
                    "backend": backend,
                    "frames": count,
                    "returned": len(frames),
                    "cold_s": round(cold_s, 4),
                    "warm_s": round(warm_s, 4),
                    "warm/cold": round(warm_s / cold_s, 4),
                }
            )
    report(
        "frames",
        rows,
        video=f"{args.video.name}: {info.frames} frames, {info.fps} fps, {info.size_wh}",
    )


if __name__ == "__main__":
    main()

"""Generate input/events.mp4: an 8 s clip with known events at known times, and its truth.

A red ball enters from the left at 2.0 s and a blue square that sat on the right leaves at 6.5 s.
No text is drawn in the frames: the only way to answer "when?" is the time the model is given
(the timestamps the processor writes before each pair of frames), not reading a clock in the
picture. ``events.json`` holds the event times, the interval each object is on screen (for event
localisation) and the questions. Deterministic: the same file every run.
Usage: python scripts/make_events_video.py
"""

from __future__ import annotations

import json
import subprocess

import cv2
import numpy as np

import helpers

FPS = 10
SECONDS = 8.0
SIZE_WH = (320, 240)
EVENTS = {
    "red_ball_enters": 2.0,  # the red ball first appears at the left edge
    "blue_square_leaves": 6.5,  # the blue square is gone from this frame on
}
# What is on screen when, as (start, end) in seconds: the truth for event localisation.
INTERVALS = {
    "blue_square_visible": {
        "start": 0.0,
        "end": EVENTS["blue_square_leaves"],
        "description": "a blue square sits on the right",
    },
    "red_ball_visible": {
        "start": EVENTS["red_ball_enters"],
        "end": SECONDS,
        "description": "a red ball rolls in from the left",
    },
}
QUESTIONS = {
    "red_ball_enters": "At what second does the red ball first appear?",
    "blue_square_leaves": "At what second does the blue square disappear?",
}


def frame_at(index: int) -> np.ndarray:
    """BGR frame ``index``: grey background, ball and square per EVENTS, and no text."""
    w, h = SIZE_WH
    t = index / FPS
    frame = np.full((h, w, 3), 200, np.uint8)
    if t < EVENTS["blue_square_leaves"]:
        cv2.rectangle(frame, (240, 90), (290, 140), (255, 0, 0), thickness=-1)
    if t >= EVENTS["red_ball_enters"]:
        x = int(10 + (t - EVENTS["red_ball_enters"]) * 35)
        cv2.circle(frame, (x, 170), 18, (0, 0, 255), thickness=-1)
    return frame


def main() -> None:
    out = helpers.INPUT_DIR / "events.mp4"
    w, h = SIZE_WH
    command = [
        "ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24",
        "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium",
        "-crf", "23", "-pix_fmt", "yuv420p", "-threads", "1", "-bitexact", "-map_metadata", "-1", str(out),
    ]  # fmt: skip
    frames = b"".join(frame_at(i).tobytes() for i in range(int(SECONDS * FPS)))
    subprocess.run(command, input=frames, check=True)
    truth = {
        "fps": FPS,
        "seconds": SECONDS,
        "events": EVENTS,
        "intervals": INTERVALS,
        "questions": QUESTIONS,
    }
    (helpers.INPUT_DIR / "events.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes) and events.json")


if __name__ == "__main__":
    main()

import multiprocessing
import os
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import video as video_mod
from helpers.video import available_backends, cache_entry, even_indices, sample_frames

FPS = 10
BITS = 7


def _encode_index(index: int) -> np.ndarray:
    """A 112x48 frame whose 7 vertical bars spell ``index`` in binary (white = 1)."""
    frame = np.zeros((48, 16 * BITS, 3), np.uint8)
    for bit in range(BITS):
        if index >> bit & 1:
            frame[:, bit * 16 : (bit + 1) * 16] = 255
    return frame


def _decode_index(frame: np.ndarray) -> int:
    bars = frame[:, :, :].reshape(48, BITS, 16, 3).mean(axis=(0, 2, 3))
    return int(sum(1 << bit for bit in range(BITS) if bars[bit] > 127))


def _write_video(path, num_frames: int, offset: int = 0) -> None:
    raw = b"".join(_encode_index(i + offset).tobytes() for i in range(num_frames))
    command = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24"]
    command += ["-s", f"{16 * BITS}x48", "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-qp", "0"]
    command += ["-pix_fmt", "yuv444p", str(path)]
    subprocess.run(command, input=raw, check=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "indexed.mp4"
    _write_video(path, 50)
    return path


@pytest.mark.parametrize(
    ("total", "num", "expected"),
    [
        (50, 5, [0, 12, 24, 37, 49]),  # spread over the whole clip, ends included
        (50, 1, [0]),  # one frame: the first
        (4, 4, [0, 1, 2, 3]),  # every frame
    ],
)
def test_even_indices(total, num, expected):
    assert even_indices(total, num).tolist() == expected


@pytest.mark.parametrize("backend", available_backends())
def test_frames_match_their_timestamps(clip, tmp_path, backend):
    frames, timestamps = sample_frames(clip, 5, backend=backend, cache_dir=tmp_path)
    assert frames.dtype == np.uint8 and frames.shape == (5, 48, 16 * BITS, 3)
    indices = [_decode_index(f) for f in frames]
    assert indices == [0, 12, 24, 37, 49]
    np.testing.assert_allclose(timestamps, np.array(indices) / FPS, atol=1e-3)


def test_backends_agree(clip, tmp_path):
    backends = available_backends()
    assert len(backends) >= 2, f"need two backends to compare, have {backends}"
    results = [sample_frames(clip, 8, backend=b, use_cache=False) for b in backends]
    for frames, stamps in results[1:]:
        assert np.abs(frames.astype(int) - results[0][0].astype(int)).mean() < 2.0  # codec noise
        np.testing.assert_allclose(stamps, results[0][1], atol=1e-3)


def _fail(*_args):
    raise AssertionError("decoded although the cache should have answered")


def test_second_call_is_served_from_cache(clip, tmp_path, monkeypatch):
    first = sample_frames(clip, 6, cache_dir=tmp_path)
    for name in video_mod.DECODERS:
        monkeypatch.setitem(video_mod.DECODERS, name, _fail)
    second = sample_frames(clip, 6, cache_dir=tmp_path)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_changed_file_at_same_path_misses_cache(tmp_path):
    path = tmp_path / "clip.mp4"
    _write_video(path, 20)
    before, _ = sample_frames(path, 3, cache_dir=tmp_path / "cache")
    _write_video(path, 20, offset=60)  # same path, new content
    after, _ = sample_frames(path, 3, cache_dir=tmp_path / "cache")
    assert [_decode_index(f) for f in before] == [0, 10, 19]
    assert [_decode_index(f) for f in after] == [60, 70, 79]


def test_frame_count_is_part_of_the_key(clip, tmp_path):
    assert len(sample_frames(clip, 3, cache_dir=tmp_path)[0]) == 3
    assert len(sample_frames(clip, 4, cache_dir=tmp_path)[0]) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],  # half-written file
        lambda data: b"",  # empty file
        lambda data: b"garbage" * 100,  # not an npz at all
    ],
)
def test_corrupt_cache_entry_is_rebuilt(clip, tmp_path, damage):
    good, _ = sample_frames(clip, 4, cache_dir=tmp_path)
    [entry] = list(tmp_path.glob("*.npz"))
    entry.write_bytes(damage(entry.read_bytes()))
    with pytest.warns(UserWarning, match="corrupt"):
        rebuilt, _ = sample_frames(clip, 4, cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt, good)
    assert np.load(entry)["frames"].shape == good.shape  # the entry is valid again


def _worker(args):
    clip, folder = args
    frames, _ = sample_frames(clip, 8, cache_dir=folder)
    return frames.shape


def test_concurrent_writers_leave_a_valid_entry(clip, tmp_path):
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        shapes = pool.map(_worker, [(str(clip), str(tmp_path))] * 4)
    assert len(set(shapes)) == 1
    entries = list(tmp_path.iterdir())
    assert [e.suffix for e in entries] == [".npz"]  # no temporary files left behind
    assert np.load(entries[0])["frames"].shape == shapes[0]


def test_more_frames_than_video_has_are_clamped(clip, tmp_path):
    with pytest.warns(UserWarning, match="only 50 frames"):
        frames, _ = sample_frames(clip, 500, cache_dir=tmp_path)
    assert len(frames) == 50


@pytest.mark.parametrize(
    ("make", "error", "pattern"),
    [
        (lambda d: d / "missing.mp4", helpers.MissingInputError, r"video not found.*missing\.mp4"),
        (lambda d: d, helpers.InputError, r"is a folder"),
        (lambda d: _touch(d / "empty.mp4", b""), helpers.InputError, r"empty file"),
        (
            lambda d: _touch(d / "junk.mp4", b"not a video" * 50),
            helpers.InputError,
            r"could not be decoded.*ffmpeg",
        ),
    ],
)
def test_bad_videos(tmp_path, make, error, pattern):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=pattern):
            sample_frames(make(tmp_path), 4, cache_dir=tmp_path / "cache")


def _touch(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("num", [0, -3, 2.5])
def test_bad_frame_counts(clip, num):
    with pytest.raises(ValueError, match="positive integer"):
        sample_frames(clip, num)


def test_cache_key_covers_content(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    a.write_bytes(b"1" * 10)
    b.write_bytes(b"2" * 10)
    key_a, key_b = helpers.video.file_digest(a), helpers.video.file_digest(b)
    assert key_a != key_b  # same size, other content
    assert cache_entry(key_a, 4, "decord", tmp_path) != cache_entry(key_a, 5, "decord", tmp_path)
    assert cache_entry(key_a, 4, "decord", tmp_path) != cache_entry(key_a, 4, "opencv", tmp_path)
    os.replace(b, a)
    assert helpers.video.file_digest(a) == key_b  # the key follows the content, not the path


def test_image_grid_sizes_and_captions():
    red = Image.new("RGB", (40, 30), "red")
    small_blue = np.zeros((10, 20, 3), np.uint8)
    small_blue[..., 2] = 255
    grid = helpers.image_grid([red, small_blue, red], columns=2, gap=0)
    assert grid.size == (80, 60)  # tiles take the first image's size; 2 rows
    assert grid.getpixel((5, 25)) == (255, 0, 0)
    assert grid.getpixel((60, 15))[2] == 255  # the smaller image is letterboxed into its tile
    assert grid.getpixel((60, 59)) == (255, 255, 255)  # empty last cell stays white
    captioned = helpers.image_grid([red, red], columns=2, captions=["0.0 s", "1.5 s"], gap=0)
    assert captioned.getpixel((8, 8)) != (255, 0, 0)  # caption background drawn on the tile


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"images": []}, "no images"),
        ({"images": [np.zeros((4, 4))]}, "HxWx3"),
        ({"images": [np.zeros((4, 4, 3))], "captions": ["a", "b"]}, "1 images but 2 captions"),
    ],
)
def test_image_grid_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        helpers.image_grid(**kwargs)


def test_video_tokens_match_processor(tiny, clip):
    _, processor = tiny
    messages = helpers.video_message(
        clip, "What happens?", nframes=8, min_pixels=64 * 32, max_pixels=128 * 32 * 32
    )
    [count] = helpers.count_visual_tokens(processor, messages)
    inputs = helpers.prepare_inputs(processor, [helpers.check_messages(messages)])
    video_pad = processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert count.kind == "video" and count.grid_thw[0] == 4  # 8 frames, temporal patch 2
    assert count.tokens == int((inputs["input_ids"] == video_pad).sum())


def test_chat_on_video_and_frame_list(tiny, clip):
    model, processor = tiny
    answer = helpers.chat(
        model, processor, helpers.video_message(clip, "What happens?", nframes=4), max_new_tokens=4
    )
    assert answer.strip()
    frames, _ = sample_frames(clip, 4, use_cache=False)
    answer = helpers.chat(
        model,
        processor,
        helpers.video_message(list(frames), "What happens?", sample_fps=1.0),
        max_new_tokens=4,
    )
    assert answer.strip()


def test_image_grid_caps_large_tiles():
    big = np.zeros((2160, 3840, 3), np.uint8)
    grid = helpers.image_grid([big, big], columns=2, gap=0)
    assert grid.size == (2 * 640, 360)  # 4K frames shrunk to 640-pixel tiles


def test_describe_video_reads_the_container(clip):
    info = helpers.describe_video(clip)
    assert isinstance(info, helpers.VideoInfo)
    assert (info.frames, info.fps, info.size_wh) == (50, FPS, (16 * BITS, 48))
    assert info.seconds == pytest.approx(50 / FPS)


def test_events_clip_has_no_text_in_its_frames():
    # The clip's corner where a clock was once drawn stays plain background in every frame, so
    # "when?" can only be answered from the timestamps the model is given.
    frames, _ = helpers.sample_frames(
        helpers.INPUT_DIR / "events.mp4", 80, backend="opencv", use_cache=False
    )
    corner = frames[:, 0:40, 0:300].astype(int)
    assert np.abs(corner - 200).max() < 16


def test_video_timestamps_are_the_processors_markers(tiny):
    _model, processor = tiny
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", fps=2.0)
    markers = helpers.video_timestamps(processor, messages)
    [cost] = helpers.count_visual_tokens(processor, messages)
    assert len(markers) == cost.grid_thw[0]  # one marker per temporal patch
    seconds = [float(m.removeprefix("<").removesuffix(" seconds>")) for m in markers]
    assert seconds == sorted(seconds)
    assert 0 <= seconds[0] < 1 and 7 <= seconds[-1] <= 8  # spread over the 8 s clip


def test_server_timestamps_mirror_the_processors(tiny):
    from helpers.budget import _timestamps_from_metadata
    from helpers.remote import RemoteProcessor

    _model, processor = tiny
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", fps=4.0)
    remote = RemoteProcessor()
    assert _timestamps_from_metadata(remote, messages) == helpers.video_timestamps(
        processor, messages
    )

import multiprocessing
import os
import subprocess
import warnings

import numpy as np
import pytest
from PIL import Image

import helpers
from helpers import video as video_mod
from helpers.chat import prepare_inputs
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
        ({"images": [np.zeros((4, 4, 2))]}, "HxW, HxWx3 or HxWx4"),
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
    inputs = prepare_inputs(processor, [helpers.check_messages(messages)])
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
    assert isinstance(info, helpers.video.VideoInfo)
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
    from helpers.serving import RemoteProcessor

    _model, processor = tiny
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", fps=4.0)
    remote = RemoteProcessor()
    assert _timestamps_from_metadata(remote, messages) == helpers.video_timestamps(
        processor, messages
    )


def _swap_by_rename(path, other):
    os.replace(other, path)  # another file moved over the path (new inode)


def _swap_in_place(path, other):
    path.write_bytes(other.read_bytes())  # the same file rewritten


@pytest.mark.parametrize("swap", [_swap_by_rename, _swap_in_place])
def test_video_swapped_while_decoding_is_not_cached_under_the_old_key(tmp_path, monkeypatch, swap):
    path, other, cache = tmp_path / "clip.mp4", tmp_path / "other.mp4", tmp_path / "cache"
    _write_video(path, 20)
    _write_video(other, 20, offset=60)
    old_digest = helpers.video.file_digest(path)
    backend = available_backends()[0]
    real = video_mod.DECODERS[backend]
    calls = []

    def swap_then_decode(file, num):
        if not calls:
            swap(path, other)  # between hashing and decoding
        calls.append(file)
        return real(file, num)

    monkeypatch.setitem(video_mod.DECODERS, backend, swap_then_decode)
    frames, _ = sample_frames(path, 3, backend=backend, cache_dir=cache)
    assert [_decode_index(f) for f in frames] == [60, 70, 79]  # the file as it is now
    assert not cache_entry(old_digest, 3, backend, cache).exists()  # not under the old key
    for entry in cache.glob("*.npz"):  # every entry holds the frames of the content it names
        assert entry.name.startswith(helpers.video.file_digest(path))


def test_cache_entry_that_is_a_folder(clip, tmp_path, monkeypatch):
    backend = available_backends()[0]
    cache_entry(helpers.video.file_digest(clip), 4, backend, tmp_path).mkdir(parents=True)
    for name in video_mod.DECODERS:
        monkeypatch.setitem(video_mod.DECODERS, name, _fail)  # refused before any decoding
    with pytest.raises(helpers.InputError, match=r"cache entry .*\.npz' is a folder.*rm -r"):
        sample_frames(clip, 4, backend=backend, cache_dir=tmp_path)


def _cache_is_a_file(tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("not a folder")


def _read_only(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "cache"))

    monkeypatch.setattr(
        video_mod, "write_atomic", refuse
    )  # as in a read-only folder (root ignores chmod)


def _disk_full(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(video_mod, "write_atomic", full)


@pytest.mark.parametrize("problem", [_cache_is_a_file, _read_only, _disk_full])
def test_unwritable_cache_still_returns_the_frames(clip, tmp_path, monkeypatch, problem):
    expected, stamps = sample_frames(clip, 5, use_cache=False)
    problem(tmp_path, monkeypatch)
    with pytest.warns(UserWarning, match=r"could not cache the frames.*cache_dir"):
        frames, timestamps = sample_frames(clip, 5, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(frames, expected)
    np.testing.assert_array_equal(timestamps, stamps)


def _one_frame(path):
    _write_video(path, 1)


def _sound_only(path):
    command = ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1"]
    subprocess.run([*command, "-c:a", "aac", str(path)], check=True)


def _truncated(path):
    _write_video(path, 30)
    path.write_bytes(path.read_bytes()[:400])  # the container's index never written


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (_one_frame, r"has 1 frame; the model needs at least 2.*image_message"),  # a still
        (_sound_only, r"cannot be opened as a video.*sound only"),  # audio, no pictures
        (lambda p: p.write_bytes(os.urandom(3000)), r"cannot be opened as a video"),  # garbage
        (_truncated, r"cannot be opened as a video"),  # cut off
        (lambda p: p.write_text("<html>not a video</html>"), r"cannot be opened as a video"),
    ],
)
def test_unusable_videos_fail_before_the_model_runs(tiny, tmp_path, monkeypatch, make, pattern):
    model, processor = tiny
    path = tmp_path / "clip.mp4"
    make(path)
    monkeypatch.setattr(model, "generate", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(helpers.InputError, match=rf"clip\.mp4.*{pattern}"):
        helpers.chat(model, processor, helpers.video_message(path, "What happens?"))


@pytest.mark.parametrize(
    ("budget", "pattern"),
    [
        ({"fps": 0}, "fps must be a positive"),  # no frames per second
        ({"fps": -2.0}, "fps must be a positive"),  # negative
        ({"nframes": 1}, "nframes must be a whole number of at least 2"),  # one frame
        ({"nframes": 2.5}, "nframes must be a whole number"),  # a fraction
        ({"nframes": 500}, "nframes=500 but the video has only 50 frames"),  # more than there are
        ({"max_frames": 0}, "max_frames must be a whole number"),  # zero
        (
            {"min_frames": 8, "max_frames": 4},
            r"min_frames \(8\) is larger than max_frames",
        ),  # crossed
        ({"max_pixels": 0}, "max_pixels must be a positive"),  # no pixels
        ({"fps": 2, "nframes": 4}, "either 'fps' or 'nframes'"),  # both
    ],
)
def test_bad_video_settings_fail_before_the_model_runs(tiny, clip, monkeypatch, budget, pattern):
    model, processor = tiny
    monkeypatch.setattr(model, "generate", lambda *a, **k: pytest.fail("the model ran"))
    with pytest.raises(helpers.InputError, match=pattern):
        helpers.chat(model, processor, helpers.video_message(clip, "x", **budget))

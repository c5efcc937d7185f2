import pytest
from PIL import Image

import helpers


@pytest.mark.parametrize(
    ("size_wh", "budget"),
    [
        ((512, 480), {}),  # native size, already a multiple of 32 in width
        ((1000, 700), {"max_pixels": 128 * 32 * 32}),  # shrunk into a budget
        ((64, 40), {}),  # tiny image, raised to the minimum
        ((3000, 200), {"max_pixels": 256 * 32 * 32}),  # extreme aspect ratio
    ],
)
def test_image_estimate_matches_processor(tiny, size_wh, budget):
    _, processor = tiny
    [count] = helpers.count_visual_tokens(
        processor, helpers.image_message(Image.new("RGB", size_wh), "x", **budget)
    )
    assert helpers.budget.estimate_visual_tokens(size_wh, **budget) == count.tokens


@pytest.mark.parametrize(
    "budget",
    [
        {"nframes": 8},  # default per-frame budget
        {"nframes": 16, "max_pixels": 64 * 32 * 32},  # small frames
        {"nframes": 32, "total_pixels": 4096 * 32 * 32},  # a total budget shared by the frames
    ],
)
def test_video_estimate_matches_processor(tiny, budget):
    _, processor = tiny
    video = helpers.INPUT_DIR / "vtest.mp4"
    [count] = helpers.count_visual_tokens(processor, helpers.video_message(video, "x", **budget))
    size = helpers.describe_video(video).size_wh
    min_pixels = (
        {"min_pixels": min(128 * 32 * 32, budget["max_pixels"])} if "max_pixels" in budget else {}
    )
    estimate = helpers.budget.estimate_visual_tokens(
        size,
        num_frames=budget["nframes"],
        **{k: v for k, v in budget.items() if k != "nframes"},
        **min_pixels,
    )
    assert estimate == count.tokens


@pytest.mark.parametrize(
    "budget",
    [
        {"nframes": 16, "max_pixels": 64 * 32 * 32},  # below the default frame floor: lowers it
        {"nframes": 8, "max_pixels": 32 * 32 * 32, "min_pixels": 16 * 32 * 32},  # both given
    ],
)
def test_video_budget_rule_is_the_same_for_estimate_and_messages(tiny, budget):
    _, processor = tiny
    video = helpers.INPUT_DIR / "vtest.mp4"
    [count] = helpers.count_visual_tokens(processor, helpers.video_message(video, "x", **budget))
    size = helpers.describe_video(video).size_wh
    estimate = helpers.budget.estimate_visual_tokens(
        size, num_frames=budget["nframes"], **{k: v for k, v in budget.items() if k != "nframes"}
    )
    assert estimate == count.tokens


def test_small_video_max_pixels_without_min_pixels():
    # qwen-vl-utils alone stops at a bare AssertionError here (its frame floor is 128 tokens)
    tokens = helpers.budget.estimate_visual_tokens(
        (384, 288), num_frames=16, max_pixels=64 * 32 * 32
    )
    # 16 frames = 8 temporal patches; each frame shrunk to at most 64 tokens of 32x32 pixels with
    # its aspect kept: 288x192 pixels, 9 x 6 tokens
    assert tokens == 8 * 9 * 6


def test_video_floor_matches_qwen_vl_utils():
    from qwen_vl_utils import vision_process

    assert helpers.common.sizes.VIDEO_MIN_TOKENS == vision_process.VIDEO_MIN_TOKEN_NUM
    assert helpers.common.sizes.IMAGE_MIN_TOKENS == vision_process.IMAGE_MIN_TOKEN_NUM
    assert helpers.common.sizes.IMAGE_MAX_TOKENS == vision_process.IMAGE_MAX_TOKEN_NUM


@pytest.mark.parametrize(
    "budget",
    [
        {"max_pixels": 2048},  # two tokens, below the default floor (4): the floor follows it
        {"max_pixels": 3 * 32 * 32},  # just under the floor
        {"min_pixels": 5000},  # a floor alone, within the default ceiling
    ],
)
def test_one_sided_image_budgets_match_the_processor(tiny, rgb_image, budget):
    _, processor = tiny
    messages = helpers.image_message(rgb_image, "x", **budget)
    [count] = helpers.count_visual_tokens(processor, messages)
    assert count.tokens == helpers.budget.estimate_visual_tokens(
        (96, 64), **budget
    )  # the fixture's size


@pytest.mark.parametrize(
    ("kind", "budget", "message"),
    [
        # a floor above the default ceiling, no ceiling given
        ("image", {"min_pixels": 10**8}, r"min_pixels \(100000000\) is above the default"),
        # a ceiling below one visual token
        ("image", {"max_pixels": 1000}, r"max_pixels \(1000\) is below one visual token"),
        ("image", {"max_pixels": 1}, r"max_pixels \(1\) is below one visual token"),
        ("video", {"max_pixels": 1000}, r"max_pixels \(1000\) is below one visual token"),
        # one token's worth, but the 96x64 picture has no whole token at that size
        ("image", {"max_pixels": 1024}, r"96x64 image keeps no whole 32x32 token.*at least 2048"),
    ],
)
def test_impossible_budgets_are_refused_before_work(tiny, rgb_image, kind, budget, message):
    _, processor = tiny
    if kind == "image":
        messages = helpers.image_message(rgb_image, "x", **budget)
    else:
        messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "x", **budget)
    with pytest.raises(helpers.InputError, match=message):
        helpers.count_visual_tokens(processor, messages)


def test_video_inputs_raise_no_per_frame_cap_warning(tiny, caplog):
    # transformers 5.25 warns on every video whose per-frame pixel cap is unset; the helpers' frames
    # are already sized by qwen-vl-utils, so they say so (and the warning would be noise).
    import logging

    _, processor = tiny
    logging.Logger.warning_once.cache_clear()  # a warning shown earlier would hide this one
    messages = helpers.video_message(helpers.INPUT_DIR / "events.mp4", "x", nframes=4)
    with caplog.at_level(logging.WARNING):
        helpers.count_visual_tokens(processor, messages)
    assert not [r for r in caplog.records if "per-frame pixel cap" in r.getMessage()]

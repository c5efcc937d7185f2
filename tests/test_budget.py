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
    assert helpers.estimate_visual_tokens(size_wh, **budget) == count.tokens


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
    estimate = helpers.estimate_visual_tokens(
        size,
        num_frames=budget["nframes"],
        **{k: v for k, v in budget.items() if k != "nframes"},
        **min_pixels,
    )
    assert estimate == count.tokens


def test_kv_cache_bytes_for_4b():
    from transformers import Qwen3VLTextConfig

    config = Qwen3VLTextConfig(
        num_hidden_layers=36,
        num_key_value_heads=8,
        head_dim=128,
        hidden_size=2560,
        num_attention_heads=32,
    )
    assert (
        helpers.kv_cache_bytes(config, 1) == 2 * 36 * 8 * 128 * 2
    )  # 147,456 bytes per token in bf16
    assert helpers.kv_cache_bytes(config, 1024, batch=8) == 147_456 * 1024 * 8


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
    estimate = helpers.estimate_visual_tokens(
        size, num_frames=budget["nframes"], **{k: v for k, v in budget.items() if k != "nframes"}
    )
    assert estimate == count.tokens


def test_small_video_max_pixels_without_min_pixels():
    # qwen-vl-utils alone stops at a bare AssertionError here (its frame floor is 128 tokens)
    tokens = helpers.estimate_visual_tokens((384, 288), num_frames=16, max_pixels=64 * 32 * 32)
    # 16 frames = 8 temporal patches; each frame shrunk to at most 64 tokens of 32x32 pixels with
    # its aspect kept: 288x192 pixels, 9 x 6 tokens
    assert tokens == 8 * 9 * 6


def test_video_floor_matches_qwen_vl_utils():
    from qwen_vl_utils import vision_process

    assert helpers.sizes.VIDEO_MIN_TOKENS == vision_process.VIDEO_MIN_TOKEN_NUM

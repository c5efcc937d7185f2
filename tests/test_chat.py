import pytest
import torch

import helpers
from helpers.chat import Answer, prepare_inputs, split_thinking


@pytest.mark.parametrize(
    ("raw", "thinking", "answer"),
    [
        ("A red apple.", "", "A red apple."),  # Instruct model: no thinking block
        ("<think>It is red.</think>\n\nAn apple.", "It is red.", "An apple."),  # full block
        ("It is red.\n</think>\n\nAn apple.", "It is red.", "An apple."),  # opening tag in prompt
        ("<think>Still thinking about", "Still thinking about", ""),  # cut off while thinking
    ],
)
def test_split_thinking(raw, thinking, answer):
    assert split_thinking(raw) == (thinking, answer)
    result = Answer(raw)
    assert result == answer and result.thinking == thinking and result.raw == raw


def test_chat_image_end_to_end(tiny, rgb_image):
    model, processor = tiny
    answer = helpers.chat(
        model, processor, helpers.image_message(rgb_image, "Describe."), max_new_tokens=6
    )
    assert isinstance(answer, str) and answer.strip()
    # trimmed: no prompt text, no special tokens
    assert "Describe" not in answer and "<|im_start|>" not in answer


def test_chat_text_only(tiny):
    model, processor = tiny
    answer = helpers.chat(
        model, processor, [{"role": "user", "content": "Hello"}], max_new_tokens=5
    )
    assert answer.strip()


def test_greedy_is_deterministic(tiny, rgb_image):
    model, processor = tiny
    messages = helpers.image_message(rgb_image, "Describe.")
    first = helpers.chat(model, processor, messages, max_new_tokens=8)
    assert helpers.chat(model, processor, messages, max_new_tokens=8) == first


def test_stream_prints_and_returns_same_text(tiny, rgb_image, capsys):
    model, processor = tiny
    messages = helpers.image_message(rgb_image, "Describe.")
    streamed = helpers.chat(model, processor, messages, max_new_tokens=8, stream=True)
    assert streamed == helpers.chat(model, processor, messages, max_new_tokens=8)
    assert streamed.strip() in capsys.readouterr().out


def test_batch_matches_single_prompts(tiny, rgb_image):
    model, processor = tiny
    conversations = [
        helpers.image_message(rgb_image, "Describe the colours in detail, please."),
        [{"role": "user", "content": "Hi"}],  # shorter: gets left padding
    ]
    batch = helpers.chat_batch(model, processor, conversations, max_new_tokens=6)
    singles = [helpers.chat(model, processor, c, max_new_tokens=6) for c in conversations]
    assert batch == singles


def test_sampling_preset_is_seeded_and_differs_from_greedy(tiny, rgb_image):
    model, processor = tiny
    messages = helpers.image_message(rgb_image, "Describe.")
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        runs.append(helpers.chat(model, processor, messages, max_new_tokens=12, preset="sampling"))
    assert runs[0] == runs[1]
    assert helpers.GENERATION_PRESETS["sampling"]["top_k"] == 20


def test_unknown_preset(tiny, rgb_image):
    model, processor = tiny
    with pytest.raises(ValueError, match=r"unknown preset 'creative'.*greedy"):
        helpers.chat(model, processor, helpers.image_message(rgb_image, "x"), preset="creative")


def test_bad_input_fails_before_generation(tiny, tmp_path):
    model, processor = tiny
    with pytest.raises(helpers.MissingInputError, match=r"missing\.png"):
        helpers.chat(model, processor, helpers.image_message(tmp_path / "missing.png", "x"))


def test_count_visual_tokens_matches_prompt(tiny, rgb_image):
    _, processor = tiny
    messages = helpers.image_message(rgb_image, "x")
    [count] = helpers.count_visual_tokens(processor, messages)
    inputs = prepare_inputs(processor, [helpers.check_messages(messages)])
    image_pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert count.tokens == int((inputs["input_ids"] == image_pad).sum())
    assert count.resized_wh == (96, 64)  # already multiples of 32: kept


def test_pixel_budget_lowers_tokens(tiny):
    _, processor = tiny
    image = helpers.INPUT_DIR / "fruits.jpg"
    full = helpers.count_visual_tokens(processor, helpers.image_message(image, "x"))[0].tokens
    small = helpers.count_visual_tokens(
        processor, helpers.image_message(image, "x", max_pixels=64 * 32 * 32)
    )[0].tokens
    assert small <= 64 < full


@pytest.mark.parametrize("value", [0, -5, 2.5, "64", True, None])
def test_bad_max_new_tokens(tiny, value):
    model, processor = tiny
    with pytest.raises(ValueError, match="max_new_tokens must be a whole number"):
        helpers.chat(model, processor, [{"role": "user", "content": "Hi"}], max_new_tokens=value)

import pytest
import torch

import helpers
from helpers import fast as fast_mod
from helpers.chat import GENERATION_PRESETS, prepare_inputs
from helpers.fast import fast_generate

CASES = {
    "image": lambda: helpers.image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe."),
    "video": lambda: helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", nframes=8),
    "text": lambda: [{"role": "user", "content": "Hello there"}],
}


def _inputs(processor, name):
    return prepare_inputs(processor, [helpers.check_messages(CASES[name]())])


@pytest.mark.parametrize("name", list(CASES))
def test_greedy_tokens_and_logits_match_generate(tiny, name, monkeypatch):
    model, processor = tiny
    inputs = _inputs(processor, name)
    reference = model.generate(
        **inputs,
        max_new_tokens=20,
        output_logits=True,
        return_dict_in_generate=True,
        **GENERATION_PRESETS["greedy"],
    )
    seen = []
    select = fast_mod._select
    monkeypatch.setattr(
        fast_mod, "_select", lambda logits, *a: seen.append(logits.clone()) or select(logits, *a)
    )
    tokens = fast_generate(model, inputs, max_new_tokens=20, settings=GENERATION_PRESETS["greedy"])
    assert torch.equal(tokens, reference.sequences[:, inputs["input_ids"].shape[1] :])
    torch.testing.assert_close(torch.cat(seen), torch.cat(reference.logits), rtol=1e-4, atol=1e-4)


def test_wrong_rope_delta_would_be_caught(tiny, monkeypatch):
    """The logits check above can fail: decoding images without the MRoPE shift changes them."""
    model, processor = tiny
    inputs = _inputs(processor, "image")
    reference = model.generate(
        **inputs,
        max_new_tokens=6,
        output_logits=True,
        return_dict_in_generate=True,
        **GENERATION_PRESETS["greedy"],
    )
    real = fast_mod._positions

    def no_shift(model, inputs):
        positions, delta = real(model, inputs)
        assert int(delta.abs().sum()) > 0  # an image prompt does shift positions
        return positions, torch.zeros_like(delta)

    monkeypatch.setattr(fast_mod, "_positions", no_shift)
    seen = []
    select = fast_mod._select
    monkeypatch.setattr(
        fast_mod, "_select", lambda logits, *a: seen.append(logits.clone()) or select(logits, *a)
    )
    fast_generate(model, inputs, max_new_tokens=6, settings=GENERATION_PRESETS["greedy"])
    assert not torch.allclose(torch.cat(seen[1:]), torch.cat(reference.logits[1:]), atol=1e-4)


def test_chat_fast_equals_default_and_streams(tiny, capsys):
    model, processor = tiny
    messages = CASES["image"]()
    default = helpers.chat(model, processor, messages, max_new_tokens=12)
    fast = helpers.chat(model, processor, messages, max_new_tokens=12, fast=True, stream=True)
    assert fast == default
    out = capsys.readouterr().out
    assert default.strip() in out and "Describe" not in out  # the prompt is not echoed


def test_cpu_falls_back_to_eager_steps_with_one_line(tiny, capsys):
    model, processor = tiny
    model.__dict__.pop("_cookbook_fast_state", None)
    for _ in range(2):
        helpers.chat(model, processor, CASES["text"](), max_new_tokens=3, fast=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("fast path:")]
    assert len(lines) == 1 and "CUDA graphs need an NVIDIA GPU" in lines[0]


def test_stops_at_eos_and_honours_min_new_tokens(tiny):
    model, processor = tiny
    inputs = _inputs(processor, "text")
    eos = model.generation_config.eos_token_id[0]

    def eos_wins(_module, _args, logits):
        logits[..., eos] = logits.max() + 10.0
        return logits

    hook = model.lm_head.register_forward_hook(eos_wins)
    try:
        assert fast_generate(
            model, inputs, max_new_tokens=8, settings={"do_sample": False}
        ).tolist() == [[eos]]
        forced = fast_generate(
            model, inputs, max_new_tokens=8, settings={"do_sample": False, "min_new_tokens": 5}
        )
        reference = model.generate(
            **inputs, max_new_tokens=8, min_new_tokens=5, **GENERATION_PRESETS["greedy"]
        )
        assert torch.equal(forced, reference[:, inputs["input_ids"].shape[1] :])
        assert forced.shape[1] == 6 and int(forced[0, -1]) == eos
    finally:
        hook.remove()


def test_sampling_is_seeded_and_respects_top_k(tiny):
    model, processor = tiny
    inputs = _inputs(processor, "text")
    settings = {"do_sample": True, "temperature": 0.7, "top_k": 1, "top_p": 0.8}
    # top_k=1 leaves one candidate: sampling must equal greedy
    greedy = fast_generate(model, inputs, max_new_tokens=10, settings={"do_sample": False})
    assert torch.equal(fast_generate(model, inputs, max_new_tokens=10, settings=settings), greedy)
    wide = {**settings, "top_k": 50, "top_p": 1.0, "temperature": 5.0}
    runs = [
        fast_generate(
            model,
            inputs,
            max_new_tokens=10,
            settings=wide,
            generator=torch.Generator().manual_seed(3),
        )
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], greedy)


def test_batches_are_refused(tiny):
    model, processor = tiny
    inputs = prepare_inputs(processor, [helpers.check_messages(CASES["text"]())] * 2)
    with pytest.raises(ValueError, match="one conversation at a time"):
        fast_generate(model, inputs, max_new_tokens=2, settings={})

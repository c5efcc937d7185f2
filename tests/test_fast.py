import pytest
import torch

import helpers
from helpers.chat import prepare_inputs
from helpers.fast import decode as fast_mod
from helpers.fast import fast_generate
from helpers.prompts import GENERATION_PRESETS

CASES = {
    "image": lambda: helpers.image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe."),
    "video": lambda: helpers.video_message(helpers.INPUT_DIR / "events.mp4", "When?", nframes=8),
    "text": lambda: [{"role": "user", "content": "Hello there"}],
}


def _spy_logits(monkeypatch):
    """Record the logits each token is chosen from."""
    seen = []
    real = fast_mod._next_token
    monkeypatch.setattr(
        fast_mod, "_next_token", lambda logits, *a: seen.append(logits.clone()) or real(logits, *a)
    )
    return seen


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
    seen = _spy_logits(monkeypatch)
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
    real = fast_mod.prefill

    def no_shift(model, inputs, cache):
        logits, delta = real(model, inputs, cache)
        assert int(delta.abs().sum()) > 0  # an image prompt does shift positions
        return logits, torch.zeros_like(delta)

    monkeypatch.setattr(fast_mod, "prefill", no_shift)
    seen = _spy_logits(monkeypatch)
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


def test_cpu_falls_back_to_eager_steps_with_one_line(tiny, caplog):
    model, processor = tiny
    fast_mod.reset_fast_state(model)
    with caplog.at_level("WARNING", logger="helpers.fast"):
        for _ in range(2):
            helpers.chat(model, processor, CASES["text"](), max_new_tokens=3, fast=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fast path:")]
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


def test_every_decode_step_reads_and_writes_the_cache(tiny, monkeypatch):
    """Fails if a step runs without its KV cache (e.g. passed under a keyword the model ignores)."""
    from transformers import StaticCache

    model, processor = tiny
    inputs = _inputs(processor, "image")
    seen = []
    language_model = model.model.language_model

    def spy(_module, args, kwargs):
        cache = kwargs.get(fast_mod.cache_keyword(language_model.forward))
        seen.append((kwargs["inputs_embeds"].shape[1], cache))

    hook = language_model.register_forward_pre_hook(spy, with_kwargs=True)
    try:
        tokens = fast_generate(
            model, inputs, max_new_tokens=6, settings={"do_sample": False, "min_new_tokens": 6}
        )
    finally:
        hook.remove()
    prompt = inputs["input_ids"].shape[1]
    assert [length for length, _ in seen] == [prompt] + [1] * 5  # prefill, then 5 single steps
    caches = {id(cache) for _, cache in seen}
    assert len(caches) == 1 and isinstance(seen[0][1], StaticCache)
    assert int(seen[0][1].get_seq_length()) == prompt + tokens.shape[1] - 1


@pytest.mark.parametrize(
    "settings, match",
    [
        ({"num_beams": 2}, "num_beams=2"),  # beam search is generate's
        ({"presence_penalty": 1.5}, "presence_penalty=1.5"),  # not a transformers setting at all
        ({"guidance_scale": 3.0}, "guidance_scale"),  # classifier-free guidance
        ({"stop_strings": ["\n"]}, "stop_strings"),  # needs the tokenizer
    ],
)
def test_unimplemented_settings_are_refused_by_name(tiny, settings, match):
    model, processor = tiny
    with pytest.raises(ValueError, match=match):
        helpers.chat(model, processor, CASES["text"](), max_new_tokens=4, fast=True, **settings)


@pytest.mark.parametrize("bad", [0, -5, 2.5])
def test_max_new_tokens_below_one_is_refused(tiny, bad):
    model, processor = tiny
    with pytest.raises(ValueError, match="max_new_tokens"):
        fast_generate(model, _inputs(processor, "text"), max_new_tokens=bad, settings={})


@pytest.mark.parametrize(
    "settings",
    [
        {"repetition_penalty": 50.0},  # the case that used to be silently dropped
        {"no_repeat_ngram_size": 1},
        {"repetition_penalty": 1.3, "no_repeat_ngram_size": 2, "min_new_tokens": 12},
    ],
)
def test_penalties_are_honoured_like_generate(tiny, settings):
    model, processor = tiny
    inputs = _inputs(processor, "image")
    greedy = GENERATION_PRESETS["greedy"]
    reference = model.generate(**inputs, max_new_tokens=12, **greedy, **settings)
    tokens = fast_generate(model, inputs, max_new_tokens=12, settings={**greedy, **settings})
    assert torch.equal(tokens, reference[:, inputs["input_ids"].shape[1] :])
    plain = model.generate(**inputs, max_new_tokens=12, **greedy)
    assert not torch.equal(reference, plain)  # the setting matters here, so it was applied above


def test_user_logits_processor_is_applied(tiny):
    from transformers import LogitsProcessor

    model, processor = tiny
    target = processor.tokenizer.convert_tokens_to_ids("a")

    class Force(LogitsProcessor):
        def __call__(self, input_ids, scores):
            scores[:, target] = scores.max() + 1.0
            return scores

    tokens = fast_generate(
        model,
        _inputs(processor, "text"),
        max_new_tokens=4,
        settings={"do_sample": False, "logits_processor": [Force()]},
    )
    assert tokens.tolist() == [[target] * 4]


@pytest.mark.parametrize("name", list(CASES))
def test_static_cache_generate_gives_default_greedy_tokens(tiny, name):
    """transformers' own static-cache generate (compiled with CUDA graphs on GPUs) agrees on CPU."""
    model, processor = tiny
    inputs = _inputs(processor, name)
    greedy = GENERATION_PRESETS["greedy"]
    default = model.generate(**inputs, max_new_tokens=16, min_new_tokens=16, **greedy)
    static = model.generate(
        **inputs, max_new_tokens=16, min_new_tokens=16, cache_implementation="static", **greedy
    )
    assert torch.equal(static, default)


class _EagerGraph:
    """Stands in for a CUDA graph on the CPU: ``replay`` runs the recorded step (optionally wrong)."""

    def __init__(self, step, corrupt=False):
        self.step, self.corrupt = step, corrupt

    def replay(self):
        logits = self.step.eager()
        if self.corrupt:  # a graph that baked in a stale value would give other logits
            logits = logits.flip(-1)
        self.step.graph_logits.copy_(logits)


@pytest.mark.parametrize(
    "corrupt, trusted",
    [
        (False, True),  # replays agree with the eager step on a copy of the cache: graph kept
        (True, False),  # a replay that disagrees is caught, dropped, and the answer stays right
    ],
)
def test_graph_replays_are_checked_against_the_eager_step(tiny, monkeypatch, corrupt, trusted):
    model, processor = tiny
    inputs = _inputs(processor, "image")
    greedy = {**GENERATION_PRESETS["greedy"], "min_new_tokens": 16}
    reference = fast_generate(model, inputs, max_new_tokens=16, settings=greedy, use_graphs=False)

    def capture(self):  # like recording: runs nothing, fixes the tensor replays write into
        self.graph_logits = torch.empty(1, model.lm_head.out_features)
        self.graph = _EagerGraph(self, corrupt)

    fast_mod.reset_fast_state(model)
    monkeypatch.setattr(fast_mod.DecodeStep, "capture", capture)
    tokens = fast_generate(model, inputs, max_new_tokens=16, settings=greedy, use_graphs=True)
    state = fast_mod.fast_state(model)
    assert state.graphs_ok is trusted
    assert torch.equal(tokens, reference)
    fast_mod.reset_fast_state(model)

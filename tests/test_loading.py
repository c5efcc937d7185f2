import hashlib

import pytest

import helpers
from helpers.tiny import build_tiny_checkpoint


@pytest.mark.parametrize(
    ("argument", "env", "expected"),
    [
        (None, None, "Qwen/Qwen3-VL-4B-Instruct"),  # default
        (None, "tiny", "tiny"),  # environment variable
        ("Qwen/Qwen3-VL-8B-Instruct", "tiny", "Qwen/Qwen3-VL-8B-Instruct"),  # argument wins
        (None, "", "Qwen/Qwen3-VL-4B-Instruct"),  # empty variable is ignored
    ],
)
def test_resolve_model_id(monkeypatch, argument, env, expected):
    if env is None:
        monkeypatch.delenv("QWEN_VL_MODEL", raising=False)
    else:
        monkeypatch.setenv("QWEN_VL_MODEL", env)
    assert helpers.resolve_model_id(argument) == expected


def test_missing_checkpoint_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(helpers.ModelLoadError) as info:
        helpers.load_model(tmp_path / "no-such-model", device="cpu", verbose=False)
    text = str(info.value)
    assert "no-such-model" in text and "QWEN_VL_MODEL" in text and "tiny" in text


def test_tiny_model_is_real_qwen3_vl(tiny):
    model, processor = tiny
    assert type(model).__name__ == "Qwen3VLForConditionalGeneration"
    assert processor.image_processor.patch_size == 16 and processor.image_processor.merge_size == 2
    tokenizer = processor.tokenizer
    assert model.config.image_token_id == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert model.config.video_token_id == tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert model.config.text_config.vocab_size >= len(tokenizer)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_tiny_build_is_reproducible(tmp_path):
    def digest(folder):
        return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()

    first = build_tiny_checkpoint(tmp_path / "a", seed=0)
    second = build_tiny_checkpoint(tmp_path / "b", seed=0)
    other = build_tiny_checkpoint(tmp_path / "c", seed=1)
    assert digest(first) == digest(second) != digest(other)


def test_import_has_no_side_effects(tmp_path):
    import subprocess
    import sys

    code = "import helpers, sys; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.strip() == "False"  # nothing heavy imported, nothing loaded
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_load_model_logs_what_it_chose_and_labels_the_tiny_model(caplog):
    with caplog.at_level("INFO", logger="helpers"):
        helpers.load_model("tiny", device="cpu")
    [line] = [r.getMessage() for r in caplog.records if r.name == "helpers.loading"]
    assert "TINY RANDOM TEST MODEL" in line and "device=cpu" in line and "dtype=float32" in line


@pytest.fixture
def package_logger():
    """The ``helpers`` logger, its handlers and level restored after the test."""
    import logging

    logger = logging.getLogger("helpers")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_show_status_prints_plain_lines_once(package_logger, capsys):
    import logging

    helpers.show_status()
    helpers.show_status()  # a second call adds no second handler
    logging.getLogger("helpers.loading").info("Loaded %s", "x")
    logging.getLogger("helpers.loading").debug("not shown")
    assert capsys.readouterr().out == "Loaded x\n"


@pytest.mark.parametrize(
    ("variant", "head_dim", "mrope_section"),
    [
        ("default", 16, [4, 2, 2]),  # the suite's model: smallest attention transformers runs
        ("vllm", 32, [8, 4, 4]),  # smallest head vLLM's CPU attention accepts
    ],
)
def test_tiny_variants(tmp_path, monkeypatch, variant, head_dim, mrope_section):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    monkeypatch.setenv("QWEN_VL_CACHE", str(tmp_path))
    folder = helpers.tiny.ensure_tiny_checkpoint(variant=variant)
    assert folder == helpers.tiny.tiny_model_dir(variant) and folder.parent == tmp_path
    model = AutoModelForImageTextToText.from_pretrained(folder)
    text = model.config.text_config
    assert text.head_dim == head_dim
    assert text.rope_parameters["mrope_section"] == mrope_section
    assert sum(mrope_section) == head_dim // 2
    # the released checkpoints' video bounds (frames x height x width), which a server applies
    processor = AutoProcessor.from_pretrained(folder)
    assert processor.video_processor.size == {"shortest_edge": 4096, "longest_edge": 25165824}
    messages = helpers.image_message(helpers.INPUT_DIR / "fruits.jpg", "Describe.")
    assert len(helpers.chat(model, processor, messages, max_new_tokens=3, min_new_tokens=3)) > 0


def test_unknown_tiny_variant():
    with pytest.raises(ValueError, match=r"unknown tiny variant 'big'.*'default', 'vllm'"):
        helpers.tiny.ensure_tiny_checkpoint(variant="big")

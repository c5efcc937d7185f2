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

import re

import pytest
import torch

import helpers
from helpers.runtime import DeviceCaps, detect_caps, device_problem
from helpers.testing.tiny import build_tiny_checkpoint

# Loading and building checkpoints is what changes with the transformers version.
pytestmark = pytest.mark.transformers


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
    from safetensors.torch import load_file

    def weights(folder):  # the tensors, not the file's bytes (its layout may change)
        return load_file(folder / "model.safetensors")

    def same(a, b):
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    first = weights(build_tiny_checkpoint(tmp_path / "a", seed=0))
    second = weights(build_tiny_checkpoint(tmp_path / "b", seed=0))
    other = weights(build_tiny_checkpoint(tmp_path / "c", seed=1))
    assert same(first, second) and not same(first, other)


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

    helpers.common.status.show_status()
    helpers.common.status.show_status()  # a second call adds no second handler
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
    folder = helpers.testing.tiny.ensure_tiny_checkpoint(variant=variant)
    assert folder == helpers.testing.tiny.tiny_model_dir(variant) and folder.parent == tmp_path
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
        helpers.testing.tiny.ensure_tiny_checkpoint(variant="big")


def _hub_error(cls, status):
    import httpx2

    response = httpx2.Response(status, request=httpx2.Request("GET", "https://huggingface.co/x"))
    return cls(f"{status} Client Error for url https://huggingface.co/x", response=response)


def _wrapped(inner, outer_text):
    try:
        try:
            raise inner
        except Exception as exc:
            raise OSError(outer_text) from exc
    except OSError as outer:
        return outer


def _explain_cases():
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    from safetensors import SafetensorError

    not_valid = (
        "x/y is not a local folder and is not a valid model identifier listed on "
        "'https://huggingface.co/models'. If this is a private repository, make sure to pass a "
        "token having permission to this repo with `hf auth login`"
    )
    return [
        # a file name containing "token" is not a login problem
        (OSError("Can't load tokenizer: tokenizer.json not found in /models/x"), "online"),
        # a mistyped hub id (transformers wraps the hub's error, and mentions tokens)
        (_wrapped(_hub_error(RepositoryNotFoundError, 404), not_valid), "check the id"),
        # a gated repository
        (_wrapped(_hub_error(GatedRepoError, 401), "gated repo"), "hf auth login"),
        # a 403 from the hub
        (OSError("403 Forbidden: you do not have access"), "hf auth login"),
        # a truncated safetensors file
        (SafetensorError("Error while deserializing header: HeaderTooSmall"), "damaged"),
        # a CUDA failure is about the GPU, not the network
        (AssertionError("Torch not compiled with CUDA enabled"), "no usable CUDA GPU"),
        # a model id naming a GPU maker is not a GPU problem
        (OSError("nvidia/some-model is not a valid model identifier"), "check the id"),
        # flash-attn missing
        (
            ImportError("FlashAttention2 has been toggled on, but flash_attn is not installed"),
            "sdpa",
        ),
    ]


@pytest.mark.parametrize("case", range(8))
def test_load_error_hints(case):
    from helpers.loading import _load_error_text

    exc, hint = _explain_cases()[case]
    text = _load_error_text("x/y", exc)
    fix = text.split("Fix:")[1]
    assert hint in fix
    wrong = {
        "online": "hf auth login",
        "check the id": "hf auth login",
        "no usable CUDA GPU": "online",
    }
    assert wrong.get(hint, "@@") not in fix


@pytest.mark.parametrize(
    ("caps", "device", "problem"),
    [
        # CUDA asked for on a machine without a GPU
        (DeviceCaps(), "cuda", "no usable CUDA GPU"),
        # the same with an index
        (DeviceCaps(), "cuda:1", "no usable CUDA GPU"),
        # MPS asked for off Apple silicon
        (DeviceCaps(cuda_available=True), "mps", "MPS is not available"),
        # not a device name
        (DeviceCaps(), "gpu", "not a device name"),
        # fine
        (DeviceCaps(cuda_available=True), "cuda:0", None),
        (DeviceCaps(), "cpu", None),
    ],
)
def test_device_problem(caps, device, problem):
    found = device_problem(caps, device)
    assert (found is None) if problem is None else (problem in found)


def test_cuda_on_a_cpu_machine_is_refused_before_loading(monkeypatch):
    monkeypatch.setattr("helpers.loading.detect_caps", lambda: DeviceCaps())
    monkeypatch.setattr(
        "helpers.loading.ensure_tiny_checkpoint", lambda: pytest.fail("nothing may be built")
    )
    with pytest.raises(helpers.ModelLoadError, match=r"no usable CUDA GPU.*device='cpu'"):
        helpers.load_model("tiny", device="cuda", verbose=False)


@pytest.mark.parametrize(
    "damage",
    [
        # weights cut short (an interrupted build or a full disk)
        "truncate",
        # the config deleted
        "delete-config",
        # the tokenizer overwritten
        "garble-tokenizer",
        # a build without its manifest
        "delete-manifest",
    ],
)
def test_damaged_tiny_checkpoint_is_rebuilt(damage, tmp_path, monkeypatch, caplog):
    from helpers.testing.tiny import MANIFEST, checkpoint_damage, ensure_tiny_checkpoint

    monkeypatch.setenv("QWEN_VL_CACHE", str(tmp_path))
    path = ensure_tiny_checkpoint()
    assert checkpoint_damage(path) is None
    weights = path / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "delete-config":
        (path / "config.json").unlink()
    elif damage == "garble-tokenizer":
        (path / "tokenizer.json").write_text("{")
    else:
        (path / MANIFEST).unlink()
    assert checkpoint_damage(path) is not None
    with caplog.at_level("WARNING", logger="helpers"):
        ensure_tiny_checkpoint()
    assert any("cannot be used" in r.getMessage() for r in caplog.records)
    assert checkpoint_damage(path) is None
    model, _ = helpers.load_model("tiny", device="cpu", verbose=False)
    assert model is not None


@pytest.mark.parametrize(
    ("transformers_says", "expected"),
    [
        # transformers finds a usable flash-attn (package, version, CUDA)
        (True, True),
        # installed but unusable (wrong version, no CUDA): transformers says no
        (False, False),
    ],
)
def test_flash_attention_detection_asks_transformers(monkeypatch, transformers_says, expected):
    import transformers.utils

    monkeypatch.setattr(transformers.utils, "is_flash_attn_2_available", lambda: transformers_says)
    assert detect_caps().flash_attn_installed is expected


def test_device_caps_are_read_when_transformers_cannot_be_imported(monkeypatch):
    # (as with transformers 5.0-5.12 beside kernels 0.19: helpers.doctor still reads the device)
    import sys

    monkeypatch.setitem(sys.modules, "transformers.utils", None)  # its import now fails
    caps = detect_caps()
    assert caps.flash_attn_installed is False and caps.cuda_available in (True, False)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        # not a torch dtype
        ({"dtype": "float8"}, r"dtype='float8' is not a torch dtype"),
        # a torch attribute that is not a dtype
        ({"dtype": "nn"}, r"dtype='nn' is not a torch dtype"),
        # an attention implementation transformers does not know
        ({"attn_implementation": "bogus"}, r"Fix: pass attn_implementation='sdpa'"),
        # not a device
        ({"device": "gpu"}, r"not a device name"),
    ],
)
def test_bad_load_settings_are_named(kwargs, pattern):
    with pytest.raises(helpers.ModelLoadError, match=pattern) as info:
        helpers.load_model("tiny", **{"device": "cpu", **kwargs}, verbose=False)
    assert "online" not in str(info.value)


def _cached_hub_model(cache, repo_id):
    """A Hugging Face cache holding only ``repo_id``'s config.json, as a download leaves it."""
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    (folder / "snapshots" / "abc123").mkdir(parents=True)
    (folder / "snapshots" / "abc123" / "config.json").write_text("{}")


@pytest.mark.parametrize(
    ("model_id", "offline", "expected"),
    [
        ("tiny", True, "tiny offline checkpoint"),  # built here, never downloaded
        ("{tmp}/checkpoint", True, "the folder"),  # a saved checkpoint
        (
            "Qwen/Qwen3-VL-4B-Instruct",
            True,
            "ModelLoadError:.*not in the Hugging Face cache.*HF_HUB_OFFLINE.*QWEN_VL_MODEL=tiny",
        ),
        ("Qwen/Qwen3-VL-2B-Instruct", True, "the Hugging Face cache"),  # downloaded before
        ("{tmp}/missing", False, "ModelLoadError:.*no such folder"),  # a typo in a path
        ("{tmp}/empty", False, "ModelLoadError:.*no config.json"),  # a folder, not a checkpoint
        ("Qwen3-VL-4B-Instruct", False, "ModelLoadError:.*not a hub id.*Qwen/Qwen3-VL-4B-Instruct"),
    ],
)
def test_check_model_available(tmp_path, monkeypatch, model_id, offline, expected):
    from huggingface_hub import constants

    from helpers.loading import check_model_available

    (tmp_path / "checkpoint").mkdir()
    (tmp_path / "checkpoint" / "config.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    _cached_hub_model(tmp_path / "hub", "Qwen/Qwen3-VL-2B-Instruct")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1" if offline else "0")
    monkeypatch.delenv("QWEN_VL_BASE_URL", raising=False)
    try:
        found = check_model_available(model_id.format(tmp=tmp_path))
    except helpers.ModelLoadError as exc:
        found = f"ModelLoadError: {exc}"
    assert re.search(expected, found, re.S), found

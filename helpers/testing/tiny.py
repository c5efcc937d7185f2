"""A tiny, randomly initialised Qwen3-VL checkpoint built offline.

It uses the real model class, the real processor (Qwen3-VL's patch size 16, merge size 2,
temporal patch 2) and a small byte-level BPE tokenizer trained here with the Qwen special
tokens and a Qwen3-VL style chat template. Its answers are gibberish: its job is to run every
code path of the cookbook for real on a CPU, with no download.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..common.paths import cache_dir
from ..common.sizes import MERGE_SIZE, PATCH_SIZE, TEMPORAL_PATCH_SIZE

logger = logging.getLogger(__name__)

TINY_MODEL_NAME = "tiny"
#: Bump when the recipe or the folder layout changes, so stale cached builds are rebuilt.
TINY_RECIPE_VERSION = 3
#: Text attention head size of each variant. ``"default"`` is the smallest that runs everywhere
#: in transformers; ``"vllm"`` is the smallest vLLM's CPU attention accepts (it takes 32, 64,
#: 80, ... 512), for serving the tiny model with a real vLLM. Processor and tokenizer are the same.
TINY_VARIANTS: dict[str, int] = {"default": 16, "vllm": 32}
#: File in a built checkpoint folder listing each file's SHA-256, to notice damaged builds.
MANIFEST = "tiny-manifest.json"

# Qwen's special tokens, in their usual order after the BPE vocabulary.
SPECIAL_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", True),
    ("<|fim_middle|>", True),
    ("<|fim_suffix|>", True),
    ("<|fim_pad|>", True),
    ("<|repo_name|>", True),
    ("<|file_sep|>", True),
    ("<tool_response>", False),
    ("</tool_response>", False),
    ("<think>", False),
    ("</think>", False),
)

# Qwen2's pre-tokenizer split pattern.
_QWEN_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

# Renders images as <|vision_start|><|image_pad|><|vision_end|> and videos with <|video_pad|>,
# like Qwen3-VL's own template (system prompt, multi-turn, thinking blocks in history).
CHAT_TEMPLATE = r"""{%- set image_count = namespace(value=0) -%}
{%- set video_count = namespace(value=0) -%}
{%- macro render(content) -%}
{%- if content is string -%}{{ content }}{%- else -%}
{%- for item in content -%}
{%- if item.type == 'image' or 'image' in item or 'image_url' in item -%}
{%- set image_count.value = image_count.value + 1 -%}
{%- if add_vision_id -%}Picture {{ image_count.value }}: {% endif -%}
<|vision_start|><|image_pad|><|vision_end|>
{%- elif item.type == 'video' or 'video' in item -%}
{%- set video_count.value = video_count.value + 1 -%}
{%- if add_vision_id -%}Video {{ video_count.value }}: {% endif -%}
<|vision_start|><|video_pad|><|vision_end|>
{%- elif 'text' in item -%}{{ item.text }}
{%- endif -%}
{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- for message in messages -%}
{{ '<|im_start|>' + message.role + '\n' }}{{ render(message.content) }}{{ '<|im_end|>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"""

# A few KB of text to train the tokenizer on: the words the cookbook's prompts and answers use.
_CORPUS = (
    """
Describe this image. The image shows a red apple, a green pear and a yellow banana on a table.
Compare the two images. The first picture is a city street with cars; the second is a beach.
Locate every instance that belongs to the following categories: "car", "person", "dog".
Report bbox coordinates in JSON format. Point to each object and report point coordinates.
```json
[{"bbox_2d": [123, 456, 789, 1000], "label": "car"}, {"point_2d": [512, 640], "label": "dog"}]
```
Give the OCR of this image without any additional context. TOTAL 12.50 CASH 20.00 CHANGE 7.50
Receipt, Coffee 3.20, Tea 2.80, Croissant 2.50, Thank you! Date 2026-11-26 Time 10:42
Create the webpage using HTML and CSS based on my sketch design. Color it in dark gray and white.
<!DOCTYPE html><html><head><style>body { margin: 0; color: #333; }</style></head>
<body><div class="sidebar">Chats</div><header>Title</header><main>Messages</main></body></html>
Summarize the video. A person walks across the street, then a ball enters at 2.0 seconds.
At what second does the blue square leave? <0.5 seconds> <1.0 seconds> <2.0 seconds>
<think>Let me look at the picture carefully.</think> The answer is 42.
0 1 2 3 4 5 6 7 8 9 10 100 1000 a b c d e f g h i j k l m n o p q r s t u v w x y z
"""
    * 3
)


def _check_variant(variant: str) -> int:
    if variant not in TINY_VARIANTS:
        raise ValueError(
            f"unknown tiny variant {variant!r}; expected one of {sorted(TINY_VARIANTS)}."
        )
    return TINY_VARIANTS[variant]


def tiny_model_dir(variant: str = "default") -> Path:
    """Where the tiny checkpoint is cached: a folder under :func:`helpers.common.paths.cache_dir`, named with
    the variant and the recipe version so a changed recipe builds anew.

    Args:
        variant: A key of :data:`TINY_VARIANTS`.

    Returns:
        The folder (it may not exist yet).

    Example:
        >>> tiny_model_dir().name == f"tiny-qwen3-vl-v{TINY_RECIPE_VERSION}"
        True
        >>> tiny_model_dir("vllm").name == f"tiny-qwen3-vl-vllm-v{TINY_RECIPE_VERSION}"
        True
    """
    _check_variant(variant)
    infix = "" if variant == "default" else f"-{variant}"
    return cache_dir() / f"tiny-qwen3-vl{infix}-v{TINY_RECIPE_VERSION}"


def _build_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(_CORPUS.splitlines(), trainer=trainer)
    state = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=state["vocab"],
        merges=merges,
        unk_token=None,
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )
    from tokenizers import AddedToken

    tokenizer.add_tokens(
        [AddedToken(tok, special=special, normalized=False) for tok, special in SPECIAL_TOKENS]
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_checkpoint(path: str | os.PathLike, *, seed: int = 0, head_dim: int = 16) -> Path:
    """Build the tiny checkpoint (model, processor, tokenizer) into ``path``, atomically (seconds).

    It is written to a temporary folder beside ``path`` and renamed over it, so a reader never sees
    half a checkpoint.

    Args:
        path: The checkpoint folder to create (replaced if it exists).
        seed: The seed of the random weights; the same seed gives byte-identical files.
        head_dim: The text attention head size, a multiple of 8 (see :data:`TINY_VARIANTS`).

    Returns:
        ``path`` as a ``Path``.

    Example:
        >>> import tempfile, pathlib
        >>> folder = build_tiny_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "tiny")
        >>> (folder / "config.json").exists(), (folder / "model.safetensors").exists()
        (True, True)
    """
    if head_dim < 8 or head_dim % 8:
        raise ValueError(f"head_dim must be a positive multiple of 8, got {head_dim!r}.")
    tokenizer = _build_tokenizer()
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok, _ in SPECIAL_TOKENS}
    config = _tiny_config(ids, head_dim)
    if len(tokenizer) > config.text_config.vocab_size:
        raise RuntimeError(
            f"tiny tokenizer has {len(tokenizer)} tokens, vocab is {config.text_config.vocab_size}"
        )
    model = _tiny_model(config, ids, seed)
    return _save_atomically(Path(path), model, _tiny_processor(tokenizer))


def _tiny_config(ids: dict[str, int], head_dim: int) -> Any:
    """A Qwen3-VL config two layers deep, with the released checkpoints' vision geometry."""
    from transformers import Qwen3VLConfig

    text_config = {
        "vocab_size": 512,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": head_dim,
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_interleaved": True,
            # time, height, width: sums to head_dim / 2, split 2:1:1 ([4, 2, 2] for 16)
            "mrope_section": [head_dim // 4, head_dim // 8, head_dim // 8],
        },
        "tie_word_embeddings": False,
    }
    vision_config = {
        "depth": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 4,
        "patch_size": PATCH_SIZE,
        "spatial_merge_size": MERGE_SIZE,
        "temporal_patch_size": TEMPORAL_PATCH_SIZE,
        "out_hidden_size": 64,
        "num_position_embeddings": 256,
        "deepstack_visual_indexes": [0, 1],
    }
    return Qwen3VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def _tiny_model(config: Any, ids: dict[str, int], seed: int) -> Any:
    """Random weights from ``seed``, with the Instruct checkpoints' generation defaults."""
    import torch
    from transformers import GenerationConfig, Qwen3VLForConditionalGeneration

    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).train(False)
    # Zero the output rows of special and unused ids: random logits of ordinary tokens then always
    # win, so answers are visible (gibberish) text of exactly max_new_tokens tokens.
    with torch.no_grad():
        model.lm_head.weight[min(ids.values()) :] = 0.0
    # Same defaults as the released Instruct checkpoints' generation_config.json.
    model.generation_config = GenerationConfig(
        bos_token_id=ids["<|endoftext|>"],
        pad_token_id=ids["<|endoftext|>"],
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]],
        do_sample=True,
        top_k=20,
        top_p=0.8,
        temperature=0.7,
    )
    return model


def _tiny_processor(tokenizer: Any) -> Any:
    """The processor: Qwen3-VL's image and video processors with the released bounds."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    vision = dict(
        patch_size=PATCH_SIZE, merge_size=MERGE_SIZE, temporal_patch_size=TEMPORAL_PATCH_SIZE
    )
    norm = dict(image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    return Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            **vision, **norm, size={"shortest_edge": 64 * 32 * 32, "longest_edge": 16384 * 32 * 32}
        ),
        # The released checkpoints' video_preprocessor_config.json bounds (frames x height x width):
        # the class defaults are far smaller, and a server resizes videos with these.
        video_processor=Qwen3VLVideoProcessor(
            **vision, **norm, size={"shortest_edge": 4096, "longest_edge": 25165824}
        ),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )


def _save_atomically(path: Path, model: Any, processor: Any) -> Path:
    """Write to a temporary folder beside ``path`` with a manifest, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=path.name + ".", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        manifest = {f.name: _digest(f) for f in sorted(tmp.iterdir()) if f.is_file()}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def checkpoint_damage(path: Path) -> str | None:
    """Why a built tiny checkpoint cannot be used, checked against the manifest written with it.

    Args:
        path: The checkpoint folder.

    Returns:
        What is wrong (no manifest, a file missing, a file changed or cut short), or ``None`` when
        every file is as it was built.

    Example:
        >>> checkpoint_damage(ensure_tiny_checkpoint()) is None
        True
    """
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"no readable {MANIFEST} ({type(exc).__name__})"
    for name, digest in manifest.items():
        file = path / name
        if not file.is_file():
            return f"{name} is missing"
        if _digest(file) != digest:
            return f"{name} is damaged ({file.stat().st_size} bytes, content changed)"
    return None


def ensure_tiny_checkpoint(*, variant: str = "default", rebuild: bool = False) -> Path:
    """The cached tiny checkpoint folder, built first if it is missing, incomplete or damaged.

    A cached build with a missing, truncated or changed file (an interrupted build, a full disk),
    checked against the manifest written with it (:func:`checkpoint_damage`), is rebuilt, and the
    reason logged.

    Args:
        variant: A key of :data:`TINY_VARIANTS`; ``"vllm"`` is the one a vLLM server can serve.
        rebuild: Build it again even if it is there.

    Returns:
        The folder (:func:`tiny_model_dir`).

    Example:
        >>> (ensure_tiny_checkpoint() / "config.json").exists()
        True
    """
    head_dim = _check_variant(variant)
    path = tiny_model_dir(variant)
    damage = None if rebuild or not path.exists() else checkpoint_damage(path)
    if rebuild or not path.exists() or damage:
        if damage:
            logger.warning(
                "The cached tiny checkpoint at %s cannot be used (%s): rebuilding it.", path, damage
            )
        start = time.perf_counter()
        build_tiny_checkpoint(path, head_dim=head_dim)
        logger.info(
            "Built the tiny offline Qwen3-VL checkpoint in %.1f s: %s",
            time.perf_counter() - start,
            path,
        )
    return path

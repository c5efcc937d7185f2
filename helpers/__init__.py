"""Helpers shared by the Qwen3-VL cookbook notebooks.

Importing the package only defines names: nothing is loaded, downloaded or written.
"""

from .budget import VisualTokens, count_visual_tokens, estimate_visual_tokens, kv_cache_bytes
from .chat import GENERATION_PRESETS, Answer, chat, chat_batch, prepare_inputs
from .detection import (
    Detection,
    Point,
    draw_detections,
    grounding_prompt,
    label_colors,
    parse_detections,
    parse_points,
)
from .errors import InputError, MissingInputError, ModelLoadError, RemoteError
from .grid import image_grid
from .html import extract_code_block, preview_html, render_html, save_html
from .loading import DEFAULT_MODEL_ID, MODEL_ENV_VAR, load_model, resolve_model_id
from .messages import check_messages, image_message, load_image, video_message
from .ocr import MARKDOWN_PROMPT, OCR_PROMPT, SPOTTING_PROMPT, OcrRecord, list_images, ocr_folder
from .paths import INPUT_DIR, OUTPUT_DIR, REPO_ROOT, cache_dir, output_path
from .remote import RemoteModel, connect, remote_url
from .runtime import DeviceCaps, RuntimeChoice, choose_runtime, detect_caps
from .scoring import (
    DetectionScore,
    cer,
    load_coco_ground_truth,
    normalize_text,
    score_detections,
    wer,
)
from .status import show_status
from .text import split_thinking
from .video import VideoInfo, available_backends, describe_video, sample_frames

__all__ = [
    "DEFAULT_MODEL_ID",
    "GENERATION_PRESETS",
    "INPUT_DIR",
    "MARKDOWN_PROMPT",
    "MODEL_ENV_VAR",
    "OCR_PROMPT",
    "OUTPUT_DIR",
    "REPO_ROOT",
    "SPOTTING_PROMPT",
    "Answer",
    "Detection",
    "DetectionScore",
    "DeviceCaps",
    "InputError",
    "MissingInputError",
    "ModelLoadError",
    "OcrRecord",
    "Point",
    "RemoteError",
    "RemoteModel",
    "RuntimeChoice",
    "VideoInfo",
    "VisualTokens",
    "available_backends",
    "cache_dir",
    "cer",
    "chat",
    "chat_batch",
    "check_messages",
    "choose_runtime",
    "connect",
    "count_visual_tokens",
    "describe_video",
    "detect_caps",
    "draw_detections",
    "estimate_visual_tokens",
    "extract_code_block",
    "grounding_prompt",
    "image_grid",
    "image_message",
    "kv_cache_bytes",
    "label_colors",
    "list_images",
    "load_coco_ground_truth",
    "load_image",
    "load_model",
    "normalize_text",
    "ocr_folder",
    "output_path",
    "parse_detections",
    "parse_points",
    "prepare_inputs",
    "preview_html",
    "remote_url",
    "render_html",
    "resolve_model_id",
    "sample_frames",
    "save_html",
    "score_detections",
    "show_status",
    "split_thinking",
    "video_message",
    "wer",
]

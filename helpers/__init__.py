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
from .document import (
    DOC_HTML_PROMPT,
    DOC_MARKDOWN_PROMPT,
    Block,
    draw_blocks,
    load_document_truth,
    page_text,
    parse_document,
    score_document,
)
from .errors import InputError, MissingInputError, ModelLoadError, RemoteError
from .events import (
    EVENTS_PROMPT,
    Event,
    load_event_truth,
    match_events,
    parse_events,
    parse_timestamp,
    summarize_matches,
)
from .facts import (
    KEY_FACTS_PROMPT,
    ReceiptFacts,
    load_receipt_truth,
    parse_receipt_facts,
    score_receipt_facts,
)
from .grid import image_grid
from .html import extract_code_block, preview_html, render_html, save_html
from .loading import (
    DEFAULT_MODEL_ID,
    MODEL_ENV_VAR,
    checkpoint_source,
    load_model,
    resolve_model_id,
)
from .messages import check_messages, image_message, load_image, video_message
from .ocr import MARKDOWN_PROMPT, OCR_PROMPT, SPOTTING_PROMPT, OcrRecord, list_images, ocr_folder
from .paths import INPUT_DIR, OUTPUT_DIR, REPO_ROOT, cache_dir, output_path
from .referring import (
    attribute_prompt,
    load_referring_truth,
    parse_attributed_boxes,
    referring_prompt,
    score_attributes,
    score_referring,
)
from .remote import RemoteModel, connect, remote_url
from .report import record_results
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
    "DOC_HTML_PROMPT",
    "DOC_MARKDOWN_PROMPT",
    "EVENTS_PROMPT",
    "GENERATION_PRESETS",
    "INPUT_DIR",
    "KEY_FACTS_PROMPT",
    "MARKDOWN_PROMPT",
    "MODEL_ENV_VAR",
    "OCR_PROMPT",
    "OUTPUT_DIR",
    "REPO_ROOT",
    "SPOTTING_PROMPT",
    "Answer",
    "Block",
    "Detection",
    "DetectionScore",
    "DeviceCaps",
    "Event",
    "InputError",
    "MissingInputError",
    "ModelLoadError",
    "OcrRecord",
    "Point",
    "ReceiptFacts",
    "RemoteError",
    "RemoteModel",
    "RuntimeChoice",
    "VideoInfo",
    "VisualTokens",
    "attribute_prompt",
    "available_backends",
    "cache_dir",
    "cer",
    "chat",
    "chat_batch",
    "check_messages",
    "checkpoint_source",
    "choose_runtime",
    "connect",
    "count_visual_tokens",
    "describe_video",
    "detect_caps",
    "draw_blocks",
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
    "load_document_truth",
    "load_event_truth",
    "load_image",
    "load_model",
    "load_receipt_truth",
    "load_referring_truth",
    "match_events",
    "normalize_text",
    "ocr_folder",
    "output_path",
    "page_text",
    "parse_attributed_boxes",
    "parse_detections",
    "parse_document",
    "parse_events",
    "parse_points",
    "parse_receipt_facts",
    "parse_timestamp",
    "prepare_inputs",
    "preview_html",
    "record_results",
    "referring_prompt",
    "remote_url",
    "render_html",
    "resolve_model_id",
    "sample_frames",
    "save_html",
    "score_attributes",
    "score_detections",
    "score_document",
    "score_receipt_facts",
    "score_referring",
    "show_status",
    "split_thinking",
    "summarize_matches",
    "video_message",
    "wer",
]

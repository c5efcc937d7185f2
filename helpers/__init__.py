"""Helpers shared by the Qwen3-VL cookbook notebooks.

The names below are the ones the notebooks call, and the errors they raise. Everything else lives
in the modules (``helpers.budget.estimate_visual_tokens``) and the subpackages: ``helpers.common``
(foundations), ``helpers.serving`` (the OpenAI-compatible server client), ``helpers.fast`` (the
static-cache decoder) and ``helpers.testing`` (the tiny offline checkpoint). Importing the package
only defines names: nothing is loaded, downloaded or written.
"""

from .budget import count_visual_tokens, video_timestamps
from .chat import PresencePenalty, chat, chat_batch, count_answer_tokens
from .common.errors import InputError, MissingInputError, ModelLoadError, RemoteError
from .common.markup import markdown_to_text
from .common.paths import INPUT_DIR, OUTPUT_DIR
from .detection import Detection, draw_detections, label_colors, parse_detections, parse_points
from .doctor import doctor
from .document import draw_blocks, parse_document
from .events import (
    load_event_truth,
    load_timing_questions,
    match_events,
    parse_events,
    parse_time_answer,
    summarize_matches,
)
from .facts import load_receipt_truth, parse_receipt_facts, score_receipt_facts
from .grid import image_grid, show
from .html import (
    BrowserMissingError,
    extract_code_block,
    page_from_answer,
    preview_html,
    render_html,
    sample_page,
)
from .loading import checkpoint_source, load_model, resolve_model_id
from .messages import check_messages, image_message, load_image, video_message
from .ocr import ask_receipt_facts, cer_table, ocr_folder
from .prompts import (
    DENSE_DETECTION_MAX_NEW_TOKENS,
    DENSE_DETECTION_PRESET,
    EVENTS_PROMPT,
    GENERATION_PRESETS,
    GROUNDING_PIXELS,
    HTML_DOCUMENT_PROMPT,
    HTML_MAX_NEW_TOKENS,
    KEY_FACTS_PROMPT,
    MARKDOWN_PROMPT,
    OCR_PIXELS,
    OCR_PROMPT,
    ON_SCREEN_PROMPT,
    SKETCH_TO_HTML_PROMPT,
    SPOTTING_MAX_NEW_TOKENS,
    SPOTTING_PROMPT,
    VIDEO_BUDGET,
    attribute_prompt,
    grounding_prompt,
    referring_prompt,
)
from .referring import (
    draw_referring,
    load_referring_truth,
    parse_attributed_boxes,
    referring_result,
    score_attributes,
)
from .runtime import choose_runtime, detect_caps
from .scoring import (
    cer,
    load_coco_ground_truth,
    load_document_truth,
    score_detections,
    score_document,
    wer,
)
from .sketch import save_page, side_by_side, sketch_to_page
from .video import describe_video, sample_frames

__all__ = [
    "DENSE_DETECTION_MAX_NEW_TOKENS",
    "DENSE_DETECTION_PRESET",
    "EVENTS_PROMPT",
    "GENERATION_PRESETS",
    "GROUNDING_PIXELS",
    "HTML_DOCUMENT_PROMPT",
    "HTML_MAX_NEW_TOKENS",
    "INPUT_DIR",
    "KEY_FACTS_PROMPT",
    "MARKDOWN_PROMPT",
    "OCR_PIXELS",
    "OCR_PROMPT",
    "ON_SCREEN_PROMPT",
    "OUTPUT_DIR",
    "SKETCH_TO_HTML_PROMPT",
    "SPOTTING_MAX_NEW_TOKENS",
    "SPOTTING_PROMPT",
    "VIDEO_BUDGET",
    "BrowserMissingError",
    "Detection",
    "InputError",
    "MissingInputError",
    "ModelLoadError",
    "PresencePenalty",
    "RemoteError",
    "ask_receipt_facts",
    "attribute_prompt",
    "cer",
    "cer_table",
    "chat",
    "chat_batch",
    "check_messages",
    "checkpoint_source",
    "choose_runtime",
    "count_answer_tokens",
    "count_visual_tokens",
    "describe_video",
    "detect_caps",
    "doctor",
    "draw_blocks",
    "draw_detections",
    "draw_referring",
    "extract_code_block",
    "grounding_prompt",
    "image_grid",
    "image_message",
    "label_colors",
    "load_coco_ground_truth",
    "load_document_truth",
    "load_event_truth",
    "load_image",
    "load_model",
    "load_receipt_truth",
    "load_referring_truth",
    "load_timing_questions",
    "markdown_to_text",
    "match_events",
    "ocr_folder",
    "page_from_answer",
    "parse_attributed_boxes",
    "parse_detections",
    "parse_document",
    "parse_events",
    "parse_points",
    "parse_receipt_facts",
    "parse_time_answer",
    "preview_html",
    "referring_prompt",
    "referring_result",
    "render_html",
    "resolve_model_id",
    "sample_frames",
    "sample_page",
    "save_page",
    "score_attributes",
    "score_detections",
    "score_document",
    "score_receipt_facts",
    "show",
    "side_by_side",
    "sketch_to_page",
    "summarize_matches",
    "video_message",
    "video_timestamps",
    "wer",
]

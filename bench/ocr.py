"""OCR throughput: seconds per image at several batch sizes, over input/receipts/.

Each batch size OCRs the whole folder into a fresh temporary folder (nothing cached), and the
outputs of every batch size are compared with batch size 1's.
Usage: python bench/ocr.py [--model tiny] [--batch-sizes 1 4] [--tokens 64]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import report

import helpers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="default: $QWEN_VL_MODEL")
    parser.add_argument("--folder", type=Path, default=helpers.INPUT_DIR / "receipts")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--tokens", type=int, default=64, help="max_new_tokens per image")
    args = parser.parse_args()

    model, processor = helpers.load_model(args.model)
    rows, first = [], None
    for batch_size in args.batch_sizes:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            table = helpers.ocr_folder(
                model,
                processor,
                args.folder,
                out_dir=out,
                batch_size=batch_size,
                max_new_tokens=args.tokens,
                progress=False,
            )
            elapsed = time.perf_counter() - start
        outputs = list(table["output"])
        first = first or outputs
        rows.append(
            {
                "batch_size": batch_size,
                "images": len(table),
                "total_s": round(elapsed, 2),
                "s_per_image": round(elapsed / len(table), 3),
                "mean_cer": round(float(table["cer"].mean()), 3),
                "same_text_as_batch_1": outputs == first,
            }
        )
    report("ocr", rows, model=helpers.resolve_model_id(args.model), max_new_tokens=args.tokens)


if __name__ == "__main__":
    main()

"""The generated inputs in input/ are what their scripts make, and each script honours its seed.

Pictures are compared as decoded pixels within what an encoder update changes (tests/pictures.py),
text and JSON byte for byte. Each script runs twice: with its default seed (the committed files)
and with another (which must give other pictures, so the comparison can fail).
"""

import subprocess
import sys

import pytest
from pictures import assert_same_files, difference

import helpers

GENERATORS = [
    # script, folder of its committed output, another seed
    ("make_sketches.py", helpers.INPUT_DIR, 12),  # the three sketches, one a JPEG "photo"
    ("make_receipts.py", helpers.INPUT_DIR / "receipts", 8),  # receipts and their texts
    ("make_document.py", helpers.INPUT_DIR / "document", 6),  # the page and its layout truth
]


def _make(script, out, seed=None):
    args = [
        sys.executable,
        str(helpers.common.paths.REPO_ROOT / "scripts" / script),
        "--out",
        str(out),
    ]
    subprocess.run(
        [*args, *(["--seed", str(seed)] if seed else [])], check=True, capture_output=True
    )
    return out


@pytest.mark.parametrize(("script", "committed", "other_seed"), GENERATORS)
def test_committed_inputs_are_what_the_script_makes(script, committed, other_seed, tmp_path):
    made = _make(script, tmp_path / "default")
    assert_same_files(made, committed)
    other = _make(script, tmp_path / "other", other_seed)
    pictures = [p.name for p in made.iterdir() if p.suffix in (".png", ".jpg")]
    assert pictures and not any(difference(made / n, other / n).same for n in pictures)


def test_receipts_cover_the_conditions():
    receipts = helpers.INPUT_DIR / "receipts"
    assert len(list(receipts.glob("*.png"))) >= 8
    assert "合计" in (receipts / "09_chinese.txt").read_text(encoding="utf-8")

"""Run-wide test settings, for every test, doctest and notebook (so also for `pytest notebooks`).

- The floor pass (``QWEN_VL_TEST_PASS=floor``, scripts/test.sh) keeps only what can change with
  the transformers version.
- A notebook's stored pictures are compared by content, not skipped (nbval compares text only).
"""

from __future__ import annotations

import os

import pytest


def _pictures(outputs) -> list[str]:
    return [
        data[kind]
        for output in outputs
        for data in [output.get("data", {})]
        for kind in ("image/png", "image/jpeg")
        if kind in data
    ]


def _compare_pictures_too(compare_outputs):
    """nbval compares a checked cell's text outputs and skips its pictures; a picture a notebook
    keeps must match what its cell draws now as well (tests/pictures.py: content, not bytes)."""
    from tests.pictures import stored_picture_difference

    def compare(self, test, ref, skip_compare=None):
        if not compare_outputs(self, test, ref, skip_compare):
            return False
        fresh, stored = _pictures(test), _pictures(ref)
        if len(fresh) != len(stored):
            self.comparison_traceback.append(
                f"the cell now draws {len(fresh)} pictures, the notebook stores {len(stored)}: "
                "run python scripts/record_outputs.py"
            )
            return False
        for index, (new, old) in enumerate(zip(fresh, stored, strict=True)):
            apart = stored_picture_difference(old, new)
            if not apart.same:
                self.comparison_traceback.append(
                    f"picture {index} differs from the stored one ({apart}): the stored output is "
                    "stale; run python scripts/record_outputs.py"
                )
                return False
        return True

    return compare


try:
    from nbval.plugin import IPyNbCell
except ImportError:  # nbval not installed: no notebooks are collected either
    IPyNbCell = None
if IPyNbCell is not None and not getattr(IPyNbCell.compare_outputs, "_pictures", False):
    IPyNbCell.compare_outputs = _compare_pictures_too(IPyNbCell.compare_outputs)
    IPyNbCell.compare_outputs._pictures = True


#: Set to ``floor`` by scripts/test.sh for its pass in .venv-floor (transformers at the lowest
#: version requirements.txt allows): only what can change with the transformers version runs there.
TEST_PASS_ENV = "QWEN_VL_TEST_PASS"
#: Notebooks run in the floor pass too: 01 calls transformers' own API step by step and 05 goes
#: through its video processor and time markers. 02-04 reach transformers only through the
#: helpers, whose tests on the tiny model run in both passes.
FLOOR_NOTEBOOKS = ("01_describe_image.ipynb", "05_video_understanding.ipynb")


def _reaches_transformers(item: pytest.Item) -> bool:
    """A test on the tiny model, one marked ``transformers``, a doctest whose example loads a
    model, or a cell of a floor notebook."""
    if "tiny" in getattr(item, "fixturenames", ()) or item.get_closest_marker("transformers"):
        return True
    if item.path.suffix == ".ipynb":
        return item.path.name in FLOOR_NOTEBOOKS
    examples = getattr(getattr(item, "dtest", None), "examples", ())
    return any("load_model(" in example.source for example in examples)


def pytest_collection_modifyitems(config, items):
    floor = os.environ.get(TEST_PASS_ENV) == "floor"
    kept, skipped = [], []
    for item in items:
        if floor:
            keep = _reaches_transformers(item) or bool(item.get_closest_marker("floor_only"))
            if isinstance(getattr(item, "options", None), dict) and "check" in item.options:
                # A notebook's stored outputs are recorded with the verified (newest) release; the
                # floor pass checks that the cells run, not that another release prints the same.
                item.options["check"] = False
        else:
            keep = not item.get_closest_marker("floor_only")
        (kept if keep else skipped).append(item)
    config.hook.pytest_deselected(items=skipped)
    items[:] = kept

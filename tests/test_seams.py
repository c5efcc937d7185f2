"""The package's seams: parsing, scoring and frame sampling stand without the model-side code."""

import ast
from pathlib import Path

import pytest

import helpers

PACKAGE = Path(helpers.__file__).parent
MODEL_SIDE = {"chat", "messages", "loading", "remote", "fast", "budget", "ocr", "tiny"}


def _package_imports(module: str) -> set[str]:
    """Modules of the package that ``module`` imports (at any depth of its code)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
            found.add(node.module.split(".")[1])
    return found


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for name in _package_imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


@pytest.mark.parametrize(
    "module",
    [
        "errors",  # error types: import nothing from the package
        "text",  # thinking blocks, fences, URLs
        "sizes",  # patch geometry
        "files",  # input checks, atomic writes
        "detection",  # parses boxes and points
        "html",  # parses and renders model-written HTML
        "scoring",  # boxes and text against ground truth
        "video",  # frame sampling
    ],
)
def test_parsers_scoring_and_video_import_nothing_model_side(module):
    assert not _closure(module) & MODEL_SIDE, sorted(_closure(module) & MODEL_SIDE)


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("errors", set()),  # imported by every other module
        ("text", set()),
        ("sizes", {"errors"}),
    ],
)
def test_leaf_modules_import_next_to_nothing(module, allowed):
    assert _package_imports(module) == allowed


def test_old_import_paths_still_work():
    from helpers.chat import split_thinking
    from helpers.loading import ModelLoadError
    from helpers.messages import InputError, MissingInputError, check_file
    from helpers.ocr import cer, normalize_text, wer
    from helpers.remote import RemoteError

    assert split_thinking is helpers.text.split_thinking
    assert InputError is helpers.InputError and MissingInputError is helpers.MissingInputError
    assert ModelLoadError is helpers.ModelLoadError and RemoteError is helpers.RemoteError
    assert check_file is helpers.files.check_file
    assert (cer, wer, normalize_text) == (helpers.cer, helpers.wer, helpers.normalize_text)

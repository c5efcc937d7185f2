"""The package's seams: parsing, scoring and frame sampling stand without the model-side code."""

import ast
from pathlib import Path

import pytest

import helpers

PACKAGE = Path(helpers.__file__).parent
#: Modules that run (or talk to) the model; every other module must stand without them.
MODEL_SIDE = {
    "chat",
    "messages",
    "loading",
    "remote",
    "remote_media",
    "fast",
    "budget",
    "ocr",
    "tiny",
    "tasks",
}
FORBIDDEN = {"chat", "messages", "loading", "remote"}
STANDALONE = sorted(
    p.stem for p in PACKAGE.glob("*.py") if p.stem not in MODEL_SIDE and p.stem != "__init__"
)


def _package_imports(module: str) -> set[str]:
    """Modules of the package that ``module`` imports (at any depth of its code)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("helpers."))
        elif isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level == 1 and name:
                found.add(name.split(".")[0])
            elif (node.level == 1 and not name) or (node.level == 0 and name == "helpers"):
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and name.startswith("helpers."):
                found.add(name.split(".")[1])
    return found


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for name in _package_imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def test_the_parsers_scoring_and_frame_sampling_are_standalone():
    assert {"detection", "html", "scoring", "video", "text", "errors"} <= set(STANDALONE)


@pytest.mark.parametrize("module", STANDALONE)
def test_standalone_modules_import_nothing_model_side(module):
    reached = _closure(module) & FORBIDDEN
    assert not reached, (
        f"helpers/{module}.py reaches {sorted(reached)}: keep parsing, scoring and frame sampling "
        "free of model code (or add the module to MODEL_SIDE here if it runs the model)."
    )


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

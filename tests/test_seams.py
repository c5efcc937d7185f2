"""The package's shape: a short list for the notebook reader, seams that hold, no import circle.

Parsing, scoring and frame sampling stand without the model-side code; what no notebook calls
(server client, fast path, tiny checkpoint) lives in its own subpackage; every module and function
stays small enough to read.
"""

import ast
import io
import json
import re
import tokenize
from pathlib import Path

import pytest

import helpers

PACKAGE = Path(helpers.__file__).parent
REPO = PACKAGE.parent
MODULES = {
    ".".join(("helpers", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
        ".__init__"
    ): p
    for p in sorted(PACKAGE.rglob("*.py"))
}
#: Modules that run (or talk to) the model; every other top-level module must stand without them.
MODEL_SIDE = {"chat", "messages", "loading", "budget", "ocr", "sketch"}
FORBIDDEN = {"helpers.chat", "helpers.messages", "helpers.loading", "helpers.serving"}
TOP_LEVEL = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
STANDALONE = sorted(set(TOP_LEVEL) - MODEL_SIDE)
MAX_TOP_LEVEL_MODULES = 20  # __init__.py included
MAX_EXPORTS = 90
MAX_MODULE_LINES = 500
MAX_FUNCTION_CODE_LINES = 60


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name a ``from ... import`` in ``module`` refers to."""
    if node.level == 0:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports(module: str) -> set[str]:
    """Package modules that ``module`` imports anywhere in its code (functions included)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "helpers")
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            if base.split(".")[0] != "helpers":
                continue
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES)
    return {name for name in found if name in MODULES and name != module}


def _closure(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for name in imports(todo.pop()) - seen:
            seen.add(name)
            todo.append(name)
    return seen


def test_no_import_circle():
    circles = sorted(m for m in MODULES if m in _closure(m))
    assert not circles, f"modules that import themselves through others: {circles}"


def test_the_parsers_scoring_and_frame_sampling_are_standalone():
    assert {"detection", "html", "scoring", "video", "document", "facts", "events"} <= set(
        STANDALONE
    )


@pytest.mark.parametrize("module", STANDALONE)
def test_standalone_modules_import_nothing_model_side(module):
    reached = {m for m in _closure(f"helpers.{module}") if m.startswith(tuple(FORBIDDEN))}
    assert not reached, (
        f"helpers/{module}.py reaches {sorted(reached)}: keep parsing, scoring and frame sampling "
        "free of model code (or add the module to MODEL_SIDE here if it runs the model)."
    )


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("helpers.common.errors", set()),  # imported by every other module
        ("helpers.common.text", set()),
        ("helpers.common.sizes", {"helpers.common.errors"}),
    ],
)
def test_leaf_modules_import_next_to_nothing(module, allowed):
    assert imports(module) == allowed


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("helpers.common")))
def test_foundations_import_only_foundations(module):
    outside = {m for m in imports(module) if not m.startswith("helpers.common")}
    assert not outside, f"{module} imports {sorted(outside)}; helpers.common builds on nothing else"


def test_the_reader_list_is_short():
    files = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(files) <= MAX_TOP_LEVEL_MODULES, files
    assert len(helpers.__all__) <= MAX_EXPORTS


def _notebook_code() -> str:
    cells = []
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            cells.append("".join(cell["source"]))
    return "\n".join(cells)


def test_every_export_is_called_by_a_notebook_or_the_readme_or_is_an_error():
    used = _notebook_code() + (REPO / "README.md").read_text(encoding="utf-8")
    unused = [
        name
        for name in helpers.__all__
        if not re.search(rf"\bhelpers\.{name}\b", used)
        and not (
            isinstance(getattr(helpers, name), type)
            and issubclass(getattr(helpers, name), Exception)
        )
    ]
    assert not unused, f"exported but used by no notebook: {unused}; import them from their module"


def test_every_name_a_notebook_uses_is_exported():
    used = set(re.findall(r"\bhelpers\.([A-Za-z_]\w*)", _notebook_code()))
    assert used <= set(helpers.__all__), sorted(used - set(helpers.__all__))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_short(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines; split it by what it does"


def _code_lines(source: str, node: ast.AST) -> int:
    """Lines of ``node`` that hold code: no docstring, comment-only or blank lines."""
    body = node.body
    first = body[0]
    skip = set()
    if isinstance(first, ast.Expr) and isinstance(getattr(first.value, "value", None), str):
        skip = set(range(first.lineno, first.end_lineno + 1))
    text = ast.get_source_segment(source, node, padded=True) or ""
    code = set()
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):  # fmt: skip
            code.update(range(tok.start[0], tok.end[0] + 1))
    return len({line + node.lineno - 1 for line in code} - skip)


def _functions():
    for module, path in sorted(MODULES.items()):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{module}.{node.name}", _code_lines(source, node)


FUNCTION_CODE_LINES = dict(_functions())


@pytest.mark.parametrize("function", sorted(FUNCTION_CODE_LINES))
def test_functions_stay_short(function):
    lines = FUNCTION_CODE_LINES[function]
    assert lines <= MAX_FUNCTION_CODE_LINES, f"{function}: {lines} lines of code; split it"


def test_code_lines_count_code_only():
    source = 'def f():\n    """Doc.\n\n    More.\n    """\n    # a comment\n\n    x = 1\n    return (\n        x\n    )\n'
    [node] = ast.parse(source).body
    assert _code_lines(source, node) == 5  # def, x = 1, and the three lines of the return


def _readme_rows() -> list[tuple[str, str]]:
    """(module path, name) for every name the README's tables list next to a module."""
    rows = []
    for line in (PACKAGE / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[1].startswith("`"):
            continue
        for module in re.findall(r"`([\w/]+\.py|[\w/]+/)`", cells[1]):
            rows += [(module, name) for name in re.findall(r"`(\w+)`", cells[2])]
    return rows


def test_the_readme_lists_modules():
    assert len({m for m, _ in _readme_rows()}) >= 15


@pytest.mark.parametrize(("module", "name"), _readme_rows())
def test_every_name_the_readme_lists_exists(module, name):
    dotted = "helpers." + module.removesuffix(".py").removesuffix("/").replace("/", ".")
    source = (PACKAGE / module / "__init__.py") if module.endswith("/") else PACKAGE / module
    assert source.is_file(), f"helpers/README.md names {module}, which does not exist"
    defined = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            defined.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom):
            defined.update(a.asname or a.name for a in node.names)
    assert name in defined, (
        f"helpers/README.md lists {name} in {module} ({dotted}); it is not there"
    )

"""The report card: the runner takes each notebook's scores and gathers them into one report.

Once a notebook has run, ``scripts/run_notebooks.py`` takes its scores from the notebook's own
variables (:func:`collect_results`, names in :data:`REPORT_SECTIONS`); :func:`record_results`
merges each into ``outputs/results/<notebook>.json`` (written atomically). The runner writes
``<notebook>.run.json`` (status and time) for each notebook it executes, then
:func:`build_report` and :func:`write_report` turn both into ``outputs/report.md`` and ``outputs/report.json``: the model, device, dtype, library
versions and date, every score, and the time per notebook; a failed notebook is shown as failed.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import platform
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers.common.files import write_atomic
from helpers.common.paths import OUTPUT_DIR

LIBRARIES = (
    "torch", "transformers", "accelerate", "qwen-vl-utils", "flash-attn", "torchcodec", "decord",
    "supervision", "openai", "vllm",
)  # fmt: skip
RUN_SUFFIX = ".run.json"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: What the report card takes from each notebook once it has run: section -> the name of the
#: notebook variable holding it (a table, a dict of scores, or results with ``as_row()``). The
#: runner reads them from the notebook's kernel (:func:`collect_results`), so a lesson holds no
#: recording calls; a test keeps every name assigned in its notebook. The report names the
#: sections a run did not produce, so a notebook that stopped measuring something shows that.
REPORT_SECTIONS: dict[str, dict[str, str]] = {
    "01_describe_image": {
        "pixel_budget_tokens": "budget_tokens",
        "pixel_budget_speed": "budget_speed",
    },
    "02_object_detection": {
        "detection": "detection_scores",
        "referring": "referring_summary",
        "attributes": "color_score",
    },
    "03_ocr": {
        "ocr_per_receipt": "receipts_ocr",
        "pixel_floor": "floor_vs_native",
        "prompt_comparison_cer": "prompt_cer",
        "document": "document_scores",
        "key_facts": "facts_summary",
    },
    "04_sketch_to_html": {"sketch_to_html": "pages"},
    "05_video_understanding": {
        "event_timing": "timing_table",
        "event_localisation": "event_summary",
    },
}
#: The sections each notebook yields on a full run.
EXPECTED_SECTIONS: dict[str, tuple[str, ...]] = {
    notebook: tuple(sections) for notebook, sections in REPORT_SECTIONS.items()
}
RESULTS_ENV_VAR = "QWEN_VL_RESULTS_DIR"


def results_dir() -> Path:
    """Where notebooks record and the runner reads.

    Returns:
        ``$QWEN_VL_RESULTS_DIR`` (the runner sets it for the notebooks it executes), else
        ``outputs/results/``.

    Example:
        >>> results_dir().name
        'results'
    """
    env = os.environ.get(RESULTS_ENV_VAR)
    return Path(env) if env else OUTPUT_DIR / "results"


def _jsonable(value: Any) -> Any:
    """JSON for numpy scalars/arrays, pandas tables (list of rows), paths and dataclasses."""
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # pandas DataFrame
        return value.to_dict(orient="records")
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalar
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _clean(value: Any) -> Any:
    """NaN/inf (pandas' empty cells) become null (JSON has no NaN); a lone surrogate (half of a
    character, which no file can store) becomes U+FFFD, so no section is lost to an encoding error."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return _whole_characters(value)
    if isinstance(value, dict):
        return {_whole_characters(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _whole_characters(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def describe_model(model: Any, model_id: str | None = None) -> dict[str, str]:
    """Model id, device, dtype and attention implementation of a loaded model (or server).

    Args:
        model: What :func:`helpers.load_model` returned first.
        model_id: The id it was loaded by (default: the checkpoint's own name or path).

    Returns:
        ``model_id``, ``device``, ``dtype`` and ``attention`` as text.

    Example:
        >>> from types import SimpleNamespace
        >>> describe_model(SimpleNamespace(name="Qwen/Qwen3-VL-8B-Instruct", base_url="http://gpu:8000/v1"))["device"]
        'server http://gpu:8000/v1'
    """
    if hasattr(model, "base_url"):  # a server connection
        return {
            "model_id": getattr(model, "name", model_id or ""),
            "device": f"server {model.base_url}",
            "dtype": "as served",
            "attention": "as served",
        }
    config = getattr(model, "config", None)
    return {
        "model_id": model_id or str(getattr(config, "_name_or_path", "") or "unknown"),
        "device": str(getattr(model, "device", "unknown")),
        "dtype": str(getattr(model, "dtype", "unknown")).replace("torch.", ""),
        "attention": str(getattr(config, "_attn_implementation", "unknown")),
    }


def _as_rows(value: Any) -> Any:
    """Results with ``as_row()`` (one, or a list of them) as plain rows; anything else as is."""
    if hasattr(value, "as_row"):
        return value.as_row()
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "as_row") for v in value):
        return [v.as_row() for v in value]
    return value


def collect_results(
    notebook: str,
    namespace: Mapping[str, Any],
    *,
    sections: Mapping[str, str] | None = None,
    directory: str | os.PathLike | None = None,
) -> list[str]:
    """Record the report card's sections from a notebook's variables, once it has run.

    ``scripts/run_notebooks.py`` calls this in the notebook's own kernel after its last cell
    (or after the cell that failed), with ``globals()``: the lesson itself records nothing.

    Args:
        notebook: The notebook's file stem, e.g. ``"02_object_detection"``.
        namespace: Its variables; ``model`` and ``MODEL_ID`` there say which model ran.
        sections: Section -> variable name; default :data:`REPORT_SECTIONS` for ``notebook``.
        directory: Where to write instead of ``outputs/results/``.

    Returns:
        The sections recorded (a variable the run never assigned is left out).

    Example:
        >>> import json, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> collect_results("02_object_detection", {"color_score": {"accuracy": 0.5}}, directory=folder)
        ['attributes']
    """
    chosen = REPORT_SECTIONS.get(notebook, {}) if sections is None else sections
    recorded = []
    for section, variable in chosen.items():
        if variable in namespace:
            record_results(
                notebook,
                section,
                _as_rows(namespace[variable]),
                model=namespace.get("model"),
                model_id=namespace.get("MODEL_ID"),
                directory=directory,
            )
            recorded.append(section)
    return recorded


def _read_json(path: Path) -> dict[str, Any] | None:
    """The file's JSON object; ``None`` (with a warning naming the file) when it is missing,
    unreadable, nested too deep for JSON's reader, or not an object."""
    problem = _json_or_problem(path)
    if isinstance(problem, dict) or problem is None:
        return problem
    warnings.warn(f"ignored {path}: {problem}", stacklevel=3)
    return None


def _json_or_problem(path: Path) -> dict[str, Any] | str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except RecursionError:
        return "unreadable: nested too deep"
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    return data if isinstance(data, dict) else "not a results file (not a JSON object)"


def record_results(
    notebook: str,
    section: str,
    values: Any,
    *,
    model: Any = None,
    model_id: str | None = None,
    directory: str | os.PathLike | None = None,
) -> Path:
    """Merge ``values`` as ``section`` into ``outputs/results/<notebook>.json``; return its path.

    Args:
        notebook: the notebook's file stem, e.g. ``"02_object_detection"``.
        section: a name for what was measured, e.g. ``"detection"``; recording it again replaces it.
        values: numbers, dicts, lists of rows or a pandas DataFrame (stored as a list of rows).
        model: the loaded model, to record its id, device, dtype and attention once.
        model_id: the id it was loaded by (e.g. ``"tiny"``), recorded with ``model``.
        directory: where to write instead of ``outputs/results/``.

    Returns:
        The results file's path.

    Example:
        >>> import json, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> path = record_results("02_object_detection", "detection", {"precision": 0.9}, directory=folder)
        >>> json.loads(path.read_text())["sections"]
        {'detection': {'precision': 0.9}}
    """
    folder = Path(directory) if directory is not None else results_dir()
    path = folder / f"{notebook}.json"
    data = _read_json(path) or {"notebook": notebook, "sections": {}}
    if not isinstance(data.get("sections"), dict):  # a malformed file: its sections start anew
        data["sections"] = {}
    data["sections"][section] = _clean(json.loads(json.dumps(values, default=_jsonable)))
    if model is not None:
        data["runtime"] = describe_model(model, model_id)
    data["updated"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return path


@dataclass(frozen=True)
class NotebookRun:
    """How one notebook's run went.

    Attributes:
        notebook: The notebook's file stem.
        status: ``"ok"``, ``"failed"`` or ``"skipped"``.
        seconds: How long it ran.
        error: The error's last line (or why it was skipped).
        finished: When the run ended (ISO time, filled in by :func:`write_run`).
    """

    notebook: str
    status: str
    seconds: float | None = None
    error: str | None = None
    finished: str | None = None  # ISO time the run ended


def write_run(run: NotebookRun, directory: str | os.PathLike | None = None) -> Path:
    """Record a notebook's run (status, seconds, error, end time) beside its results.

    Args:
        run: How it went.
        directory: Where to write instead of :func:`results_dir`.

    Returns:
        The run record's path (``<notebook>.run.json``).

    Example:
        >>> import tempfile
        >>> write_run(NotebookRun("03_ocr", "failed", 12.5, "ValueError: boom"), tempfile.mkdtemp()).name
        '03_ocr.run.json'
    """
    folder = Path(directory) if directory is not None else results_dir()
    record = asdict(run)
    record["finished"] = record["finished"] or dt.datetime.now(dt.timezone.utc).isoformat(
        timespec="seconds"
    )
    return write_atomic(folder / f"{run.notebook}{RUN_SUFFIX}", json.dumps(record) + "\n")


def clear_results(notebook: str, directory: str | os.PathLike | None = None) -> None:
    """Remove a notebook's results and run record (before it runs again).

    Args:
        notebook: The notebook's file stem.
        directory: Where they are instead of :func:`results_dir`.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> path = record_results("03_ocr", "cer", 0.1, directory=folder)
        >>> clear_results("03_ocr", folder); path.exists()
        False
    """
    folder = Path(directory) if directory is not None else results_dir()
    for path in (folder / f"{notebook}.json", folder / f"{notebook}{RUN_SUFFIX}"):
        path.unlink(missing_ok=True)


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of the libraries that change results.

    Args:
        names: Distribution names to look up.

    Returns:
        ``python`` and each installed one's version (absent ones left out).

    Example:
        >>> "python" in library_versions(())
        True
    """
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def build_report(
    notebooks: Sequence[str],
    *,
    model_id: str | None = None,
    expected_runtime: dict[str, str] | None = None,
    directory: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The report as a dict: run facts, then each notebook's status, time and recorded sections.

    A notebook without a run record is ``"not run"``; its results (from an earlier run) are not
    reported. A notebook that ran lists under ``missing`` the :data:`EXPECTED_SECTIONS` it did
    not record. The device/dtype come from the first notebook that recorded its model, else from
    ``expected_runtime`` (marked as expected, not observed).

    Args:
        notebooks: Notebook file stems, in report order.
        model_id: The model the run used.
        expected_runtime: Device/dtype/attention the hardware would get, if no notebook says.
        directory: Where the results are instead of :func:`results_dir`.

    Returns:
        ``model_id``, ``runtime``, ``libraries``, ``date``, ``tiny_model`` and ``notebooks``.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_run(NotebookRun("01_describe_image", "ok", 3.2), folder)
        >>> card = build_report(["01_describe_image", "02_object_detection"], model_id="tiny", directory=folder)
        >>> [(n["notebook"], n["status"]) for n in card["notebooks"]]
        [('01_describe_image', 'ok'), ('02_object_detection', 'not run')]
    """
    folder = Path(directory) if directory is not None else results_dir()
    entries, runtime = [], None
    for name in notebooks:
        entry, observed = _entry(folder, name)
        entries.append(entry)
        runtime = runtime or observed
    if runtime is None and expected_runtime is not None:
        runtime = {**expected_runtime, "observed": False}
    model = model_id or (runtime or {}).get("model_id") or "unknown"
    return {
        "model_id": model,
        "runtime": runtime or {},
        "libraries": library_versions(),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "tiny_model": model == "tiny",
        "notebooks": entries,
    }


def _entry(folder: Path, name: str) -> tuple[dict[str, Any], dict[str, str] | None]:
    """One notebook's report entry and the runtime its results name; a malformed file is named
    under ``problems`` (and in a warning) and what can be read of it is kept."""
    problems: list[str] = []
    run = _checked(folder / f"{name}{RUN_SUFFIX}", problems) or {}
    results = _checked(folder / f"{name}.json", problems) if run else None
    sections, runtime = {}, None
    if results is not None:
        sections = results.get("sections", {})
        if not isinstance(sections, dict):
            problems.append(f"{name}.json: 'sections' is {type(sections).__name__}, not a mapping")
            sections = {}
        elif _too_deep(sections):
            problems.append(f"{name}.json: sections nested over {MAX_RESULT_DEPTH} levels deep")
            sections = {}
        runtime = results.get("runtime")
        if runtime is not None and not (
            isinstance(runtime, dict) and all(isinstance(v, str) for v in runtime.values())
        ):
            problems.append(f"{name}.json: 'runtime' is not a mapping of names to text")
            runtime = None
    for problem in problems:
        warnings.warn(f"report card: ignored {problem}", stacklevel=4)
    seconds = run.get("seconds")
    entry = {
        "notebook": name,
        "status": str(run.get("status", "not run")),
        "seconds": seconds if isinstance(seconds, (int, float)) else None,
        "finished": run.get("finished"),
        "error": run.get("error"),
        "sections": sections,
        "missing": [s for s in EXPECTED_SECTIONS.get(name, ()) if s not in sections] if run else [],
        "problems": problems,
    }
    return entry, runtime


#: Results nested deeper than this are refused (no notebook records more than a few levels).
MAX_RESULT_DEPTH = 32


def _too_deep(value: Any, limit: int = MAX_RESULT_DEPTH) -> bool:
    """Whether lists and dicts nest deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


def _checked(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """The file's JSON object, or ``None`` with the reason added to ``problems``."""
    found = _json_or_problem(path)
    if isinstance(found, str):
        problems.append(f"{path.name}: {found}")
        return None
    return found


#: Characters Markdown reads as inline syntax (emphasis, code, links, tables, headings), each
#: shown as itself after a backslash (with ``[`` escaped, no ``!`` starts an image). An underscore between two letters or digits opens
#: no emphasis (``02_object_detection``) and is left as is. Lines are joined, so no other block
#: syntax can start.
_MARKDOWN_SYNTAX = re.compile(r"[\\`*{}\[\]()#|~]|(?<![^\W_])_|_(?![^\W_])")
#: Nesting shown as sub-tables at most this deep; deeper values are left to report.json.
MAX_SECTION_DEPTH = 3


def _escape(value: Any) -> str:
    r"""Text from a model, a file or a user, shown only as text in Markdown and in HTML: syntax
    characters backslash-escaped, ``& < >`` as entities, lines joined, control characters shown as
    ``\xNN``, lone surrogates as U+FFFD.

    Example:
        >>> print(_escape("![x](p.png) <img src=x>"))
        !\[x\]\(p.png\) &lt;img src=x&gt;
    """
    text = _MARKDOWN_SYNTAX.sub(lambda m: "\\" + m.group(), _whole_characters(str(value)))
    text = html.escape(text, quote=False).replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list)):
        try:
            value = json.dumps(value, ensure_ascii=False)
        except (RecursionError, ValueError):
            value = "(nested too deep to show: see report.json)"
    return _escape(value)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    lines = ["| " + " | ".join(_escape(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return lines


def _section(values: Any, depth: int = 0) -> list[str]:
    if isinstance(values, list) and values and all(isinstance(v, dict) for v in values):
        return _table(values)
    if isinstance(values, dict) and all(not isinstance(v, (dict, list)) for v in values.values()):
        return _table([values])
    if isinstance(values, dict) and depth < MAX_SECTION_DEPTH:
        lines = []
        for key, value in values.items():
            lines += [f"*{_escape(key)}*", "", *_section(value, depth + 1), ""]
        return lines
    return [_cell(values)]


def render_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: facts, a status/time table, then one section per notebook.

    Args:
        report: What :func:`build_report` returned.

    Returns:
        The Markdown text; lists of rows become tables.

    Example:
        >>> import tempfile
        >>> card = build_report(["01_describe_image"], model_id="tiny", directory=tempfile.mkdtemp())
        >>> render_markdown(card).splitlines()[0]
        '# Report card: tiny'
    """
    runtime = report.get("runtime") or {}
    observed = "" if runtime.get("observed", True) else " (expected; no notebook reported it)"
    libraries = ", ".join(f"{_escape(k)} {_escape(v)}" for k, v in report["libraries"].items())
    lines = [
        f"# Report card: {_escape(report['model_id'])}",
        "",
    ]
    if report.get("tiny_model"):
        lines += [
            "**Tiny random test model:** answers are gibberish, so scores near zero are expected; "
            "this report shows that every step ran, not how Qwen3-VL performs.",
            "",
        ]
    lines += [
        f"- model: {_escape(report['model_id'])}",
        f"- device: {_escape(runtime.get('device', 'unknown'))}, "
        f"dtype: {_escape(runtime.get('dtype', 'unknown'))}, "
        f"attention: {_escape(runtime.get('attention', 'unknown'))}{observed}",
        f"- libraries: {libraries}",
        f"- date: {_escape(report['date'])}",
        "",
        "| notebook | status | seconds | finished | error |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in report["notebooks"]:
        lines.append(
            f"| {_escape(entry['notebook'])} | {_escape(entry['status'])} | "
            f"{_cell(entry['seconds'])} | {_cell(entry.get('finished'))} | {_cell(entry['error'])} |"
        )
    for entry in report["notebooks"]:
        lines += ["", f"## {_escape(entry['notebook'])} ({_escape(entry['status'])})", ""]
        for problem in entry.get("problems", []):
            lines += [f"**Ignored:** {_escape(problem)}", ""]
        if not entry["sections"]:
            lines.append("No scores recorded.")
        if entry.get("missing"):
            missing = ", ".join(_escape(m) for m in entry["missing"])
            lines += [f"**Not recorded in this run:** {missing}", ""]
        for name, values in entry["sections"].items():
            lines += [f"### {_escape(name)}", "", *_section(values), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(
    report: dict[str, Any], out_dir: str | os.PathLike | None = None
) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.json`` (atomically).

    Args:
        report: What :func:`build_report` returned.
        out_dir: The folder (default ``outputs/``).

    Returns:
        The two paths.

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> card = build_report([], model_id="tiny", directory=folder)
        >>> [p.name for p in write_report(card, folder)]
        ['report.md', 'report.json']
    """
    folder = Path(out_dir) if out_dir is not None else OUTPUT_DIR
    md = write_atomic(folder / "report.md", render_markdown(report))
    js = write_atomic(
        folder / "report.json", json.dumps(_clean(report), ensure_ascii=False, indent=1) + "\n"
    )
    return md, js

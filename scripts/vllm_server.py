"""Start or stop a CPU vLLM server for the tiny checkpoint, on 127.0.0.1 only.

Usage (with the project's .venv python, after ``bash scripts/vllm_setup.sh``)::

    python scripts/vllm_server.py start [--name N] [--trust-request-mm-kwargs] [--port P] [--timeout S]
    python scripts/vllm_server.py stop [--name N | --all]

``start`` builds the tiny checkpoint vLLM can serve (``helpers.testing.tiny``, variant ``vllm``), starts
the server in its own process group with vLLM's default multimodal settings (plus the flag
above, if given; the other flags only pick the CPU, float32 and fewer processes), waits until it
answers (bounded), and prints its base URL; the server's output goes to
``outputs/vllm/<name>.log``. ``stop`` sends SIGTERM to that process group, waits (bounded), then
SIGKILL. Both read and write ``outputs/vllm/<name>.json``; servers with different names run side
by side (``--name`` defaults to ``default``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VLLM_PYTHON = REPO_ROOT / ".venv-vllm" / "bin" / "python"
STATE_DIR = REPO_ROOT / "outputs" / "vllm"
SERVED_NAME = "tiny"  # what QWEN_VL_MODEL=tiny asks for
HOST = "127.0.0.1"
# Long enough for notebook 05's video prompts (about 8,200 tokens) plus the answer.
MAX_MODEL_LEN = 16384
STOP_WAIT_S = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _state_file(name: str) -> Path:
    return STATE_DIR / f"{name}.json"


def _log_file(name: str) -> Path:
    return STATE_DIR / f"{name}.log"


def stop(name: str) -> int:
    """Stop the server recorded under ``name`` (its whole process group); 0 if none is left."""
    state_file = _state_file(name)
    if not state_file.exists():
        print(f"vllm_server: no server {name!r} recorded", file=sys.stderr)
        return 0
    state = json.loads(state_file.read_text())
    pid = int(state["pid"])
    start = time.monotonic()
    for sig, wait_s in ((signal.SIGTERM, STOP_WAIT_S), (signal.SIGKILL, 5.0)):
        if not _group_alive(pid):
            break
        os.killpg(pid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and _group_alive(pid):
            with contextlib.suppress(ChildProcessError):  # reap it if it is our child
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
    alive = _group_alive(pid)
    if not alive:
        state_file.unlink(missing_ok=True)
    print(
        f"vllm_server: {'could not stop' if alive else 'stopped'} {name!r} (process group {pid}) "
        f"in {time.monotonic() - start:.1f} s",
        file=sys.stderr,
    )
    return 1 if alive else 0


def start(args: argparse.Namespace) -> int:
    """Start the server and wait until it lists its model; print the base URL."""
    if not VLLM_PYTHON.exists():
        print(
            f"vllm_server: {VLLM_PYTHON} is missing: run `bash scripts/vllm_setup.sh`.",
            file=sys.stderr,
        )
        return 1
    state_file, log_file = _state_file(args.name), _log_file(args.name)
    if state_file.exists():
        stop(args.name)  # a leftover of this name from an interrupted run goes first
    sys.path.insert(0, str(REPO_ROOT))
    from helpers.testing.tiny import ensure_tiny_checkpoint

    checkpoint = ensure_tiny_checkpoint(variant="vllm")
    port = args.port or _free_port()
    url = f"http://{HOST}:{port}/v1"
    command = [
        str(VLLM_PYTHON),
        "-m",
        "vllm.entrypoints.openai.api_server",
        *("--model", str(checkpoint), "--served-model-name", SERVED_NAME),
        *("--host", HOST, "--port", str(port)),
        *("--max-model-len", str(MAX_MODEL_LEN), "--dtype", "float32"),
        "--enforce-eager",  # no graph compilation: starts in seconds instead of minutes
        # one process fewer (the model runs in the engine process): starts faster, less memory
        *("--distributed-executor-backend", "uni"),
    ]
    if args.trust_request_mm_kwargs:
        command.append("--trust-request-mm-kwargs")
    env = {
        **os.environ,
        "VLLM_TARGET_DEVICE": "cpu",
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB: plenty for the tiny model
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",  # one process fewer: starts about 15 s sooner
        "DO_NOT_TRACK": "1",
    }
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=STATE_DIR,
            start_new_session=True,  # its own process group: stop() ends it and its workers
        )
    state_file.write_text(json.dumps({"pid": process.pid, "url": url, "log": str(log_file)}))
    deadline = began + args.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(
                f"vllm_server: the server exited with code {process.returncode} while starting. "
                f"Last lines of {log_file}:\n{_tail(log_file)}",
                file=sys.stderr,
            )
            state_file.unlink(missing_ok=True)
            return 1
        if _answers(url):
            print(
                f"vllm_server: serving {checkpoint.name} as {SERVED_NAME!r} at {url} "
                f"(pid {process.pid}, started in {time.monotonic() - began:.1f} s)",
                file=sys.stderr,
            )
            print(url)
            return 0
        time.sleep(1.0)
    print(
        f"vllm_server: no answer from {url} after {args.timeout:.0f} s; stopping it. "
        f"Last lines of {log_file}:\n{_tail(log_file)}",
        file=sys.stderr,
    )
    stop(args.name)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    begin = sub.add_parser("start")
    begin.add_argument("--name", default="default", help="several servers run side by side")
    begin.add_argument("--port", type=int, default=0, help="default: a free port")
    begin.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for it")
    begin.add_argument("--trust-request-mm-kwargs", action="store_true")
    end = sub.add_parser("stop")
    end.add_argument("--name", default="default")
    end.add_argument("--all", action="store_true", help="every server recorded")
    args = parser.parse_args(argv)
    if args.command == "start":
        return start(args)
    names = sorted(p.stem for p in STATE_DIR.glob("*.json")) if args.all else [args.name]
    return max((stop(name) for name in names), default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

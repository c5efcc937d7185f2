"""An opt-in fast decode path: static KV cache, a lean decode loop, CUDA graphs on NVIDIA GPUs.

``model.generate`` spends most of each decode step in Python and kernel launches for a 4B model
at batch 1. Here the prompt (images and videos included) is prefilled by the model itself into a
``StaticCache``; then each step runs only the language model on one token, with its inputs in
fixed device tensors updated in place, so on CUDA the whole step is captured once in a CUDA graph
and replayed. Qwen3-VL's multimodal rotary positions continue from the prefill as text positions
shifted by the prompt's rope delta, as ``generate`` continues them.

The steps, one function each: :func:`check_settings` refuses what the loop does not implement,
:func:`logits_processors` builds transformers' own processors for what it does,
:func:`prefill` fills the cache, :class:`DecodeStep` runs (and on CUDA captures) one step.

Works across the transformers versions the cookbook allows by asking the installed library, not
its version string: the cache is passed under the keyword the language model's ``forward`` takes
(``cache`` or ``past_key_values``), and where that ``forward`` takes ``cache_position`` the write
position is passed explicitly. Where a piece cannot apply (no CUDA; a graph that fails to capture
or disagrees with the eager step) it is logged once and the loop carries on with eager steps.

Example:
    >>> import helpers
    >>> from helpers.fast import check_settings
    >>> check_settings({"do_sample": False, "top_p": None}, max_new_tokens=8)
    >>> check_settings({"num_beams": 4}, max_new_tokens=8)
    Traceback (most recent call last):
    ...
    ValueError: fast=True does not implement num_beams=4; drop it, or use fast=False (model.generate).
"""

from __future__ import annotations

import copy
import inspect
import logging
import weakref
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)

#: Graph replays compared with the eager step before a captured graph is trusted.
GRAPH_CHECK_TOKENS = 4
#: Real decode steps run eagerly (on a side stream) before the graph is captured.
GRAPH_WARMUP_STEPS = 2
#: Generation settings the loop honours (``None`` values are ignored, as ``generate`` does).
SUPPORTED_SETTINGS = frozenset(
    {
        "do_sample",
        "temperature",
        "top_k",
        "top_p",
        "min_new_tokens",
        "repetition_penalty",
        "no_repeat_ngram_size",
        "logits_processor",
    }
)


class FastPathUnsupported(RuntimeError):
    """The installed transformers lacks something the fast path needs; ``fast=False`` works."""


@dataclass
class FastState:
    """What the fast path learned about one model: whether its CUDA graphs can be trusted.

    Attributes:
        graphs_ok: ``None`` until decided; ``True`` once :data:`GRAPH_CHECK_TOKENS` replays
            matched the eager step; ``False`` after a failed capture or a mismatch.
        note: why graphs are not used (empty while they are or may be).
        checks: graph replays that matched the eager step so far.
    """

    graphs_ok: bool | None = None
    note: str = ""
    checks: int = 0


_STATES: weakref.WeakKeyDictionary[Any, FastState] = weakref.WeakKeyDictionary()


def fast_state(model: Any) -> FastState:
    """The :class:`FastState` kept for ``model`` (created on first use, dropped with the model).

    Args:
        model: a loaded Qwen3-VL model.

    Returns:
        The model's state; a fresh one the first time.
    """
    return _STATES.setdefault(model, FastState())


def reset_fast_state(model: Any) -> None:
    """Forget what was learned about ``model`` (graphs are tried again on the next call).

    Args:
        model: a loaded Qwen3-VL model.
    """
    _STATES.pop(model, None)


def check_settings(settings: dict[str, Any], max_new_tokens: int) -> None:
    """Refuse generation settings the fast loop does not implement, before any work is done.

    Args:
        settings: keyword arguments as for ``model.generate`` (without ``max_new_tokens``).
        max_new_tokens: how many tokens to generate at most; at least 1.

    Raises:
        ValueError: naming the first setting that is not implemented, or a bad ``max_new_tokens``.

    Example:
        >>> check_settings({"do_sample": True, "temperature": 0.7, "top_k": 20}, max_new_tokens=1)
        >>> check_settings({}, max_new_tokens=0)
        Traceback (most recent call last):
        ...
        ValueError: max_new_tokens must be at least 1, got 0.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int):
        raise ValueError(f"max_new_tokens must be a whole number, got {max_new_tokens!r}.")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}.")
    for key, value in settings.items():
        if key not in SUPPORTED_SETTINGS and value is not None:
            raise ValueError(
                f"fast=True does not implement {key}={value!r}; drop it, or use fast=False "
                "(model.generate)."
            )


def logits_processors(
    settings: dict[str, Any], prompt_length: int, eos_ids: list[int], device: torch.device
) -> Any:
    """transformers' own logits processors for ``settings``, in ``generate``'s order.

    Args:
        settings: checked settings (see :func:`check_settings`).
        prompt_length: tokens in the prompt (``min_new_tokens`` counts from there).
        eos_ids: the end-of-sequence token ids.
        device: where the logits live.

    Returns:
        A ``LogitsProcessorList``; empty for plain greedy decoding.

    Example:
        >>> import torch
        >>> procs = logits_processors({"do_sample": True, "top_k": 1}, 3, [0], torch.device("cpu"))
        >>> [type(p).__name__ for p in procs]
        ['TopKLogitsWarper']
    """
    from transformers import (
        LogitsProcessorList,
        MinNewTokensLengthLogitsProcessor,
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    procs = LogitsProcessorList()
    if settings.get("repetition_penalty") not in (None, 1.0):
        procs.append(RepetitionPenaltyLogitsProcessor(float(settings["repetition_penalty"])))
    if settings.get("no_repeat_ngram_size"):
        procs.append(NoRepeatNGramLogitsProcessor(int(settings["no_repeat_ngram_size"])))
    if settings.get("min_new_tokens") and eos_ids:
        procs.append(
            MinNewTokensLengthLogitsProcessor(
                prompt_length, int(settings["min_new_tokens"]), eos_ids, device=device
            )
        )
    procs.extend(settings.get("logits_processor") or [])
    if settings.get("do_sample"):
        if settings.get("temperature") not in (None, 1.0):
            procs.append(TemperatureLogitsWarper(float(settings["temperature"])))
        if settings.get("top_k"):
            procs.append(TopKLogitsWarper(int(settings["top_k"])))
        if settings.get("top_p") not in (None, 1.0):
            procs.append(TopPLogitsWarper(float(settings["top_p"])))
    return procs


def cache_keyword(forward: Any) -> str:
    """The keyword under which ``forward`` takes its KV cache: ``cache`` or ``past_key_values``.

    Args:
        forward: a model's ``forward`` method.

    Returns:
        The parameter name the installed transformers uses.

    Raises:
        FastPathUnsupported: if it takes neither.

    Example:
        >>> cache_keyword(lambda input_ids, cache=None: None)
        'cache'
    """
    names = inspect.signature(forward).parameters
    for name in ("cache", "past_key_values"):
        if name in names:
            return name
    raise FastPathUnsupported(
        "this transformers' language model takes no KV cache argument (looked for 'cache' and "
        "'past_key_values'); use fast=False."
    )


def prefill(model: Any, inputs: Any, cache: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the prompt through the model into ``cache``.

    The model computes its own multimodal positions, as in ``generate``; the rope delta it keeps
    for continuing them (``model.model.rope_deltas``) is read back.

    Args:
        model: a Qwen3-VL model.
        inputs: a processor batch of size 1, on the model's device.
        cache: an empty ``StaticCache``.

    Returns:
        The last position's logits ``(1, V)`` and the rope delta ``(1, 1)``.
    """
    base = model.model
    if not hasattr(base, "rope_deltas"):
        raise FastPathUnsupported(
            "this transformers' Qwen3-VL keeps no rope_deltas to continue positions; use fast=False."
        )
    base.rope_deltas = None  # not a stale delta from an earlier prompt
    length = inputs["input_ids"].shape[1]
    extra = {}
    if "cache_position" in inspect.signature(base.language_model.forward).parameters:
        extra["cache_position"] = torch.arange(length, device=inputs["input_ids"].device)
    out = model(
        **inputs,
        **{cache_keyword(model.forward): cache},
        use_cache=True,
        logits_to_keep=1,
        **extra,
    )
    delta = base.rope_deltas
    if delta is None:  # text-only prompt: positions are plain text positions
        delta = torch.zeros(1, 1, dtype=torch.long)
    return out.logits[:, -1, :], delta.to(inputs["input_ids"].device).view(1, 1)


class DecodeStep:
    """One decode step of the language model on fixed tensors, replayable as a CUDA graph.

    ``token`` and the positions live in tensors allocated once; each call copies the new token in
    and advances the positions in place, so a captured graph sees its inputs change.

    Args:
        model: the Qwen3-VL model.
        cache: the ``StaticCache`` the prompt was prefilled into.
        first_position: the text position of the first generated token (the prompt length).
        delta: the prompt's rope delta ``(1, 1)``.
    """

    def __init__(self, model: Any, cache: Any, first_position: int, delta: torch.Tensor) -> None:
        device = delta.device
        self.model, self.cache = model, cache
        self.language_model = model.model.language_model
        self.cache_kw = cache_keyword(self.language_model.forward)
        self.explicit_position = (
            "cache_position" in inspect.signature(self.language_model.forward).parameters
        )
        self.token = torch.zeros(1, 1, dtype=torch.long, device=device)
        # Row 0: text position; rows 1-3: MRoPE (temporal, height, width) = text + delta.
        self.position = torch.full((4, 1, 1), first_position, dtype=torch.long, device=device)
        self.position[1:] += delta.view(1, 1, 1)
        self.cache_position = torch.full((1,), first_position, dtype=torch.long, device=device)
        self.graph: Any = None
        self.graph_logits: torch.Tensor | None = None

    def eager(self, cache: Any = None) -> torch.Tensor:
        """Logits ``(1, V)`` for ``self.token`` at the current position (writes its KV).

        Args:
            cache: run against this cache instead of the step's own (a copy, for checking).
        """
        extra = {"cache_position": self.cache_position} if self.explicit_position else {}
        hidden = self.language_model(
            inputs_embeds=self.model.model.get_input_embeddings()(self.token),
            position_ids=self.position,
            use_cache=True,
            **{self.cache_kw: self.cache if cache is None else cache},
            **extra,
        ).last_hidden_state
        return self.model.lm_head(hidden[:, -1, :])

    def capture(self) -> None:
        """Record :meth:`eager` in a CUDA graph (recording runs nothing: the cache is untouched)."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.graph_logits = self.eager()
        self.graph = graph

    def __call__(self, token: torch.Tensor, *, advance: bool = True) -> torch.Tensor:
        """Logits after feeding ``token`` ``(1, 1)``; ``advance`` moves to the next position first."""
        if advance:
            self.position.add_(1)
            self.cache_position.add_(1)
        self.token.copy_(token)
        if self.graph is not None:
            self.graph.replay()
            return self.graph_logits
        return self.eager()


def fast_generate(
    model: Any,
    inputs: Any,
    *,
    max_new_tokens: int,
    settings: dict[str, Any],
    streamer: Any = None,
    use_graphs: bool | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """New token ids ``(1, n)`` for one prompt, stopping at EOS: ``generate``'s loop, leaner.

    Args:
        model: a Qwen3-VL model (local, not a server connection).
        inputs: a processor batch of size 1 on the model's device.
        max_new_tokens: at most this many new tokens (at least 1).
        settings: generation settings as for ``generate`` (see :data:`SUPPORTED_SETTINGS`).
        streamer: a transformers streamer (``put``/``end``), or ``None``.
        use_graphs: capture the decode step in a CUDA graph; default: on CUDA devices.
        generator: random generator for sampling.

    Returns:
        The new token ids, shape ``(1, n)`` with ``1 <= n <= max_new_tokens``.

    Raises:
        ValueError: a batch of more than one, an unimplemented setting or a bad ``max_new_tokens``.
        FastPathUnsupported: the installed transformers lacks what the loop needs.
    """
    from transformers import StaticCache

    if inputs["input_ids"].shape[0] != 1:
        raise ValueError(
            "the fast path decodes one conversation at a time; use chat_batch for batches."
        )
    check_settings(settings, max_new_tokens)
    device = inputs["input_ids"].device
    state = fast_state(model)
    graphs = _graphs_wanted(device, use_graphs, state)
    eos = model.generation_config.eos_token_id
    eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
    eos_tensor = torch.tensor(eos_ids, device=device)
    length = inputs["input_ids"].shape[1]
    procs = logits_processors(settings, length, eos_ids, device)
    sequence = inputs["input_ids"]  # grows only when a processor needs the history

    cache = StaticCache(config=model.config, max_cache_len=length + max_new_tokens + 1)
    with torch.inference_mode():
        logits, delta = prefill(model, inputs, cache)
        if streamer is not None:
            streamer.put(inputs["input_ids"].cpu())  # streamers skip the first put: the prompt
        step = DecodeStep(model, cache, length, delta)
        out: list[torch.Tensor] = []
        for i in range(max_new_tokens):
            token = _next_token(logits, procs, sequence, settings, generator)
            out.append(token)
            if procs:
                sequence = torch.cat([sequence, token], dim=1)
            if streamer is not None:
                streamer.put(token.cpu())
            if i + 1 == max_new_tokens or bool(torch.isin(token, eos_tensor).any()):
                break
            logits = _decode(step, token, i, graphs, state)
            graphs = graphs and state.graphs_ok is not False
    if streamer is not None:
        streamer.end()
    return torch.cat(out, dim=1)


def _graphs_wanted(device: torch.device, use_graphs: bool | None, state: FastState) -> bool:
    if use_graphs is None and device.type != "cuda":
        if not state.note:
            state.note = (
                f"CUDA graphs need an NVIDIA GPU; decoding with eager static-cache steps on "
                f"{device.type}"
            )
            logger.warning("fast path: %s.", state.note)
        return False
    wanted = device.type == "cuda" if use_graphs is None else use_graphs
    return wanted and state.graphs_ok is not False


def _next_token(
    logits: torch.Tensor,
    procs: Any,
    sequence: torch.Tensor,
    settings: dict[str, Any],
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Next token ``(1, 1)``: the processors applied, then greedy or sampled as ``generate`` does."""
    scores = procs(sequence, logits.float()) if procs else logits
    if settings.get("do_sample"):
        return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator)
    return scores.argmax(dim=-1, keepdim=True)


def _decode(
    step: DecodeStep, token: torch.Tensor, i: int, graphs: bool, state: FastState
) -> torch.Tensor:
    """Logits for the step after ``token`` (the ``i``-th new token): eager, warm-up or graph."""
    if not graphs:
        return step(token, advance=i > 0)
    if step.graph is None and i < GRAPH_WARMUP_STEPS:
        if step.token.device.type != "cuda":
            return step(token, advance=i > 0)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # real steps, run where capture expects its warm-up
            logits = step(token, advance=i > 0)
        torch.cuda.current_stream().wait_stream(side)
        return logits
    if step.graph is None and not _try_capture(step, state):
        return step(token, advance=i > 0)
    if state.graphs_ok is None:
        return _checked_replay(step, state, token)
    return step(token, advance=i > 0)


def _try_capture(step: DecodeStep, state: FastState) -> bool:
    try:
        step.capture()
        return True
    except Exception as exc:  # any capture failure: eager steps from here on, said once
        state.graphs_ok = False
        state.note = f"CUDA graph capture failed ({type(exc).__name__}: {exc})"
        logger.warning("fast path: %s; using eager decode steps.", state.note)
        step.graph = None
        return False


def _checked_replay(step: DecodeStep, state: FastState, token: torch.Tensor) -> torch.Tensor:
    """Replay the graph, and run the same step eagerly on a copy of the cache taken just before.

    The copy (``copy.deepcopy``: the cache's tensors cloned, whatever its internals) lets both
    runs start from the same state without undoing anything in the real cache. On any
    disagreement the graph is dropped and the eager logits are used.
    """
    shadow = copy.deepcopy(step.cache)
    graph_logits = step(token, advance=True).clone()
    eager_logits = step.eager(cache=shadow)
    if not torch.equal(eager_logits.argmax(dim=-1), graph_logits.argmax(dim=-1)):
        state.graphs_ok, state.note = False, "CUDA graph replay disagreed with the eager step"
        logger.warning("fast path: %s; using eager decode steps.", state.note)
        step.graph = None
        return eager_logits
    state.checks += 1
    state.graphs_ok = True if state.checks >= GRAPH_CHECK_TOKENS else None
    return graph_logits

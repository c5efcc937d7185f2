"""An opt-in fast decode path: static KV cache, a lean decode loop, CUDA graphs on NVIDIA GPUs.

``model.generate`` spends most of each decode step in Python and kernel launches for a 4B model
at batch 1. Here the prompt (images and videos included) is prefilled normally into a
``StaticCache``; then each step runs only the language model on one token, with its inputs in
fixed device tensors updated in place, so on CUDA the whole step is captured once in a CUDA graph
and replayed. Qwen3-VL's multimodal rotary positions continue from the prefill as text positions
shifted by the prompt's ``rope_deltas``. Greedy output is token-identical to ``generate``.

Where a piece cannot apply (no CUDA: eager steps; graph capture fails or disagrees with the eager
step on a check: eager steps), it says so in one line and carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

#: Tokens compared between the graph and the eager step before a captured graph is trusted.
GRAPH_CHECK_TOKENS = 4


@dataclass
class FastState:
    """Per-model state kept between calls: whether graphs work here, and why not."""

    graphs_ok: bool | None = None  # None: not tried yet
    note: str = ""
    checks: int = 0  # graph replays that matched the eager step


def _state(model: Any) -> FastState:
    state = getattr(model, "_cookbook_fast_state", None)
    if state is None:
        state = FastState()
        model._cookbook_fast_state = state
    return state


def _positions(model: Any, inputs: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Prefill position ids ``(4, 1, L)`` (text row + 3 MRoPE rows) and the rope delta ``(1, 1)``."""
    input_ids = inputs["input_ids"]
    length = input_ids.shape[1]
    text = torch.arange(length, device=input_ids.device).view(1, 1, -1)
    if inputs.get("image_grid_thw") is not None or inputs.get("video_grid_thw") is not None:
        vision, delta = model.model.get_rope_index(
            input_ids,
            mm_token_type_ids=inputs["mm_token_type_ids"],
            image_grid_thw=inputs.get("image_grid_thw"),
            video_grid_thw=inputs.get("video_grid_thw"),
            attention_mask=inputs.get("attention_mask"),
        )
    else:
        vision, delta = (
            text.expand(3, 1, -1),
            torch.zeros(1, 1, dtype=torch.long, device=input_ids.device),
        )
    model.model.rope_deltas = delta
    return torch.cat([text, vision.to(text.device)], dim=0), delta.to(text.device)


def _select(
    logits: torch.Tensor, settings: dict[str, Any], generator: torch.Generator | None
) -> torch.Tensor:
    """Next token ``(1, 1)`` from last-position logits ``(1, V)``: greedy, or sampling as asked."""
    if not settings.get("do_sample"):
        return logits.argmax(dim=-1, keepdim=True)
    scores = logits.float() / max(float(settings.get("temperature") or 1.0), 1e-5)
    top_k = settings.get("top_k")
    if top_k:
        kth = torch.topk(scores, min(int(top_k), scores.shape[-1])).values[..., -1, None]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    top_p = settings.get("top_p")
    if top_p is not None and top_p < 1.0:
        ordered, index = torch.sort(scores, descending=True)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - ordered.softmax(dim=-1) > top_p  # keep the smallest set reaching top_p
        scores = scores.scatter(-1, index, ordered.masked_fill(drop, float("-inf")))
    return torch.multinomial(scores.softmax(dim=-1), 1, generator=generator)


class _DecodeStep:
    """One decode step of the language model on fixed tensors: ``token`` and ``position`` in, logits out."""

    def __init__(self, model: Any, cache: Any, device: torch.device) -> None:
        self.model, self.cache = model, cache
        self.token = torch.zeros(1, 1, dtype=torch.long, device=device)
        self.position = torch.zeros(4, 1, 1, dtype=torch.long, device=device)
        self.graph: Any = None
        self.graph_logits: torch.Tensor | None = None  # the tensor the graph writes into

    def eager(self) -> torch.Tensor:
        embeds = self.model.model.get_input_embeddings()(self.token)
        hidden = self.model.model.language_model(
            inputs_embeds=embeds, position_ids=self.position, cache=self.cache, use_cache=True
        ).last_hidden_state
        return self.model.lm_head(hidden[:, -1, :])

    def capture(self) -> None:
        """Record the step in a CUDA graph (the cache's write position is restored afterwards)."""
        lengths = [layer.cumulative_length.clone() for layer in self.cache.layers]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up runs advance the cache; undone below
                self.eager()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self.graph_logits = self.eager()
        for layer, length in zip(self.cache.layers, lengths, strict=True):
            layer.cumulative_length.copy_(length)
        self.graph = graph

    def __call__(self, token: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        self.token.copy_(token)
        self.position.copy_(position)
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
    """New token ids ``(1, n)`` for one prompt (a processor batch of size 1), stopping at EOS.

    ``settings`` are generation settings as for ``generate`` (``do_sample``, ``temperature``,
    ``top_k``, ``top_p``, ``min_new_tokens``). ``use_graphs`` defaults to "on CUDA".
    """
    from transformers import StaticCache

    if inputs["input_ids"].shape[0] != 1:
        raise ValueError(
            "the fast path decodes one conversation at a time; use chat_batch for batches."
        )
    device = inputs["input_ids"].device
    state = _state(model)
    graphs = (device.type == "cuda") if use_graphs is None else use_graphs
    if use_graphs is None and device.type != "cuda" and not state.note:
        state.note = f"CUDA graphs need an NVIDIA GPU; decoding with eager static-cache steps on {device.type}"
        print(f"fast path: {state.note}.")
    graphs = graphs and state.graphs_ok is not False
    eos = model.generation_config.eos_token_id
    eos_ids = torch.tensor([eos] if isinstance(eos, int) else list(eos or []), device=device)
    min_new = int(settings.get("min_new_tokens") or 0)
    length = inputs["input_ids"].shape[1]

    cache = StaticCache(config=model.config, max_cache_len=length + max_new_tokens + 1)
    positions, delta = _positions(model, inputs)
    with torch.inference_mode():
        prefill = model(
            **inputs, position_ids=positions, cache=cache, use_cache=True, logits_to_keep=1
        )
        logits = prefill.logits[:, -1, :]
        if streamer is not None:
            streamer.put(inputs["input_ids"].cpu())  # streamers skip the first put: the prompt
        step = _DecodeStep(model, cache, device)
        if graphs:
            graphs = _try_capture(step, state)
        out: list[torch.Tensor] = []
        for i in range(max_new_tokens):
            if i < min_new and len(eos_ids):
                logits = logits.clone()
                logits[:, eos_ids] = float("-inf")
            token = _select(logits, settings, generator)
            out.append(token)
            if streamer is not None:
                streamer.put(token.cpu())
            if i + 1 == max_new_tokens or (len(eos_ids) and bool(torch.isin(token, eos_ids).any())):
                break
            text_position = length + i
            position = (
                torch.tensor([text_position], device=device).view(1, 1, 1).expand(4, 1, 1).clone()
            )
            position[1:] += delta.view(1, 1, 1)
            logits = step(token, position)
            if graphs and state.graphs_ok is None:
                graphs = _check_graph(step, state, token, position, logits)
    if streamer is not None:
        streamer.end()
    return torch.cat(out, dim=1)


def _try_capture(step: _DecodeStep, state: FastState) -> bool:
    try:
        step.capture()
        return True
    except Exception as exc:  # any capture failure: fall back to eager steps, once, with a line
        state.graphs_ok, state.note = (
            False,
            f"CUDA graph capture failed ({type(exc).__name__}: {exc})",
        )
        print(f"fast path: {state.note}; using eager decode steps.")
        step.graph = None
        return False


def _check_graph(step: _DecodeStep, state: FastState, token, position, graph_logits) -> bool:
    """Compare the first replays with the eager step; distrust the graph on any disagreement."""
    graph_token = graph_logits.argmax(dim=-1)
    for layer in step.cache.layers:
        layer.cumulative_length.sub_(1)  # re-run the same step eagerly at the same position
    graph, step.graph = step.graph, None
    eager_logits = step(token, position)
    step.graph = graph
    if not torch.equal(eager_logits.argmax(dim=-1), graph_token):
        state.graphs_ok, state.note = False, "CUDA graph replay disagreed with the eager step"
        print(f"fast path: {state.note}; using eager decode steps.")
        step.graph = None
        return False
    state.checks += 1
    if state.checks >= GRAPH_CHECK_TOKENS:
        state.graphs_ok = True
    return True

"""What helpers.chat adds over a plain transformers tutorial sequence.

Both paths get the same conversation and generate the same number of tokens (greedy) on the
tiny model; the ratio of their times should be close to 1.
Usage: python bench/overhead.py [--model tiny] [--tokens 32] [--repeats 5]
"""

from __future__ import annotations

import argparse

from _common import report, timed

import helpers


def plain_sequence(model, processor, messages, max_new_tokens: int) -> str:
    """apply_chat_template -> generate -> trim -> decode, as a plain transformers tutorial does."""
    inputs = processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt"
    ).to(model.device)
    generated = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
    )
    trimmed = [out[len(inp) :] for inp, out in zip(inputs.input_ids, generated, strict=True)]
    return processor.batch_decode(
        trimmed, skip_special_tokens=True, clean_up_tokenization_spaces=False
    )[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    model, processor = helpers.load_model(args.model)
    cases = {
        "image": helpers.image_message(
            str(helpers.INPUT_DIR / "fruits.jpg"), "Describe this image."
        ),
        "text only": [
            {"role": "user", "content": [{"type": "text", "text": "Write a haiku about cameras."}]}
        ],
    }
    rows = []
    for name, messages in cases.items():
        n = args.tokens
        plain_s, plain_text = timed(
            lambda m=messages, n=n: plain_sequence(model, processor, m, n), args.repeats
        )
        chat_s, chat_text = timed(
            lambda m=messages, n=n: helpers.chat(model, processor, m, max_new_tokens=n),
            args.repeats,
        )
        rows.append(
            {
                "input": name,
                "new_tokens": n,
                "plain_s": round(plain_s, 4),
                "helpers_s": round(chat_s, 4),
                "helpers/plain": round(chat_s / plain_s, 3),
                "same_text": str(chat_text) == plain_text,
            }
        )
    report("overhead", rows, model=args.model)
    if not all(r["same_text"] for r in rows):
        raise SystemExit("helpers.chat and the plain transformers sequence produced different text")


if __name__ == "__main__":
    main()

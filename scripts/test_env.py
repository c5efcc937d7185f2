"""The environment every test run gives the notebooks and tests, defined once.

scripts/test.sh exports it (``export $(python3 scripts/test_env.py)``); scripts/drift.py and
scripts/record_outputs.py import it. Tiny offline model, greedy decoding and short
answers: every run gives the same outputs, and no checked cell prints a model answer.
"""

TEST_ENV = {
    "QWEN_VL_MODEL": "tiny",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "QWEN_VL_GREEDY": "1",
    "QWEN_VL_MAX_NEW_TOKENS": "32",
}

if __name__ == "__main__":
    print(" ".join(f"{name}={value}" for name, value in TEST_ENV.items()))

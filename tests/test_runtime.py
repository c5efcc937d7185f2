import pytest

from helpers.runtime import DeviceCaps, choose_runtime

T4 = DeviceCaps(cuda_available=True, cuda_name="Tesla T4", cuda_capability=(7, 5))
A100 = DeviceCaps(cuda_available=True, cuda_name="NVIDIA A100", cuda_capability=(8, 0))
A100_FA = DeviceCaps(True, "NVIDIA A100", (8, 0), flash_attn_installed=True)
H100_FA = DeviceCaps(True, "NVIDIA H100", (9, 0), flash_attn_installed=True)
T4_FA = DeviceCaps(True, "Tesla T4", (7, 5), flash_attn_installed=True)
MPS = DeviceCaps(mps_available=True)
CPU = DeviceCaps()


@pytest.mark.parametrize(
    ("caps", "device", "dtype", "attn"),
    [
        (T4, "cuda", "float16", "sdpa"),  # Colab T4: no bf16, no flash-attn
        (T4_FA, "cuda", "float16", "sdpa"),  # flash-attn installed but GPU older than Ampere
        (A100, "cuda", "bfloat16", "sdpa"),  # Ampere without flash-attn
        (A100_FA, "cuda", "bfloat16", "flash_attention_2"),  # Ampere with flash-attn
        (H100_FA, "cuda", "bfloat16", "flash_attention_2"),  # Hopper with flash-attn
        (MPS, "mps", "bfloat16", "sdpa"),  # Apple silicon
        (CPU, "cpu", "float32", "sdpa"),  # no accelerator
    ],
)
def test_choose_runtime_per_machine(caps, device, dtype, attn):
    choice = choose_runtime(caps)
    assert (choice.device, choice.dtype, choice.attn_implementation) == (device, dtype, attn)
    assert choice.reason  # the printed line says why


def test_explicit_arguments_win():
    choice = choose_runtime(H100_FA, device="cpu", dtype="bfloat16", attn_implementation="eager")
    assert (choice.device, choice.dtype, choice.attn_implementation) == ("cpu", "bfloat16", "eager")


def test_cpu_requested_on_gpu_machine_gets_fp32_and_sdpa():
    choice = choose_runtime(A100_FA, device="cpu")
    assert (choice.dtype, choice.attn_implementation) == ("float32", "sdpa")


def test_describe_names_everything():
    text = choose_runtime(T4).describe()
    assert "cuda" in text and "float16" in text and "sdpa" in text and "bf16" in text

"""Peaks read from what the machine is, and DeepFaceLab compared only against a figure from this machine."""

from __future__ import annotations

import pytest

from doppel.core.errors import DoppelError
from doppel.doctor.bench import read_references
from doppel.doctor.peak import cpu_peak, flops_per_cycle, gpu_peak_tflops

AVX512 = {"avx", "avx2", "fma", "avx512f"}


def cpuinfo(vendor: str, family: int, name: str, flags: set[str], mhz: float = 2600.0) -> str:
    return (f"vendor_id\t: {vendor}\ncpu family\t: {family}\nmodel name\t: {name}\ncpu MHz\t\t: {mhz}\n"
            f"flags\t\t: {' '.join(sorted(flags))}\n")


@pytest.mark.parametrize("vendor, family, name, flags, fp32, bf16", [
    ("AuthenticAMD", 25, "AMD EPYC 9554", AVX512 | {"avx512_bf16"}, 32, 64),  # Zen 4: 512-bit on 256-bit units
    ("AuthenticAMD", 26, "AMD EPYC 9575F", AVX512 | {"avx512_bf16"}, 64, 128),  # Zen 5: full-width units
    ("GenuineIntel", 6, "Intel(R) Xeon(R) Gold 6248 CPU", AVX512, 64, None),
    ("GenuineIntel", 6, "Intel(R) Xeon(R) Silver 4214 CPU", AVX512, 32, None),
    ("GenuineIntel", 6, "Intel(R) Xeon(R) Platinum 8480+", AVX512 | {"avx512_bf16", "amx_bf16"}, 64, 1024),
    ("AuthenticAMD", 23, "AMD EPYC 7742", {"avx", "avx2", "fma"}, 32, None),
])
def test_flops_per_cycle_follow_the_instruction_set(vendor, family, name, flags, fp32, bf16):
    got_fp32, got_bf16, how = flops_per_cycle(flags, vendor, family, name)
    assert (got_fp32, got_bf16) == (fp32, bf16) and how


def test_the_reported_case_is_no_longer_above_peak():
    """2 Zen 4 cores at 2.6 GHz: the old peak said 332 GFLOP/s (64 FLOP/cycle); 32 is right, and a matrix
    product faster than the reported clock allows raises the clock, so no rate reads over 100 %."""
    text = cpuinfo("AuthenticAMD", 25, "AMD EPYC", AVX512 | {"avx512_bf16"})
    slow = cpu_peak(2, text, measured_gflops=100.0)
    assert slow.fp32_gflops == pytest.approx(2 * 2.6 * 32) and slow.bf16_gflops == pytest.approx(2 * slow.fp32_gflops)
    assert "Zen 4" in slow.how and "2.60 GHz" in slow.how
    fast = cpu_peak(2, text, measured_gflops=200.0)  # 200 > 166: the clock must be above 2.6 GHz
    assert fast.fp32_gflops == pytest.approx(200.0) and "implied by a 200 GFLOP/s matrix product" in fast.how


def test_gpu_peaks_by_model_name():
    assert gpu_peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert gpu_peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert gpu_peak_tflops("NVIDIA A10G") == 70.0 and gpu_peak_tflops("NVIDIA A10") == 125.0
    assert gpu_peak_tflops("Some Future GPU") is None


def test_dfl_references_come_only_from_the_user(tmp_path):
    ref = tmp_path / "dfl.json"
    ref.write_text('{"a": 0.55, "b": 3.4}')
    assert read_references(["b=3.3"], ref) == {"a": 0.55, "b": 3.3}
    assert read_references([], None) == {}
    with pytest.raises(DoppelError, match="CONFIG=SECONDS"):
        read_references(["a"], None)
    ref.write_text("not json")
    with pytest.raises(DoppelError, match="dfl.json"):
        read_references([], ref)

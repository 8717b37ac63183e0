"""NF4 4-bit blockwise quantization in plain PyTorch, shared by nf4.py and gemma_step.py.

The functions mirror bitsandbytes' *default* (pure-PyTorch) backend, `bitsandbytes/backends/default/ops.py`
(0.50.x: `quantize_4bit`, `_dequantize_4bit_compute`, `quantize_blockwise`, `_dequantize_blockwise_compute`),
and the double-quantization glue of `bitsandbytes/functional.py` (`quantize_4bit` / `dequantize_4bit` with
`compress_statistics=True`, `create_dynamic_map`). See /work/shared/reference/formats.md §1.3-1.6.

Only deviation from the reference ops: the reference indexes the codebook with an int32 tensor
(`code[out_dq]`); torch 1.13 only accepts int64 indices, so the unpacked nibbles are int64 here.
The reference also wraps the compute functions in `torch.compile`, which torch 1.13 does not have
(bitsandbytes falls back to eager when compilation fails, which is what runs here).
"""

from dataclasses import dataclass
from math import prod
from typing import Optional, Sequence

import torch

# bitsandbytes functional.get_4bit_type("nf4") (formats.md §1.1); every literal is exact in float32.
NF4_CODE = torch.tensor(
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ],
    dtype=torch.float32,
)

# functional.quantize_4bit passes blocksize=256 to quantize_blockwise for the absmax (double quantization).
NESTED_BLOCKSIZE = 256


def create_dynamic_map() -> torch.Tensor:
    """functional.create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8), i.e. its defaults, which
    are what double quantization uses (formats.md §1.6): 256 sorted float32 values from -0.99296875 to 1."""
    data = []
    for i in range(7):
        fraction_items = 2**i + 1
        boundaries = torch.linspace(0.1, 1, fraction_items, dtype=torch.float32)
        means = (boundaries[:-1] + boundaries[1:]) / 2.0
        data += ((10 ** (-6 + i)) * means).tolist()
        data += (-(10 ** (-6 + i)) * means).tolist()
    data.append(0)
    data.append(1.0)
    data.sort()
    return torch.tensor(data, dtype=torch.float32)


DYNAMIC_CODE = create_dynamic_map()


def _blockwise_absmax_scale(A: torch.Tensor, blocksize: int):
    """The blocking both default-backend quantizers share: per-block absmax and x scaled into [-1, 1] (full blocks
    multiply by the reciprocal of the clamped absmax; the partial last block divides by its clamped absmax)."""
    A_flat = A.reshape(-1).float()
    n = A_flat.numel()
    rem = n % blocksize
    full = n - rem
    blocks = full // blocksize
    A_com = A_flat[:full].reshape(blocks, blocksize)
    absmax = A_com.abs().max(dim=-1)[0]
    scaled = torch.clamp(A_com * (1.0 / absmax.clamp(min=1e-38).view(-1, 1)), -1, 1).reshape(-1)
    if rem:
        am = A_flat[full:].abs().max().clamp(min=1e-38)
        absmax = torch.cat([absmax, am.unsqueeze(0)])
        scaled = torch.cat([scaled, torch.clamp(A_flat[full:] / am, -1, 1)])
    return absmax, scaled


def quantize_4bit(A: torch.Tensor, blocksize: int = 64, code: torch.Tensor = NF4_CODE):
    """default backend `quantize_4bit` for quant_type="nf4", quant_storage=uint8.

    Returns (packed uint8 [ceil(n/2), 1], absmax float32 [ceil(n/blocksize)]). Element 2j is the high nibble.
    NF4 is sorted, so the backend's `order` remap (needed for FP4) is the identity and is left out; the
    midpoints are therefore `(code[:-1] + code[1:]) / 2`, and bucketize(right=False) sends ties to the lower code.
    """
    bounds = (code[:-1] + code[1:]) / 2
    absmax, scaled = _blockwise_absmax_scale(A, blocksize)
    if scaled.numel() % 2:
        scaled = torch.nn.functional.pad(scaled, (0, 1))
    q = torch.bucketize(scaled, bounds, out_int32=True)
    q8 = q.to(torch.uint8)
    packed = ((q8[::2] << 4) | q8[1::2]).unsqueeze(1)
    return packed, absmax


def dequantize_4bit(
    A: torch.Tensor,
    absmax: torch.Tensor,
    blocksize: int,
    shape: Sequence[int],
    dtype: torch.dtype,
    code: torch.Tensor = NF4_CODE,
) -> torch.Tensor:
    """default backend `dequantize_4bit` / `_dequantize_4bit_compute`: code[nibble] * absmax[block] in float32,
    reshaped to `shape`, then cast to `dtype`."""
    A_flat = A.reshape(-1)
    n = prod(shape)
    out_dq = torch.empty(A_flat.size(0) * 2, dtype=torch.int64, device=A_flat.device)  # int32 in the reference
    out_dq[1::2] = A_flat & 0xF
    out_dq[::2] = A_flat >> 4
    out_dq = code[out_dq][:n]  # stays fp32, matches C++ / CUDA behavior
    rem = n % blocksize
    if rem:
        full = n - rem
        blocks = full // blocksize
        out = torch.empty(n, dtype=torch.float32, device=A_flat.device)
        out[:full] = (out_dq[:full].view(-1, blocksize) * absmax[:blocks].view(-1, 1)).reshape(full)
        out[full:] = out_dq[full:] * absmax[blocks]
    else:
        out = (out_dq.view(-1, blocksize) * absmax.view(-1, 1)).reshape(n)
    return out.reshape(-1, *shape[1:]).to(dtype)


def quantize_blockwise(A: torch.Tensor, code: torch.Tensor, blocksize: int):
    """default backend `quantize_blockwise` (8-bit, nearest code by bucketize on the midpoints)."""
    absmax, scaled = _blockwise_absmax_scale(A, blocksize)
    bounds = (code[:-1] + code[1:]) / 2  # code is always sorted (same assumption as CUDA kernel)
    q = torch.bucketize(scaled, bounds, out_int32=True).to(torch.uint8)
    return q.reshape(A.shape), absmax


def dequantize_blockwise(A: torch.Tensor, absmax: torch.Tensor, code: torch.Tensor, blocksize: int,
                         dtype: torch.dtype) -> torch.Tensor:
    """default backend `dequantize_blockwise` / `_dequantize_blockwise_compute`."""
    A_flat = A.reshape(-1)
    n = A_flat.numel()
    out = code[A_flat.to(torch.int64)]
    rem = n % blocksize
    if rem == 0:
        out = (out.reshape(-1, blocksize) * absmax.view(-1, 1)).reshape(n)
    else:
        full = n - rem
        blocks = full // blocksize
        out = torch.cat([
            (out[:full].reshape(blocks, blocksize) * absmax[:blocks].view(-1, 1)).reshape(full),
            out[full:] * absmax[blocks],
        ])
    return out.to(dtype).reshape(A.shape)


@dataclass
class QuantState:
    """The fields of bitsandbytes' functional.QuantState that NF4 needs. With double quantization `absmax`
    holds the uint8 codes and `offset`/`nested_absmax` the second-level state (state2, dynamic code)."""
    packed: torch.Tensor
    absmax: torch.Tensor
    shape: Sequence[int]
    dtype: torch.dtype
    blocksize: int
    offset: Optional[torch.Tensor] = None
    nested_absmax: Optional[torch.Tensor] = None

    @property
    def nested(self) -> bool:
        return self.nested_absmax is not None

    def nbytes(self) -> int:
        ts = [self.packed, self.absmax] + ([self.offset, self.nested_absmax] if self.nested else [])
        return sum(t.numel() * t.element_size() for t in ts)


def quantize_nf4(A: torch.Tensor, blocksize: int = 64, compress_statistics: bool = True) -> QuantState:
    """functional.quantize_4bit(A, blocksize, compress_statistics, quant_type="nf4"): the quant state keeps
    A's dtype (the dtype dequantization casts to); with compress_statistics the float32 absmax is
    replaced by 8-bit codes of (absmax - mean) in blocks of 256."""
    packed, absmax = quantize_4bit(A, blocksize)
    if not compress_statistics:
        return QuantState(packed, absmax, tuple(A.shape), A.dtype, blocksize)
    offset = absmax.mean()
    qabsmax, nested_absmax = quantize_blockwise(absmax - offset, DYNAMIC_CODE, NESTED_BLOCKSIZE)
    return QuantState(packed, qabsmax, tuple(A.shape), A.dtype, blocksize, offset, nested_absmax)


def dequantize_nf4(state: QuantState) -> torch.Tensor:
    """functional.dequantize_4bit(A, quant_state): recover the float32 absmax (double quantization), then
    dequantize to quant_state.dtype."""
    absmax = state.absmax
    if state.nested:
        absmax = dequantize_blockwise(absmax, state.nested_absmax, DYNAMIC_CODE, NESTED_BLOCKSIZE, torch.float32)
        absmax += state.offset
    return dequantize_4bit(state.packed, absmax, state.blocksize, state.shape, state.dtype)

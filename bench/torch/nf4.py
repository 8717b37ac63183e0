#!/usr/bin/python3
"""NF4 quantize/dequantize throughput in PyTorch (bitsandbytes' default pure-torch backend, see nf4ref.py),
next to a plain float32 copy of the same size, on the tensors LoRA Lab wrote to DIR.

Usage: /usr/bin/python3 bench/torch/nf4.py DIR [--reps 7] [--threads N]

DIR holds meta.json ({"n", "blocksize", "code": [16 floats], "quantType": "nf4"}), input.f32 (n float32 LE),
packed.u8 (ceil(n/2) bytes, even element in the high nibble) and absmax.f32 (ceil(n/blocksize) float32).
Prints one JSON line on stdout; correctness problems are reported in "check" and on stderr, never fatal.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.dont_write_bytecode = True  # importing nf4ref must not leave a __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nf4ref  # noqa: E402


def median_seconds(fn, reps: int) -> float:
    """Median wall time (time.perf_counter) of `reps` calls after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def numpy_dequantize(packed: np.ndarray, absmax: np.ndarray, code: np.ndarray, blocksize: int, n: int) -> np.ndarray:
    """Independent float32 reference: code[nibble(e)] * absmax[e // blocksize], high nibble = even element."""
    nibbles = np.empty(packed.size * 2, dtype=np.uint8)
    nibbles[0::2] = packed >> 4
    nibbles[1::2] = packed & 0xF
    return code[nibbles[:n]] * absmax[np.arange(n) // blocksize]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: os.cpu_count())")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    n, blocksize = int(meta["n"]), int(meta["blocksize"])
    if meta.get("quantType", "nf4") != "nf4":
        sys.exit(f"nf4.py: quantType {meta['quantType']!r} is not supported (nf4 only)")
    code_np = np.asarray(meta["code"], dtype=np.float32)
    code = torch.from_numpy(code_np)
    if not torch.equal(code, nf4ref.NF4_CODE):
        print("nf4.py: WARNING meta.json code differs from the NF4 table; using meta.json's", file=sys.stderr)

    x_np = np.fromfile(os.path.join(args.dir, "input.f32"), dtype="<f4")
    packed_np = np.fromfile(os.path.join(args.dir, "packed.u8"), dtype=np.uint8)
    absmax_np = np.fromfile(os.path.join(args.dir, "absmax.f32"), dtype="<f4")
    blocks = -(n // -blocksize)
    if x_np.size != n or packed_np.size != (n + 1) // 2 or absmax_np.size != blocks:
        sys.exit(f"nf4.py: file sizes {x_np.size}/{packed_np.size}/{absmax_np.size} do not match n={n}, "
                 f"blocksize={blocksize}")
    x = torch.from_numpy(x_np)
    packed = torch.from_numpy(packed_np).unsqueeze(1)  # bnb's stored shape [ceil(n/2), 1]
    absmax = torch.from_numpy(absmax_np)
    copy_dst = torch.empty_like(x)

    # bnb dequantizes to quant_state.dtype: float32 as is, bfloat16 via the final .to(dtype) of the reference.
    ops = {
        "dequantizeF32": lambda: nf4ref.dequantize_4bit(packed, absmax, blocksize, (n,), torch.float32, code),
        "dequantizeBf16": lambda: nf4ref.dequantize_4bit(packed, absmax, blocksize, (n,), torch.bfloat16, code),
        "quantize": lambda: nf4ref.quantize_4bit(x, blocksize, code),
        "float32Copy": lambda: copy_dst.copy_(x),
    }
    seconds = {k: median_seconds(fn, args.reps) for k, fn in ops.items()}

    # Correctness: exact float32 dequantization (bitwise) and byte-identical packing of the same input.
    expected = numpy_dequantize(packed_np, absmax_np, code_np, blocksize, n)
    got = ops["dequantizeF32"]().numpy()
    dequantize_exact = bool(np.array_equal(got.view(np.uint32), expected.view(np.uint32)))
    q_packed, q_absmax = ops["quantize"]()
    packed_mismatches = int((q_packed.reshape(-1).numpy() != packed_np).sum())
    absmax_exact = bool(np.array_equal(q_absmax.numpy().view(np.uint32), absmax_np.view(np.uint32)))
    if not dequantize_exact:
        bad = int((got.view(np.uint32) != expected.view(np.uint32)).sum())
        print(f"nf4.py: MISMATCH dequantize float32 differs from code[nibble]*absmax in {bad} of {n} elements",
              file=sys.stderr)
    if packed_mismatches:
        print(f"nf4.py: MISMATCH torch-quantized packed bytes differ from packed.u8 in {packed_mismatches} of "
              f"{packed_np.size} bytes", file=sys.stderr)
    if not absmax_exact:
        print("nf4.py: MISMATCH torch-quantized absmax differs from absmax.f32", file=sys.stderr)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "n": n,
        "blocksize": blocksize,
        "reps": args.reps,
        "seconds": seconds,
        "elementsPerSecond": {k: n / s for k, s in seconds.items()},
        "check": {"dequantizeExact": dequantize_exact, "packedMismatches": packed_mismatches,
                  "absmaxExact": absmax_exact},
    }))


if __name__ == "__main__":
    main()

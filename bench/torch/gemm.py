#!/usr/bin/python3
"""Float32 matmul in PyTorch on the CPU, timed on request, so that bench/gemm.mjs can interleave PyTorch's timings with
LoRA Lab's in one run (the machine's speed drifts; interleaving makes the drift hit both sides alike).

Usage:
  /usr/bin/python3 bench/torch/gemm.py --threads 2 --serve
Reads one JSON request per line on stdin:
  {"M": 128, "K": 2048, "N": 2048, "transB": false, "reps": 3}
and answers one JSON line: {"seconds": <median seconds of one product>}. The first line it prints describes torch
(version, threads, the BLAS library mapped into the process). B transposed means B is stored [N, K] and the product is
A @ B.T, as x·Wᵀ in a linear layer (torch.nn.functional.linear).
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True  # importing gemma_step must not leave a __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gemma_step import blas_library  # noqa: E402


def operands(M: int, K: int, N: int, trans_b: bool):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(M, K, generator=g)
    b = torch.randn((N, K) if trans_b else (K, N), generator=g)
    return a, b


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--serve", action="store_true", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_library(),
                      "blasInfo": ",".join(re.findall(r"BLAS_INFO=\w+", torch.__config__.show()))}), flush=True)
    cache = {}
    for line in sys.stdin:
        req = json.loads(line)
        key = (req["M"], req["K"], req["N"], bool(req["transB"]))
        if key not in cache:
            cache.clear()  # one shape's operands at a time
            cache[key] = operands(*key)
        a, b = cache[key]
        times = []
        with torch.no_grad():
            for _ in range(int(req.get("reps", 1))):
                t0 = time.perf_counter()
                y = a @ b.T if key[3] else a @ b
                times.append(time.perf_counter() - t0)
                del y
        print(json.dumps({"seconds": statistics.median(times)}), flush=True)


if __name__ == "__main__":
    main()

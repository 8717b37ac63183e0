#!/usr/bin/python3
"""One LoRA / QLoRA training step of a Gemma-1 decoder, written directly in PyTorch (no transformers, no
bitsandbytes, no peft), to time against LoRA Lab on the same machine. Weights are random: this measures time
and memory only.

Usage:
  /usr/bin/python3 bench/torch/gemma_step.py --config CONFIG.json --method lora|qlora --r 8 --alpha 16 \
      --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --batch 8 --seq 64 --steps 5 --warmup 1 \
      [--grad-checkpointing] [--seed 0] [--threads N] [--lora-dropout P] [--compute-dtype float32|bfloat16] [--no-double-quant]
  /usr/bin/python3 bench/torch/gemma_step.py --check

What each piece mirrors:
  - model: transformers' GemmaForCausalLM / GemmaModel (models/gemma/modeling_gemma.py, eager attention),
    formats.md §4.2;
  - LoRA: PEFT's tuners/lora/layer.py Linear (formats.md §3.2);
  - QLoRA base layers: bitsandbytes' Linear4bit + MatMul4Bit on the default pure-torch backend (nf4ref.py),
    NF4, blocksize 64, double quantization of absmax (as QLoRA uses, formats.md §1.5, §2).
Prints one JSON line on stdout.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint

sys.dont_write_bytecode = True  # importing nf4ref must not leave a __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nf4ref  # noqa: E402

DECODER_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def load_config(path: str) -> SimpleNamespace:
    with open(path) as f:
        return make_config(json.load(f))


def make_config(c: dict) -> SimpleNamespace:
    """The GemmaConfig fields the model needs, by their Hugging Face names. Optional ones default to
    kv heads = heads, head_dim = hidden / heads, rms_norm_eps 1e-6, rope_theta 10000."""
    return SimpleNamespace(
        vocab_size=c["vocab_size"],
        hidden_size=c["hidden_size"],
        intermediate_size=c["intermediate_size"],
        num_hidden_layers=c["num_hidden_layers"],
        num_attention_heads=c["num_attention_heads"],
        num_key_value_heads=c.get("num_key_value_heads", c["num_attention_heads"]),
        head_dim=c.get("head_dim", c["hidden_size"] // c["num_attention_heads"]),
        rms_norm_eps=c.get("rms_norm_eps", 1e-6),
        rope_theta=c.get("rope_theta", 10000.0),
    )


# ---------------------------------------------------------------------------------------------------------
# Base layers: dense frozen float32 (lora) or NF4 (qlora)


def dense_linear(in_features: int, out_features: int) -> nn.Linear:
    """nn.Linear(bias=False) with HF's _init_weights for Gemma: normal(0, initializer_range=0.02), frozen."""
    layer = nn.Linear(in_features, out_features, bias=False)
    nn.init.normal_(layer.weight, std=0.02)
    layer.weight.requires_grad_(False)
    return layer


class MatMul4bit(torch.autograd.Function):
    """bitsandbytes autograd._functions.MatMul4Bit: forward dequantizes the weight and multiplies; only the
    quantized state is kept for backward (ctx.layer), which dequantizes again and returns the input gradient
    (the frozen 4-bit weight gets none)."""

    @staticmethod
    def forward(ctx, x, layer):
        ctx.layer = layer
        return layer.matmul(x, layer.compute_weight())

    @staticmethod
    def backward(ctx, grad_output):
        w = ctx.layer.compute_weight()
        return torch.matmul(grad_output.to(w.dtype), w).to(grad_output.dtype), None


class Linear4bit(nn.Module):
    """bitsandbytes nn.Linear4bit (quant_type nf4, blocksize 64, no bias) on the default backend.

    The weight is first rounded to bfloat16 (as a bf16 checkpoint would be), so the quant state's dtype and
    the dequantized values are bfloat16. compute_dtype:
      - "float32": the bf16 weight and the bf16-rounded input are multiplied in float32 (what LoRA Lab does);
      - "bfloat16": x.to(bf16) @ W_bf16^T in bfloat16, cast back to the input dtype (bnb's bf16 compute dtype).
    """

    def __init__(self, weight: torch.Tensor, compute_dtype: torch.dtype, double_quant: bool):
        super().__init__()
        self.out_features, self.in_features = weight.shape
        self.compute_dtype = compute_dtype
        self.state = nf4ref.quantize_nf4(weight.to(torch.bfloat16), blocksize=64, compress_statistics=double_quant)

    def compute_weight(self) -> torch.Tensor:
        return nf4ref.dequantize_nf4(self.state).to(self.compute_dtype)

    def matmul(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.linear(x.to(torch.bfloat16).to(self.compute_dtype), w).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return MatMul4bit.apply(x, self)


class LoraLinear(nn.Module):
    """PEFT tuners/lora/layer.py Linear with one adapter: y = base(x) + lora_B(lora_A(dropout(x))) * alpha/r,
    lora_A kaiming_uniform(a=sqrt(5)), lora_B zeros (init_lora_weights=True)."""

    def __init__(self, base_layer: nn.Module, r: int, alpha: float, dropout: float):
        super().__init__()
        self.base_layer = base_layer
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.lora_A = nn.Linear(base_layer.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base_layer.out_features, bias=False)
        self.scaling = alpha / r
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.base_layer(x)
        return result + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scaling


# ---------------------------------------------------------------------------------------------------------
# Gemma-1 (transformers models/gemma/modeling_gemma.py). `linear(name, in_features, out_features)` builds each
# decoder projection, so the base/LoRA choice stays outside the model code.


class GemmaRMSNorm(nn.Module):
    """GemmaRMSNorm: weight initialised to zeros, scale (1 + w), computed in float32 then cast back."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        out = out * (1.0 + self.weight.float())
        return out.type_as(x)


def rotary_cos_sin(seq: int, head_dim: int, theta: float):
    """GemmaRotaryEmbedding: inv_freq = 1/theta^(arange(0, d, 2)/d) in float32, emb = cat(freqs, freqs)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """[b, kv_heads, s, d] -> [b, kv_heads * n_rep, s, d] (MQA/GQA)."""
    if n_rep == 1:
        return x
    b, kvh, s, d = x.shape
    return x[:, :, None, :, :].expand(b, kvh, n_rep, s, d).reshape(b, kvh * n_rep, s, d)


class GemmaAttention(nn.Module):
    """GemmaAttention with eager_attention_forward: RoPE (rotate_half), scores * head_dim**-0.5 + causal mask,
    softmax upcast to float32, no bias, no attention dropout."""

    def __init__(self, cfg: SimpleNamespace, linear):
        super().__init__()
        h, d = cfg.hidden_size, cfg.head_dim
        self.num_heads, self.num_kv_heads, self.head_dim = cfg.num_attention_heads, cfg.num_key_value_heads, d
        self.scaling = d ** -0.5
        self.q_proj = linear("q_proj", h, self.num_heads * d)
        self.k_proj = linear("k_proj", h, self.num_kv_heads * d)
        self.v_proj = linear("v_proj", h, self.num_kv_heads * d)
        self.o_proj = linear("o_proj", self.num_heads * d, h)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, -1, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, -1, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, -1, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = self.num_heads // self.num_kv_heads
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.scaling + mask
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, -1)
        return self.o_proj(out)


class GemmaMLP(nn.Module):
    """GemmaMLP (GeGLU): down_proj(gelu_tanh(gate_proj(x)) * up_proj(x))."""

    def __init__(self, cfg: SimpleNamespace, linear):
        super().__init__()
        self.gate_proj = linear("gate_proj", cfg.hidden_size, cfg.intermediate_size)
        self.up_proj = linear("up_proj", cfg.hidden_size, cfg.intermediate_size)
        self.down_proj = linear("down_proj", cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x):
        return self.down_proj(F.gelu(self.gate_proj(x), approximate="tanh") * self.up_proj(x))


class GemmaDecoderLayer(nn.Module):
    """GemmaDecoderLayer: h = x + attn(input_layernorm(x)); out = h + mlp(post_attention_layernorm(h))."""

    def __init__(self, cfg: SimpleNamespace, linear):
        super().__init__()
        self.input_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = GemmaAttention(cfg, linear)
        self.post_attention_layernorm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = GemmaMLP(cfg, linear)

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class GemmaForCausalLM(nn.Module):
    """GemmaModel + tied lm_head. Embeddings are scaled by torch.tensor(hidden**0.5, dtype=hidden dtype);
    with gradient checkpointing each decoder layer runs under torch.utils.checkpoint (non-reentrant)."""

    def __init__(self, cfg: SimpleNamespace, linear):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        self.embed_tokens.weight.requires_grad_(False)
        # Layer by layer, so that for qlora only one layer's dense float32 weights exist at a time.
        self.layers = nn.ModuleList(GemmaDecoderLayer(cfg, linear) for _ in range(cfg.num_hidden_layers))
        self.norm = GemmaRMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.gradient_checkpointing = False

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        h = self.embed_tokens(input_ids)
        h = h * torch.tensor(self.cfg.hidden_size ** 0.5, dtype=h.dtype)
        seq = input_ids.shape[1]
        cos, sin = rotary_cos_sin(seq, self.cfg.head_dim, self.cfg.rope_theta)
        mask = torch.full((seq, seq), torch.finfo(h.dtype).min).triu(1)
        for layer in self.layers:
            if self.gradient_checkpointing:
                h = torch.utils.checkpoint.checkpoint(layer, h, cos, sin, mask, use_reentrant=False)
            else:
                h = layer(h, cos, sin, mask)
        h = self.norm(h)
        return F.linear(h, self.embed_tokens.weight)  # lm_head tied to embed_tokens


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """GemmaForCausalLM's loss: float32 logits, position t predicts label t+1, mean cross-entropy."""
    logits = logits.float()
    return F.cross_entropy(logits[:, :-1, :].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1))


def build_model(cfg: SimpleNamespace, method: str, r: int, alpha: float, targets, dropout: float = 0.0,
                compute_dtype: torch.dtype = torch.float32, double_quant: bool = True) -> GemmaForCausalLM:
    """Random frozen base (normal std 0.02; 4-bit for qlora), LoRA on the linears named in `targets`."""

    def linear(name: str, in_features: int, out_features: int) -> nn.Module:
        base = dense_linear(in_features, out_features)
        if method == "qlora":
            base = Linear4bit(base.weight.data, compute_dtype, double_quant)
        return LoraLinear(base, r, alpha, dropout) if name in targets else base

    return GemmaForCausalLM(cfg, linear)


# ---------------------------------------------------------------------------------------------------------
# Measurement


def parameter_counts(model: nn.Module):
    """(trainable, total): 4-bit weights count as their logical [out, in] elements; the tied lm_head once."""
    params = list(model.parameters())
    quantized = sum(m.out_features * m.in_features for m in model.modules() if isinstance(m, Linear4bit))
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params) + quantized


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def blas_library() -> str:
    """The BLAS shared library mapped into this process (torch's CPU float32 matmuls go through it)."""
    torch.ones(2, 2) @ torch.ones(2, 2)
    with open("/proc/self/maps") as f:
        libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
    return ",".join(sorted(os.path.realpath(p) for p in libs)) or "none found"


def benchmark(args) -> dict:
    torch.manual_seed(args.seed)
    cfg = load_config(args.config)
    targets = [t for t in args.targets.split(",") if t]
    unknown = set(targets) - set(DECODER_LINEARS)
    if unknown:
        sys.exit(f"gemma_step.py: unknown target(s) {sorted(unknown)}; choose from {','.join(DECODER_LINEARS)}")
    if args.method == "lora" and args.compute_dtype != "float32":
        sys.exit("gemma_step.py: --compute-dtype applies to the qlora 4-bit layers; lora computes in float32")
    compute_dtype = getattr(torch, args.compute_dtype)

    t0 = time.perf_counter()
    model = build_model(cfg, args.method, args.r, args.alpha, targets, args.lora_dropout, compute_dtype,
                        not args.no_double_quant)
    init_seconds = time.perf_counter() - t0
    model.train()
    model.gradient_checkpointing = args.grad_checkpointing
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    input_ids = torch.randint(0, cfg.vocab_size, (args.batch, args.seq),
                              generator=torch.Generator().manual_seed(args.seed))
    rss_after_init = peak_rss_bytes()

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = causal_lm_loss(model(input_ids), input_ids)
        loss.backward()
        optimizer.step()
        return loss.item()

    losses, seconds = [], []
    for _ in range(args.warmup + args.steps):
        t = time.perf_counter()
        losses.append(step())
        seconds.append(time.perf_counter() - t)
    timed = seconds[args.warmup:]
    median = statistics.median(timed)
    n_trainable, n_total = parameter_counts(model)
    quantized = [m.state for m in model.modules() if isinstance(m, Linear4bit)]
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "config": os.path.abspath(args.config),
        "model": vars(cfg),
        "method": args.method,
        "r": args.r,
        "alpha": args.alpha,
        "loraDropout": args.lora_dropout,
        "targets": targets,
        "batch": args.batch,
        "seq": args.seq,
        "computeDtype": args.compute_dtype,
        "weightValuesDtype": "bfloat16" if args.method == "qlora" else "float32",
        "quantType": "nf4" if args.method == "qlora" else None,
        "blocksize": 64 if args.method == "qlora" else None,
        "doubleQuant": (not args.no_double_quant) if args.method == "qlora" else None,
        "quantizedWeightBytes": sum(s.nbytes() for s in quantized) if quantized else None,
        "gradCheckpointing": args.grad_checkpointing,
        "optimizer": "torch.optim.AdamW(lr=1e-4)",
        "warmup": args.warmup,
        "steps": args.steps,
        "initSeconds": init_seconds,
        "stepSeconds": timed,
        "warmupStepSeconds": seconds[:args.warmup],
        "medianStepSeconds": median,
        "tokensPerSecond": args.batch * args.seq / median,
        "losses": losses,
        "trainableParameters": n_trainable,
        "totalParameters": n_total,
        "peakRssAfterInitBytes": rss_after_init,
        "peakRssBytes": peak_rss_bytes(),
    }


# ---------------------------------------------------------------------------------------------------------
# --check: gradients on a tiny config (2 layers, hidden 64)

TINY = make_config({"vocab_size": 128, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16})


def compare(a: torch.Tensor, b: torch.Tensor, rtol: float, atol: float) -> dict:
    return {"allclose": bool(torch.allclose(a, b, rtol=rtol, atol=atol)),
            "maxAbsDiff": float((a - b).abs().max()), "maxAbs": float(b.abs().max())}


def check_matmul4bit(compute_dtype: torch.dtype) -> dict:
    """For every 4-bit linear of a tiny qlora model: output and input gradient of MatMul4bit (weight
    recomputed in backward, rounding of x treated as identity) against plain autograd through the explicit
    dequantized weight, applied to the same bf16-rounded input held as a leaf."""
    torch.manual_seed(0)
    model = build_model(TINY, "qlora", 4, 8, (), compute_dtype=compute_dtype)
    tol = {"rtol": 1e-5, "atol": 1e-6} if compute_dtype == torch.float32 else {"rtol": 1e-2, "atol": 1e-3}
    out = {}
    for name, m in model.named_modules():
        if not isinstance(m, Linear4bit):
            continue
        x = torch.randn(2, 5, m.in_features, requires_grad=True)
        grad_y = torch.randn(2, 5, m.out_features)
        y = m(x)
        y.backward(grad_y)
        w = nf4ref.dequantize_nf4(m.state).to(compute_dtype)  # explicit weight, autograd from here on
        x_leaf = x.detach().to(torch.bfloat16).to(compute_dtype).requires_grad_()
        y_ref = F.linear(x_leaf, w).to(torch.float32)
        y_ref.backward(grad_y)
        out[name] = {"output": compare(y, y_ref, **tol), "inputGrad": compare(x.grad, x_leaf.grad.float(), **tol)}
    return out


def check_checkpointing(method: str) -> dict:
    """LoRA gradients of one loss with and without gradient checkpointing (lora_B randomised so that lora_A
    gets a gradient too)."""
    grads = []
    for ckpt in (False, True):
        torch.manual_seed(0)
        model = build_model(TINY, method, 4, 8, DECODER_LINEARS)
        for m in model.modules():
            if isinstance(m, LoraLinear):
                nn.init.normal_(m.lora_B.weight, std=0.02)
        model.gradient_checkpointing = ckpt
        ids = torch.randint(0, TINY.vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
        causal_lm_loss(model(ids), ids).backward()
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.requires_grad]))
    return compare(grads[1], grads[0], rtol=1e-5, atol=1e-7)


def run_check() -> dict:
    layers = {dt: check_matmul4bit(getattr(torch, dt)) for dt in ("float32", "bfloat16")}
    ckpt = {m: check_checkpointing(m) for m in ("lora", "qlora")}
    ok = all(r["allclose"] for per in layers.values() for lay in per.values() for r in lay.values()) and \
        all(r["allclose"] for r in ckpt.values())
    summary = {dt: {"layers": len(per),
                    "allclose": all(r["allclose"] for lay in per.values() for r in lay.values()),
                    "maxAbsDiffInputGrad": max(lay["inputGrad"]["maxAbsDiff"] for lay in per.values()),
                    "maxAbsDiffOutput": max(lay["output"]["maxAbsDiff"] for lay in per.values())}
               for dt, per in layers.items()}
    return {"torch": torch.__version__, "check": "matmul4bit input gradient vs autograd through the explicit "
            "dequantized weight; LoRA gradients with vs without gradient checkpointing",
            "config": vars(TINY), "matmul4bit": summary, "gradCheckpointing": ckpt, "ok": ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="Hugging Face Gemma config.json")
    ap.add_argument("--method", choices=("lora", "qlora"), default="lora")
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--alpha", type=float, default=16)
    ap.add_argument("--targets", default=",".join(DECODER_LINEARS))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--grad-checkpointing", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: os.cpu_count())")
    ap.add_argument("--lora-dropout", type=float, default=0.0)
    ap.add_argument("--compute-dtype", choices=("float32", "bfloat16"), default="float32",
                    help="qlora: float32 = bf16 weight values, float32 matmul (LoRA Lab); bfloat16 = bf16 matmul")
    ap.add_argument("--no-double-quant", action="store_true", help="qlora: keep float32 absmax")
    ap.add_argument("--check", action="store_true", help="gradient checks on a tiny config, then exit")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    if args.check:
        result = run_check()
        print(json.dumps(result))
        sys.exit(0 if result["ok"] else 1)
    if not args.config:
        ap.error("--config is required (or --check)")
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    print(json.dumps(benchmark(args)))


if __name__ == "__main__":
    main()

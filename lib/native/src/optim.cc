// AdamW's update and the gradients' global norm over every trainable tensor in one native call each, on TF.js's
// wasm heap, where TF.js spends about 20 element-wise kernels per tensor (1,100 calls in a gemma-micro LoRA step).
//
// adamw: per tensor, with the gradient scaled by s first (s = 1: no multiply), exactly the float32 operations of
// train/optim.ts's TF.js AdamW, in its order and without fused multiply-adds, so that both give the same bits:
//   g ← g·s;  m ← m·β1 + g·(1 − β1);  v ← v·β2 + (g·g)·(1 − β2)
//   θ ← θ·(1 − lr·λ) − ((m / bc1) / (√(v / bc2) + ε))·lr,   bc_i = 1 − β_i^t
// The constants arrive as float32 values computed in double (as TF.js's scalars are). m and v are updated in place
// (the optimizer owns them); θ is written to a new tensor the caller then assigns.
//
// sumSquares: Σ g² over every listed tensor, accumulated in double.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "blas_access.h"
#include "parallel.h"

namespace {

constexpr int64_t kGrain = int64_t{1} << 14;

// the per-tensor fields of adamw's descriptor: byte offsets of θ, θ', g, m, v, then the element count
constexpr int kAdamFields = 6;

struct AdamConstants {
  float oneMinusB1, oneMinusB2, b1, b2, bc1, bc2, eps, decay, lr, scale;
};

// No contraction: a·b + c stays a product and a sum, as in TF.js's separate Mul and Add kernels (on CPUs whose base
// instruction set has FMA, arm64, the compiler would fuse them otherwise).
#if defined(__GNUC__) && !defined(__clang__)
#define LORALAB_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define LORALAB_NO_CONTRACT
#endif
LORALAB_NO_CONTRACT void adamwRange(const float* p, float* po, const float* g, float* m, float* v, int64_t b, int64_t e, AdamConstants c, bool scaled, bool decayed) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  for (int64_t i = b; i < e; i++) {
    const float gi = scaled ? g[i] * c.scale : g[i];
    const float m2 = m[i] * c.b1 + gi * c.oneMinusB1;
    const float v2 = v[i] * c.b2 + (gi * gi) * c.oneMinusB2;
    const float update = (m2 / c.bc1) / (std::sqrt(v2 / c.bc2) + c.eps);
    const float base = decayed ? p[i] * c.decay : p[i];
    m[i] = m2;
    v[i] = v2;
    po[i] = base - update * c.lr;
  }
}

float* heapAt(uint8_t* heap, int64_t bytes, double off, int64_t n, const char* what) {
  if (off < 0 || static_cast<int64_t>(off) % 4 != 0 || static_cast<int64_t>(off) + 4 * n > bytes) throw std::string(what) + " lies outside the heap or is misaligned";
  return reinterpret_cast<float*>(heap + static_cast<int64_t>(off));
}

// adamw(heap, desc: Float64Array [θ, θ', g, m, v, n] per tensor, consts: Float64Array [lr, β1, β2, ε, λ, bc1, bc2, s])
Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArrayBuffer() || !info[1].IsTypedArray() || !info[2].IsTypedArray()) throw Napi::TypeError::New(env, "adamw(heap: ArrayBuffer, desc: Float64Array, consts: Float64Array)");
  Napi::ArrayBuffer heapBuf = info[0].As<Napi::ArrayBuffer>();
  Napi::Float64Array desc = info[1].As<Napi::Float64Array>();
  Napi::Float64Array k = info[2].As<Napi::Float64Array>();
  if (desc.ElementLength() % kAdamFields != 0) throw Napi::RangeError::New(env, "adamw: the descriptor holds 6 fields per tensor");
  if (k.ElementLength() != 8) throw Napi::RangeError::New(env, "adamw: expected 8 constants [lr, beta1, beta2, eps, weightDecay, bc1, bc2, gradScale]");
  const double lr = k[0], b1 = k[1], b2 = k[2], eps = k[3], wd = k[4];
  const AdamConstants c{static_cast<float>(1 - b1), static_cast<float>(1 - b2), static_cast<float>(b1), static_cast<float>(b2),
                        static_cast<float>(k[5]), static_cast<float>(k[6]), static_cast<float>(eps), static_cast<float>(1 - lr * wd),
                        static_cast<float>(lr), static_cast<float>(k[7])};
  const bool scaled = k[7] != 1.0, decayed = wd != 0.0;
  uint8_t* heap = static_cast<uint8_t*>(heapBuf.Data());
  const int64_t bytes = static_cast<int64_t>(heapBuf.ByteLength());
  const size_t count = desc.ElementLength() / kAdamFields;
  try {
    for (size_t t = 0; t < count; t++) {
      const double* f = desc.Data() + t * kAdamFields;
      const int64_t n = static_cast<int64_t>(f[5]);
      if (n < 0) throw std::string("a negative element count");
      const float* p = heapAt(heap, bytes, f[0], n, "a parameter");
      float* po = heapAt(heap, bytes, f[1], n, "a parameter's output");
      const float* g = heapAt(heap, bytes, f[2], n, "a gradient");
      float* m = heapAt(heap, bytes, f[3], n, "a first moment");
      float* v = heapAt(heap, bytes, f[4], n, "a second moment");
      loralab::parallelFor(n, kGrain, [=](int64_t b, int64_t e) { adamwRange(p, po, g, m, v, b, e, c, scaled, decayed); });
    }
  } catch (const std::string& e) {
    throw Napi::RangeError::New(env, "adamw: " + e);
  }
  return env.Undefined();
}

// sumSquares(heap, desc: Float64Array [offset, n] per tensor) -> Σ g² in double
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArrayBuffer() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "sumSquares(heap: ArrayBuffer, desc: Float64Array)");
  Napi::ArrayBuffer heapBuf = info[0].As<Napi::ArrayBuffer>();
  Napi::Float64Array desc = info[1].As<Napi::Float64Array>();
  if (desc.ElementLength() % 2 != 0) throw Napi::RangeError::New(env, "sumSquares: the descriptor holds [offset, n] per tensor");
  uint8_t* heap = static_cast<uint8_t*>(heapBuf.Data());
  const int64_t bytes = static_cast<int64_t>(heapBuf.ByteLength());
  double total = 0;
  try {
    for (size_t t = 0; t < desc.ElementLength() / 2; t++) {
      const int64_t n = static_cast<int64_t>(desc[2 * t + 1]);
      const float* g = heapAt(heap, bytes, desc[2 * t], n, "a gradient");
      double s = 0;
#ifdef _OPENMP
#pragma omp simd reduction(+ : s)
#endif
      for (int64_t i = 0; i < n; i++) s += static_cast<double>(g[i]) * g[i];
      total += s;
    }
  } catch (const std::string& e) {
    throw Napi::RangeError::New(env, "sumSquares: " + e);
  }
  return Napi::Number::New(env, total);
}

}  // namespace

namespace loralab {
void registerOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
}
}  // namespace loralab

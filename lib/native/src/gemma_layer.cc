// One Gemma decoder layer, forward and backward, in one native call each, on TF.js's wasm heap.
//
// TF.js runs a LoRA decoder layer as about 120 kernels forward and as many backward, each a JavaScript dispatch and,
// for the element-wise ones, a scalar wasm loop; at gemma-micro's size that overhead costs more than the matrix
// products. Here the whole layer is one pass (transformers' modeling_gemma.py, names as there):
//
//   n1 = x · rstd(x) · (1 + w_in),  rstd(x) = (mean(x²) + eps)^-½
//   q, k, v = n1 · W_{q,k,v}ᵀ (+ s · (n1 · Aᵀ) · Bᵀ per LoRA),  q, k rotated by RoPE (halves layout)
//   P = softmax(q kᵀ · hd^-½ + mask),  ao = P v  (multi-query: query head j reads key/value head j / groups)
//   h = x + ao · W_oᵀ (+ LoRA),  n2 = h · rstd(h) · (1 + w_post)
//   g = n2 · W_gateᵀ, u = n2 · W_upᵀ (+ LoRA),  m = gelu_tanh(g) · u,  y = h + m · W_downᵀ (+ LoRA)
//
// Every product is one cblas_sgemm; the element-wise work runs on the calling thread between them. The forward writes
// what the backward reads (n1, rstd, rotated q/k, v, P, ao, h, n2, g, u, m, each LoRA's x·Aᵀ) into tensors the caller
// allocated in the heap, so that TF.js owns and frees them; the backward turns dL/dy into dL/dx and the gradients of
// whatever trains (LoRA A and B; for full fine-tuning the weights and norms too).
//
// A 4-bit base weight arrives dequantized (bf16 values); its input is rounded to bf16 first, as bitsandbytes' compute
// dtype does, and the rounding passes the gradient straight through. All arguments are byte offsets into the heap
// (-1: absent), listed once in kFields, whose order the TypeScript side (backend/nativeLayer.ts) checks at load.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "blas_access.h"
#include "numerics.h"
#include "parallel.h"

namespace {

// The descriptor's fields, in order. Per projection p ∈ {q, k, v, o, gate, up, down}: its weight, whether its input
// is rounded to bf16, LoRA A [r, in], B [out, r], r, the scaling s, the saved n·Aᵀ [N, r], and the gradients' outputs.
#define LORALAB_PROJ_FIELDS(p) \
  p##_w, p##_bf16, p##_a, p##_b, p##_r, p##_scale, p##_xa, p##_dw, p##_da, p##_db,
enum Field : int {
  B_, T_, H_, NH_, NKV_, HD_, I_, EPS_, PIECE_,
  X_, Y_, MASK_, COS_, SIN_, W_IN_, W_POST_, DW_IN_, DW_POST_,
  N1_, RSTD1_, Q_, K_, V_, P_, AO_, HH_, N2_, RSTD2_, G_, U_, M_,
  DY_, DX_,
  LORALAB_PROJ_FIELDS(q) LORALAB_PROJ_FIELDS(k) LORALAB_PROJ_FIELDS(v) LORALAB_PROJ_FIELDS(o)
  LORALAB_PROJ_FIELDS(gate) LORALAB_PROJ_FIELDS(up) LORALAB_PROJ_FIELDS(down)
  kFieldCount
};

const char* const kFieldNames =
    "B,T,H,nH,nKV,hd,I,eps,piece,x,y,mask,cos,sin,wIn,wPost,dwIn,dwPost,n1,rstd1,q,k,v,p,ao,h,n2,rstd2,g,u,m,dy,dx"
#define LORALAB_PROJ_NAMES(p) "," #p ".w," #p ".bf16," #p ".a," #p ".b," #p ".r," #p ".scale," #p ".xa," #p ".dw," #p ".da," #p ".db"
    LORALAB_PROJ_NAMES(q) LORALAB_PROJ_NAMES(k) LORALAB_PROJ_NAMES(v) LORALAB_PROJ_NAMES(o)
    LORALAB_PROJ_NAMES(gate) LORALAB_PROJ_NAMES(up) LORALAB_PROJ_NAMES(down);

constexpr int kProjFirst = q_w;
constexpr int kProjStride = k_w - q_w;
enum Proj { kQ, kK, kV, kO, kGate, kUp, kDown };

// The element-wise loops below are branch-free so that they vectorize (the file is built with -fno-trapping-math,
// which lets the compiler turn the clamps into min/max); on Linux x86-64 each is also compiled for AVX2 + FMA and
// the loader picks the build the CPU runs.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define LORALAB_SIMD_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define LORALAB_SIMD_CLONES
#endif

// A reduction in a loop may be reordered into SIMD lanes (float addition is not associative, so the compiler would
// otherwise keep it scalar). Only with OpenMP, which the Linux build has; elsewhere the loop stays in order.
#ifdef _OPENMP
#define LORALAB_PRAGMA(x) _Pragma(#x)
#define LORALAB_SIMD_REDUCTION(r) LORALAB_PRAGMA(omp simd reduction(r))
#else
#define LORALAB_SIMD_REDUCTION(r)
#endif

using loralab::fastExp;
using loralab::fastTanh;
using loralab::geluTanh;
using loralab::geluTanhAndGrad;
using loralab::roundBf16;

// ---- element-wise kernels (see LORALAB_SIMD_CLONES) ----

LORALAB_SIMD_CLONES void roundBf16Array(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] = roundBf16(x[i]);
}

LORALAB_SIMD_CLONES void addArray(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

// m = gelu_tanh(g) · u
LORALAB_SIMD_CLONES void geluMul(const float* g, const float* u, float* m, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    m[i] = geluTanh(gi, fastTanh) * u[i];
  }
}

// dg = dm · u · gelu'(g),  du = dm · gelu(g),  gelu'(g) = ½(1 + t) + ½g(1 − t²)·√(2/π)(1 + 3·0.044715g²)
LORALAB_SIMD_CLONES void geluMulBack(const float* g, const float* u, const float* dm, float* dg, float* du, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    float gelu, dgelu;
    geluTanhAndGrad(gi, fastTanh, &gelu, &dgelu);
    dg[i] = dm[i] * u[i] * dgelu;
    du[i] = dm[i] * gelu;
  }
}

// each of `rows` rows of p [rows, T]: p ← softmax(p + mask[row mod T])
LORALAB_SIMD_CLONES void softmaxRows(float* p, const float* mask, int rows, int T) {
  for (int row = 0; row < rows; row++) {
    float* pr = p + static_cast<int64_t>(row) * T;
    const float* mr = mask + static_cast<int64_t>(row % T) * T;
    float mx = -INFINITY;
    LORALAB_SIMD_REDUCTION(max : mx)
    for (int j = 0; j < T; j++) {
      pr[j] += mr[j];
      mx = pr[j] > mx ? pr[j] : mx;
    }
    float sum = 0;
    LORALAB_SIMD_REDUCTION(+ : sum)
    for (int j = 0; j < T; j++) {
      pr[j] = fastExp(pr[j] - mx);
      sum += pr[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) pr[j] *= inv;
  }
}

// One row's chunk of logits into a running log-sum-exp: m ← max(m, max z), sum ← sum · e^(m_old − m) + Σ e^(z − m)
LORALAB_SIMD_CLONES void logSumExpUpdate(const float* z, int w, float* m, float* sum) {
  float mx = *m;
  LORALAB_SIMD_REDUCTION(max : mx)
  for (int j = 0; j < w; j++) mx = z[j] > mx ? z[j] : mx;
  float acc = 0;
  LORALAB_SIMD_REDUCTION(+ : acc)
  for (int j = 0; j < w; j++) acc += fastExp(z[j] - mx);
  *sum = *sum * fastExp(*m - mx) + acc;
  *m = mx;
}

// z ← c · e^(z − l): a row of softmax(z) (l its log-sum-exp) scaled by c
LORALAB_SIMD_CLONES void scaledExpRow(float* z, int w, float c, float l) {
  for (int j = 0; j < w; j++) z[j] = c * fastExp(z[j] - l);
}

// dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale, in place of dP
LORALAB_SIMD_CLONES void softmaxRowsBack(const float* p, float* dp, int rows, int T, float scale) {
  for (int row = 0; row < rows; row++) {
    const float* pr = p + static_cast<int64_t>(row) * T;
    float* dr = dp + static_cast<int64_t>(row) * T;
    float dot = 0;
    LORALAB_SIMD_REDUCTION(+ : dot)
    for (int j = 0; j < T; j++) dot += dr[j] * pr[j];
    for (int j = 0; j < T; j++) dr[j] = pr[j] * (dr[j] - dot) * scale;
  }
}

// n = x · rstd · (1 + w) per row of H; rstd saved
LORALAB_SIMD_CLONES void rmsNormRows(const float* x, const float* w, float* n, float* rstd, int rows, int H, float eps) {
  for (int i = 0; i < rows; i++) {
    const float* xi = x + static_cast<int64_t>(i) * H;
    float ss = 0;
    LORALAB_SIMD_REDUCTION(+ : ss)
    for (int j = 0; j < H; j++) ss += xi[j] * xi[j];
    const float r = 1.0f / std::sqrt(ss / H + eps);
    rstd[i] = r;
    float* ni = n + static_cast<int64_t>(i) * H;
    for (int j = 0; j < H; j++) ni[j] = xi[j] * r * (w[j] + 1.0f);
  }
}

// dx += rstd · (g − x̂ · mean(g · x̂)),  g = dn · (1 + w),  x̂ = x · rstd;  dw += Σ_rows dn · x̂ (when asked)
LORALAB_SIMD_CLONES void rmsNormRowsBack(const float* x, const float* w, const float* rstd, const float* dn, float* dx, float* dw, int rows, int H) {
  for (int i = 0; i < rows; i++) {
    const float* xi = x + static_cast<int64_t>(i) * H;
    const float* di = dn + static_cast<int64_t>(i) * H;
    float* oi = dx + static_cast<int64_t>(i) * H;
    const float r = rstd[i];
    float dot = 0;
    LORALAB_SIMD_REDUCTION(+ : dot)
    for (int j = 0; j < H; j++) dot += di[j] * (w[j] + 1.0f) * xi[j];
    const float mean = dot * r / H;
    for (int j = 0; j < H; j++) oi[j] += r * (di[j] * (w[j] + 1.0f) - xi[j] * r * mean);
    if (dw) for (int j = 0; j < H; j++) dw[j] += di[j] * xi[j] * r;
  }
}

// A float buffer whose contents start undefined: std::vector would zero it, a pass over memory that the product or
// loop writing it is about to make anyway. resize keeps nothing.
class Floats {
 public:
  Floats() = default;
  explicit Floats(size_t n) { resize(n); }
  void resize(size_t n) {
    if (n > cap_) {
      p_.reset(new float[n]);
      cap_ = n;
    }
  }
  float* data() const { return p_.get(); }

 private:
  std::unique_ptr<float[]> p_;
  size_t cap_ = 0;
};

// The loops below split over the cores in pieces of at least this many elements (parallel.h says how and when).
constexpr int64_t kLoopGrain = int64_t{1} << 13;

// f(begin, end) over the elements [0, n)
template <typename F>
void elementwise(int64_t n, F f) {
  loralab::parallelFor(n, kLoopGrain, f);
}

// f(begin, end) over `rows` rows of `width` elements each
template <typename F>
void rowwise(int64_t rows, int64_t width, F f) {
  loralab::parallelFor(rows, std::max<int64_t>(1, kLoopGrain / std::max<int64_t>(width, 1)), f);
}

// C = alpha · op(A) · op(B) + beta · C, row-major, A is M×K (or K×M transposed), B is K×N (or N×K), C is M×N; the
// leading dimensions default to the matrices being whole (lda = K or M, ldb = N or K, ldc = N).
void gemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, const float* B, float beta, float* C,
          int lda = 0, int ldb = 0, int ldc = 0) {
  loralab::sgemm(tA, tB, M, N, K, alpha, A, lda ? lda : (tA ? M : K), B, ldb ? ldb : (tB ? K : N), beta, C, ldc ? ldc : N);
}

// A 4-bit base weight [out, in] as bitsandbytes stores it (absmax already recovered from double quantization): the
// fused layer dequantizes it in row pieces of at most `piece` values (the descriptor's field, backend/nativePieces.ts's
// CACHED_PIECE_ELEMENTS: small enough that the product reads the piece from cache) into a scratch buffer right before
// each product, so no dense copy of the weight outlives the product that reads it.
struct Quant4bit {
  const uint8_t* packed = nullptr;
  const float* absmax = nullptr;
  const float* code = nullptr;
  int64_t blocksize = 0;
};
// Rows per piece of an [out, in] weight: as many as fit `values`, a multiple of the rows that start a block
int rowsPerPiece(int out, int in, int64_t blocksize, int64_t values) {
  int64_t step = 1;
  while ((step * in) % blocksize != 0 || (step * in) % 2 != 0) step++;
  const int64_t fit = std::max<int64_t>(step, (values / std::max(in, 1)) / step * step);
  return static_cast<int>(std::min<int64_t>(out, fit));
}

struct Layer {
  const double* d;
  Quant4bit quant[7];
  uint8_t* heap;
  int64_t bytes;
  int B, T, H, nH, nKV, hd, I, N;
  float eps;

  Layer(const double* desc, uint8_t* h, int64_t n) : d(desc), heap(h), bytes(n) {
    B = static_cast<int>(d[B_]);
    T = static_cast<int>(d[T_]);
    H = static_cast<int>(d[H_]);
    nH = static_cast<int>(d[NH_]);
    nKV = static_cast<int>(d[NKV_]);
    hd = static_cast<int>(d[HD_]);
    I = static_cast<int>(d[I_]);
    eps = static_cast<float>(d[EPS_]);
    N = B * T;
  }
  bool has(int f) const { return d[f] >= 0; }
  // the float array at field f, checked to hold n floats inside the heap
  float* at(int f, int64_t n) const {
    const double off = d[f];
    if (off < 0 || static_cast<int64_t>(off) % 4 != 0 || static_cast<int64_t>(off) + 4 * n > bytes) {
      throw std::string("field ") + std::to_string(f) + " lies outside the heap or is misaligned";
    }
    return reinterpret_cast<float*>(heap + static_cast<int64_t>(off));
  }
  float* opt(int f, int64_t n) const { return has(f) ? at(f, n) : nullptr; }
  int pf(int p, int field) const { return kProjFirst + p * kProjStride + (field - q_w); }
  int inOf(int p) const { return p == kO ? nH * hd : p == kDown ? I : H; }
  int outOf(int p) const {
    switch (p) {
      case kQ: return nH * hd;
      case kK: case kV: return nKV * hd;
      case kO: case kDown: return H;
      default: return I;
    }
  }

  // f(r0, rows, W[r0 : r0 + rows]) for the row pieces of projection p's 4-bit weight, each dequantized into one
  // scratch buffer (bf16 values with bf16 compute) just before f reads it
  template <typename F>
  void forEachPiece(int p, F f) const {
    const Quant4bit& q = quant[p];
    const int in = inOf(p), out = outOf(p);
    const int step = rowsPerPiece(out, in, q.blocksize, static_cast<int64_t>(d[PIECE_]));
    Floats w;
    for (int r0 = 0; r0 < out; r0 += step) {
      const int rows = std::min(step, out - r0);
      const int64_t e0 = static_cast<int64_t>(r0) * in, n = static_cast<int64_t>(rows) * in;
      w.resize(static_cast<size_t>(n));
      loralab::dequant4bitInto(q.packed + e0 / 2, q.absmax + e0 / q.blocksize, q.code, q.blocksize, n, w.data(), d[pf(p, q_bf16)] > 0);
      f(r0, rows, w.data());
    }
  }

  // Whether projection p's 4-bit products run split over the cores, each thread dequantizing its own part of W into
  // its own cache and multiplying it on a one-thread BLAS (quantForward, quantBackward): where the weight is large
  // enough to pay for starting a thread per product, blocks lie along rows (in a multiple of the blocksize, so a
  // thread's columns are whole blocks) and there are several cores. Otherwise forEachPiece: each piece dequantized
  // on every core, then multiplied on every core, the dequantized values crossing from one core's cache to the other's.
  int quantThreads(int p) const {
    const Quant4bit& q = quant[p];
    const int in = inOf(p), out = outOf(p);
    const int t = loralab::kernelThreads();
    if (t < 2 || in % q.blocksize != 0) return 1;  // (an even blocksize is checked where the op is called)
    if (static_cast<int64_t>(out) * in < static_cast<int64_t>(t) * loralab::kSpawnGrain) return 1;
    return std::min({t, out, static_cast<int>(in / q.blocksize)});
  }

  // y = x · Wᵀ for a 4-bit W [out, in], its rows split over t threads: each dequantizes pieces of its rows (at most
  // piece / t values, so they stay in its own cache) and multiplies them into its columns of y.
  void quantForward(int p, int t, const float* x, float* y) const {
    const Quant4bit q = quant[p];
    const int in = inOf(p), out = outOf(p), n = N;
    const bool bf16 = d[pf(p, q_bf16)] > 0;
    const int64_t perThread = std::max<int64_t>(1, static_cast<int64_t>(d[PIECE_]) / t);
    const int step = rowsPerPiece(out, in, q.blocksize, perThread);
    const int chunk = (out + t - 1) / t;
    struct Ctx { Quant4bit q; int in, out, n, step, chunk; bool bf16; const float* x; float* y; } c{q, in, out, n, step, chunk, bf16, x, y};
    loralab::onThreadsWithSerialBlas(t, [](int k, void* v) {
      const Ctx& c = *static_cast<const Ctx*>(v);
      const int r1 = std::min(c.out, (k + 1) * c.chunk);
      Floats w(static_cast<size_t>(c.step) * c.in);
      for (int r0 = k * c.chunk; r0 < r1; r0 += c.step) {
        const int rows = std::min(c.step, r1 - r0);
        const int64_t e0 = static_cast<int64_t>(r0) * c.in;
        loralab::dequant4bitSerial(c.q.packed + e0 / 2, c.q.absmax + e0 / c.q.blocksize, c.q.code, c.q.blocksize, static_cast<int64_t>(rows) * c.in, w.data(), c.bf16);
        loralab::sgemmSerial(false, true, c.n, rows, c.in, 1.0f, c.x, c.in, w.data(), c.in, 0.0f, c.y + r0, c.out);
      }
    }, &c);
  }

  // dx (+)= dy · W for a 4-bit W [out, in], dx's columns split over t threads in whole blocks: each dequantizes its
  // columns of W a piece of rows at a time and adds dy[:, rows] · W[rows, cols] into its own columns of dx.
  void quantBackward(int p, int t, const float* dy, float* dx, float beta) const {
    const Quant4bit q = quant[p];
    const int in = inOf(p), out = outOf(p), n = N;
    const bool bf16 = d[pf(p, q_bf16)] > 0;
    const int blocks = static_cast<int>(in / q.blocksize);
    const int width = static_cast<int>(((blocks + t - 1) / t) * q.blocksize);
    const int64_t perThread = std::max<int64_t>(1, static_cast<int64_t>(d[PIECE_]) / t);
    const int step = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(out, perThread / width)));
    struct Ctx { Quant4bit q; int in, out, n, width, step; bool bf16; float beta; const float* dy; float* dx; } c{q, in, out, n, width, step, bf16, beta, dy, dx};
    loralab::onThreadsWithSerialBlas(t, [](int k, void* v) {
      const Ctx& c = *static_cast<const Ctx*>(v);
      const int c0 = std::min(c.in, k * c.width), cols = std::min(c.in, c0 + c.width) - c0;
      if (cols <= 0) return;
      Floats w(static_cast<size_t>(c.step) * cols);
      for (int r0 = 0; r0 < c.out; r0 += c.step) {
        const int rows = std::min(c.step, c.out - r0);
        for (int r = 0; r < rows; r++) {
          const int64_t e0 = static_cast<int64_t>(r0 + r) * c.in + c0;  // a block boundary: in and c0 are whole blocks
          loralab::dequant4bitSerial(c.q.packed + e0 / 2, c.q.absmax + e0 / c.q.blocksize, c.q.code, c.q.blocksize, cols, w.data() + static_cast<int64_t>(r) * cols, c.bf16);
        }
        loralab::sgemmSerial(false, false, c.n, cols, rows, 1.0f, c.dy + r0, c.out, w.data(), cols, r0 == 0 ? c.beta : 1.0f, c.dx + c0, c.in);
      }
    }, &c);
  }

  // y = x · Wᵀ + s · (x · Aᵀ) · Bᵀ for projection p, x [N, in]; saves x·Aᵀ.
  void project(int p, const float* x, float* y, Floats& scratch) const {
    const int in = inOf(p), out = outOf(p);
    const float* xin = x;
    if (d[pf(p, q_bf16)] > 0) {
      scratch.resize(static_cast<size_t>(N) * in);
      float* xr = scratch.data();
      elementwise(static_cast<int64_t>(N) * in, [=](int64_t b, int64_t e) { roundBf16Array(x + b, xr + b, e - b); });
      xin = xr;
    }
    const int split = quant[p].packed ? quantThreads(p) : 1;
    if (split > 1) {
      quantForward(p, split, xin, y);
    } else if (quant[p].packed) {
      // y[:, rows] = x · W[rows]ᵀ, piece by piece
      forEachPiece(p, [&](int r0, int rows, const float* w) { gemm(false, true, N, rows, in, 1.0f, xin, w, 0.0f, y + r0, in, in, out); });
    } else {
      gemm(false, true, N, out, in, 1.0f, xin, at(pf(p, q_w), static_cast<int64_t>(out) * in), 0.0f, y);
    }
    const float* xa = loraInput(p, x);
    if (!xa) return;
    const int r = static_cast<int>(d[pf(p, q_r)]);
    gemm(false, true, N, out, r, static_cast<float>(d[pf(p, q_scale)]), xa, at(pf(p, q_b), static_cast<int64_t>(out) * r), 1.0f, y);
  }

  // x·Aᵀ [N, r] of projection p's LoRA into its saved tensor (null without LoRA)
  const float* loraInput(int p, const float* x) const {
    if (!has(pf(p, q_a))) return nullptr;
    const int in = inOf(p), r = static_cast<int>(d[pf(p, q_r)]);
    float* xa = at(pf(p, q_xa), static_cast<int64_t>(N) * r);
    gemm(false, true, N, r, in, 1.0f, x, at(pf(p, q_a), static_cast<int64_t>(r) * in), 0.0f, xa);
    return xa;
  }


  // Backward of project: dx (+)= dy · W + s · (dy · B) · A; the gradients of W, A, B where asked. x is p's input.
  void projectBack(int p, const float* x, const float* dy, float* dx, float beta, Floats& scratch) const {
    const int in = inOf(p), out = outOf(p);
    const int split = quant[p].packed ? quantThreads(p) : 1;
    if (split > 1) {
      quantBackward(p, split, dy, dx, beta);  // a 4-bit weight has no gradient
    } else if (quant[p].packed) {
      // dx (+)= Σ_pieces dy[:, rows] · W[rows]; a 4-bit weight has no gradient
      forEachPiece(p, [&](int r0, int rows, const float* w) { gemm(false, false, N, in, rows, 1.0f, dy + r0, w, r0 == 0 ? beta : 1.0f, dx, out, in, in); });
    } else {
      const float* w = at(pf(p, q_w), static_cast<int64_t>(out) * in);
      gemm(false, false, N, in, out, 1.0f, dy, w, beta, dx);
      if (has(pf(p, q_dw))) gemm(true, false, out, in, N, 1.0f, dy, x, 0.0f, at(pf(p, q_dw), static_cast<int64_t>(out) * in));
    }
    if (!has(pf(p, q_a))) return;
    const int r = static_cast<int>(d[pf(p, q_r)]);
    const float s = static_cast<float>(d[pf(p, q_scale)]);
    const float* a = at(pf(p, q_a), static_cast<int64_t>(r) * in);
    const float* b = at(pf(p, q_b), static_cast<int64_t>(out) * r);
    const float* xa = at(pf(p, q_xa), static_cast<int64_t>(N) * r);
    scratch.resize(static_cast<size_t>(N) * r);
    float* dyb = scratch.data();
    gemm(false, false, N, r, out, 1.0f, dy, b, 0.0f, dyb);  // dy · B  [N, r]
    gemm(false, false, N, in, r, s, dyb, a, 1.0f, dx);       // dx += s · (dy · B) · A
    if (has(pf(p, q_db))) gemm(true, false, out, r, N, s, dy, xa, 0.0f, at(pf(p, q_db), static_cast<int64_t>(out) * r));
    if (has(pf(p, q_da))) gemm(true, false, r, in, N, s, dyb, x, 0.0f, at(pf(p, q_da), static_cast<int64_t>(r) * in));
  }

  void rmsNorm(const float* x, const float* w, float* n, float* rstd) const {
    const int64_t Hs = H;
    const float e = eps;
    rowwise(N, H, [=](int64_t b, int64_t end) { rmsNormRows(x + b * Hs, w, n + b * Hs, rstd + b, static_cast<int>(end - b), static_cast<int>(Hs), e); });
  }
  // With dw, each of kernelThreads() pieces of rows sums its own part of dw, and the parts are added in order: the
  // same bits however the pieces were scheduled.
  void rmsNormBack(const float* x, const float* w, const float* rstd, const float* dn, float* dx, float* dw) const {
    const int64_t Hs = H;
    if (!dw) {
      rowwise(N, H, [=](int64_t b, int64_t e) { rmsNormRowsBack(x + b * Hs, w, rstd + b, dn + b * Hs, dx + b * Hs, nullptr, static_cast<int>(e - b), static_cast<int>(Hs)); });
      return;
    }
    const int pieces = std::max(1, std::min(loralab::kernelThreads(), N));
    const int64_t step = (N + pieces - 1) / pieces;
    std::vector<float> parts(static_cast<size_t>(pieces) * H, 0.0f);
    float* pp = parts.data();
    const int64_t rows = N;
    loralab::parallelTasks(pieces, [=](int k, int) {
      const int64_t b = std::min(rows, k * step), e = std::min(rows, (k + 1) * step);
      rmsNormRowsBack(x + b * Hs, w, rstd + b, dn + b * Hs, dx + b * Hs, pp + k * Hs, static_cast<int>(e - b), static_cast<int>(Hs));
    });
    for (int k = 0; k < pieces; k++) addArray(dw, pp + static_cast<int64_t>(k) * H, H);
  }

  // [N, n·hd] rows (token-major) -> [B, n, T, hd] (head-major), with RoPE applied on the way when cos is given:
  //   o = s·cos + rot(s)·sin,  rot([x1, x2]) = [−x2, x1].
  // With `adjoint`, the way back: head-major -> token-major through RoPE's transpose,
  //   o = s·cos + rotᵀ(s·sin),  rotᵀ([y1, y2]) = [y2, −y1].
  void reorder(const float* src, int n, float* dst, const float* cos, const float* sin, bool adjoint) const {
    const int half = hd / 2;
    const float sign = adjoint ? -1.0f : 1.0f;
    rowwise(N, static_cast<int64_t>(n) * hd, [=](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) {
        const int b = static_cast<int>(r / T), t = static_cast<int>(r % T);
        for (int h = 0; h < n; h++) {
          const int64_t tokenMajor = ((static_cast<int64_t>(b) * T + t) * n + h) * hd;
          const int64_t headMajor = ((static_cast<int64_t>(b) * n + h) * T + t) * hd;
          const float* s = src + (adjoint ? headMajor : tokenMajor);
          float* o = dst + (adjoint ? tokenMajor : headMajor);
          if (!cos) {
            std::memcpy(o, s, sizeof(float) * hd);
            continue;
          }
          const float* c = cos + static_cast<int64_t>(t) * hd;
          const float* sn = sin + static_cast<int64_t>(t) * hd;
          // forward: sin at the output's index; adjoint: sin at the input's index (the transpose swaps them)
          for (int e = 0; e < half; e++) {
            o[e] = s[e] * c[e] - sign * s[e + half] * (adjoint ? sn[e + half] : sn[e]);
            o[e + half] = s[e + half] * c[e + half] + sign * s[e] * (adjoint ? sn[e] : sn[e + half]);
          }
        }
      }
    });
  }
  void toHeads(const float* src, int n, float* dst, const float* cos, const float* sin) const { reorder(src, n, dst, cos, sin, false); }
  void fromHeads(const float* src, int n, float* dst, const float* cos, const float* sin) const { reorder(src, n, dst, cos, sin, true); }

  // The layer's input, its context and the intermediates the forward writes and the backward reads.
  struct Buffers {
    float *x, *cos, *sin, *mask, *n1, *rstd1, *q, *k, *v, *p, *ao, *h, *n2, *rstd2, *g, *u, *m;
  };
// named locals for a Buffers' fields (lambdas in C++17 cannot capture structured bindings)
#define LORALAB_UNPACK_BUFFERS(bf)                                                                                   \
  float *x = bf.x, *cos = bf.cos, *sin = bf.sin, *mask = bf.mask, *n1 = bf.n1, *rstd1 = bf.rstd1, *q = bf.q, *k = bf.k, \
        *v = bf.v, *p = bf.p, *ao = bf.ao, *h = bf.h, *n2 = bf.n2, *rstd2 = bf.rstd2, *g = bf.g, *u = bf.u, *m = bf.m;   \
  (void)x, (void)cos, (void)sin, (void)mask, (void)n1, (void)rstd1, (void)q, (void)k, (void)v, (void)p, (void)ao, (void)h, \
      (void)n2, (void)rstd2, (void)g, (void)u, (void)m;
  Buffers buffers() const {
    const int64_t NH = static_cast<int64_t>(N) * H, NI = static_cast<int64_t>(N) * I, T_hd = static_cast<int64_t>(T) * hd;
    const int64_t q = static_cast<int64_t>(N) * nH * hd, kv = static_cast<int64_t>(N) * nKV * hd;
    return {at(X_, NH), at(COS_, T_hd), at(SIN_, T_hd), at(MASK_, static_cast<int64_t>(B) * T * T), at(N1_, NH), at(RSTD1_, N),
            at(Q_, q), at(K_, kv), at(V_, kv), at(P_, static_cast<int64_t>(B) * nH * T * T), at(AO_, q), at(HH_, NH),
            at(N2_, NH), at(RSTD2_, N), at(G_, NI), at(U_, NI), at(M_, NI)};
  }

  void forward() const {
    const int64_t NH = static_cast<int64_t>(N) * H, NI = static_cast<int64_t>(N) * I;
    const int qd = nH * hd, groups = nH / nKV;
    const Buffers bf = buffers();
    LORALAB_UNPACK_BUFFERS(bf)
    // without y (a checkpointed layer run again for its backward) the output is not needed: the down projection's
    // base product and the residual are skipped (a third of the layer's work at Gemma's MLP widths)
    float* y = opt(Y_, NH);
    Floats scratch, rows(static_cast<size_t>(N) * std::max(qd, H));
    rmsNorm(x, at(W_IN_, H), n1, rstd1);
    // q, k, v: projected token-major into `rows`, then head-major (rotated) into the saved tensors
    project(kQ, n1, rows.data(), scratch);
    toHeads(rows.data(), nH, q, cos, sin);
    project(kK, n1, rows.data(), scratch);
    toHeads(rows.data(), nKV, k, cos, sin);
    project(kV, n1, rows.data(), scratch);
    toHeads(rows.data(), nKV, v, nullptr, nullptr);
    // per (batch, key/value head): the group's queries stacked [groups·T, hd] against its keys [T, hd]
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    // the (batch, key/value head) pairs are independent: parallel tasks, each product on one thread (parallel.h)
    Floats heads(static_cast<size_t>(N) * qd);
    float* hp = heads.data();
    loralab::parallelTasks(B * nKV, [=](int task, int) {
      const int b = task / nKV, kv = task % nKV;
      const int64_t qOff = ((static_cast<int64_t>(b) * nH + kv * groups) * T) * hd;
      const int64_t kOff = ((static_cast<int64_t>(b) * nKV + kv) * T) * hd;
      float* pg = p + (static_cast<int64_t>(b) * nH + kv * groups) * T * T;
      gemm(false, true, groups * T, T, hd, scale, q + qOff, k + kOff, 0.0f, pg);
      softmaxRows(pg, mask + static_cast<int64_t>(b) * T * T, groups * T, T);
      gemm(false, false, groups * T, hd, T, 1.0f, pg, v + kOff, 0.0f, hp + qOff);
    });
    fromHeads(heads.data(), nH, ao, nullptr, nullptr);
    project(kO, ao, h, scratch);
    elementwise(NH, [=](int64_t b, int64_t e) { addArray(h + b, x + b, e - b); });
    rmsNorm(h, at(W_POST_, H), n2, rstd2);
    project(kGate, n2, g, scratch);
    project(kUp, n2, u, scratch);
    elementwise(NI, [=](int64_t b, int64_t e) { geluMul(g + b, u + b, m + b, e - b); });
    if (!y) {
      loraInput(kDown, m);
      return;
    }
    project(kDown, m, y, scratch);
    elementwise(NH, [=](int64_t b, int64_t e) { addArray(y + b, h + b, e - b); });
  }

  void backward() const {
    const int64_t NH = static_cast<int64_t>(N) * H, NI = static_cast<int64_t>(N) * I;
    const int qd = nH * hd, kd = nKV * hd, groups = nH / nKV;
    const Buffers bf = buffers();
    LORALAB_UNPACK_BUFFERS(bf)
    const float* dy = at(DY_, NH);
    float* dx = at(DX_, NH);
    float* dwIn = opt(DW_IN_, H);
    float* dwPost = opt(DW_POST_, H);
    if (dwIn) std::fill(dwIn, dwIn + H, 0.0f);
    if (dwPost) std::fill(dwPost, dwPost + H, 0.0f);
    Floats scratch, dm(NI), dg(NI), du(NI), dn(NH), dh(NH);
    std::memcpy(dh.data(), dy, sizeof(float) * NH);
    // MLP: dm = dy · W_down (+ LoRA); dg = dm · u · gelu'(g); du = dm · gelu(g)
    projectBack(kDown, m, dy, dm.data(), 0.0f, scratch);
    {
      const float* dmp = dm.data();
      float *dgp = dg.data(), *dup = du.data();
      elementwise(NI, [=](int64_t b, int64_t e) { geluMulBack(g + b, u + b, dmp + b, dgp + b, dup + b, e - b); });
    }
    projectBack(kGate, n2, dg.data(), dn.data(), 0.0f, scratch);
    projectBack(kUp, n2, du.data(), dn.data(), 1.0f, scratch);
    rmsNormBack(h, at(W_POST_, H), rstd2, dn.data(), dh.data(), dwPost);
    // attention: dao = dh · W_o (+ LoRA), then per (batch, key/value head) through P v and the softmax
    // (every (batch, key/value head) task writes its whole slice of dq, dk and dv)
    Floats dao(static_cast<size_t>(N) * qd), dO(static_cast<size_t>(N) * qd), dq(static_cast<size_t>(N) * qd),
        dk(static_cast<size_t>(N) * kd), dv(static_cast<size_t>(N) * kd), dp(static_cast<size_t>(loralab::kernelThreads()) * groups * T * T),
        rows(static_cast<size_t>(N) * std::max(qd, H));
    projectBack(kO, ao, dh.data(), dao.data(), 0.0f, scratch);
    toHeads(dao.data(), nH, dO.data(), nullptr, nullptr);
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
    // per (batch, key/value head), as parallel tasks; each thread has its own dP
    {
      const float* dOp = dO.data();
      float *dvp = dv.data(), *dqp = dq.data(), *dkp = dk.data(), *dpAll = dp.data();
      const int64_t dpSize = static_cast<int64_t>(groups) * T * T;
      loralab::parallelTasks(B * nKV, [=](int task, int thread) {
        const int b = task / nKV, kv = task % nKV;
        const int64_t qOff = ((static_cast<int64_t>(b) * nH + kv * groups) * T) * hd;
        const int64_t kOff = ((static_cast<int64_t>(b) * nKV + kv) * T) * hd;
        const float* pg = p + (static_cast<int64_t>(b) * nH + kv * groups) * T * T;
        float* dpt = dpAll + thread * dpSize;
        gemm(false, true, groups * T, T, hd, 1.0f, dOp + qOff, v + kOff, 0.0f, dpt);  // dP = dO · vᵀ
        gemm(true, false, T, hd, groups * T, 1.0f, pg, dOp + qOff, 0.0f, dvp + kOff);  // dv = Pᵀ · dO
        // dS = P ⊙ (dP − rowsum(dP ⊙ P)) · hd^-½  (the mask adds a constant: no gradient)
        softmaxRowsBack(pg, dpt, groups * T, T, scale);
        gemm(false, false, groups * T, hd, T, 1.0f, dpt, k + kOff, 0.0f, dqp + qOff);  // dq = dS · k
        gemm(true, false, T, hd, groups * T, 1.0f, dpt, q + qOff, 0.0f, dkp + kOff);   // dk = dSᵀ · q
      });
    }
    // back to token-major through RoPE's transpose, then through the projections into dn1
    fromHeads(dq.data(), nH, rows.data(), cos, sin);
    projectBack(kQ, n1, rows.data(), dn.data(), 0.0f, scratch);
    fromHeads(dk.data(), nKV, rows.data(), cos, sin);
    projectBack(kK, n1, rows.data(), dn.data(), 1.0f, scratch);
    fromHeads(dv.data(), nKV, rows.data(), nullptr, nullptr);
    projectBack(kV, n1, rows.data(), dn.data(), 1.0f, scratch);
    std::memcpy(dx, dh.data(), sizeof(float) * NH);
    rmsNormBack(x, at(W_IN_, H), rstd1, dn.data(), dx, dwIn);
  }
};

// gemmaLayer(heap: ArrayBuffer, desc: Float64Array, backward: boolean, quant?: (null | [packed, absmax, code, blocksize])[7])
Napi::Value GemmaLayer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loralab::blasSgemm()) throw Napi::Error::New(env, "gemmaLayer: no BLAS is open");
  if (info.Length() < 3 || !info[0].IsArrayBuffer() || !info[1].IsTypedArray()) throw Napi::TypeError::New(env, "gemmaLayer(heap: ArrayBuffer, desc: Float64Array, backward: boolean)");
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  Napi::Float64Array desc = info[1].As<Napi::Float64Array>();
  if (desc.ElementLength() != kFieldCount) throw Napi::RangeError::New(env, "gemmaLayer: the descriptor has " + std::to_string(desc.ElementLength()) + " fields, expected " + std::to_string(kFieldCount));
  Layer layer(desc.Data(), static_cast<uint8_t*>(heap.Data()), static_cast<int64_t>(heap.ByteLength()));
  // quant (optional): per projection, null or [packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize]
  if (info.Length() > 3 && info[3].IsArray()) {
    Napi::Array q = info[3].As<Napi::Array>();
    if (q.Length() != 7) throw Napi::RangeError::New(env, "gemmaLayer: quant must list the 7 projections");
    for (uint32_t p = 0; p < 7; p++) {
      Napi::Value e = q.Get(p);
      if (e.IsNull() || e.IsUndefined()) continue;
      Napi::Array a = e.As<Napi::Array>();
      auto packed = a.Get(0u).As<Napi::Uint8Array>();
      auto absmax = a.Get(1u).As<Napi::Float32Array>();
      auto code = a.Get(2u).As<Napi::Float32Array>();
      const int64_t blocksize = a.Get(3u).As<Napi::Number>().Int64Value();
      const int64_t n = static_cast<int64_t>(layer.outOf(p)) * layer.inOf(p);
      if (blocksize < 2 || blocksize % 2 != 0 || code.ElementLength() != 16 || static_cast<int64_t>(packed.ElementLength()) < (n + 1) / 2 ||
          static_cast<int64_t>(absmax.ElementLength()) < (n + blocksize - 1) / blocksize) {
        throw Napi::RangeError::New(env, "gemmaLayer: a 4-bit weight's codes, absmax or codebook do not fit its shape");
      }
      layer.quant[p] = {packed.Data(), absmax.Data(), code.Data(), blocksize};
    }
  }
  if (layer.nKV <= 0 || layer.nH % layer.nKV != 0 || layer.hd % 2 != 0) throw Napi::RangeError::New(env, "gemmaLayer: expected nH a multiple of nKV and an even head_dim");
  if (!(desc.Data()[PIECE_] >= 1)) throw Napi::RangeError::New(env, "gemmaLayer: the piece size must be positive");
  try {
    if (info[2].ToBoolean()) layer.backward();
    else layer.forward();
  } catch (const std::string& e) {
    throw Napi::RangeError::New(env, "gemmaLayer: " + e);
  }
  return env.Undefined();
}

// headLoss(heap, h, N, d, table, V, targets, count, dh, maxLogits, chunkValues) -> loss
// The causal LM loss through a frozen tied head, L = (1/count) Σ_{n: target ≥ 0} (lse_n − z_n[target_n]) with
// z = h · Eᵀ, and dL/dh = (1/count) · (softmax(z) − onehot) · E written at dh (rows without a target: 0). h and dh are
// heap offsets of [N, d] floats; the table E [V, d] is a Float32Array or a Uint16Array of bf16 patterns (expanded a
// chunk of at most chunkValues at a time, which the product then reads from cache). The vocabulary is walked in chunks
// with a running log-sum-exp; when all N·V logits fit in maxLogits they are kept for the gradient (two products),
// else the gradient pass computes each chunk again (three).
Napi::Value HeadLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!loralab::blasSgemm()) throw Napi::Error::New(env, "headLoss: no BLAS is open");
  if (info.Length() < 11 || !info[0].IsArrayBuffer() || !info[4].IsTypedArray() || !info[6].IsTypedArray()) throw Napi::TypeError::New(env, "headLoss(heap, h, N, d, table, V, targets: Int32Array, count, dh, maxLogits, chunkValues)");
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  const int64_t hOff = info[1].As<Napi::Number>().Int64Value(), dhOff = info[8].As<Napi::Number>().Int64Value();
  const int N = info[2].As<Napi::Number>().Int32Value(), d = info[3].As<Napi::Number>().Int32Value(), V = info[5].As<Napi::Number>().Int32Value();
  const double count = info[7].As<Napi::Number>().DoubleValue();
  const int64_t bytes = static_cast<int64_t>(heap.ByteLength()), nd = static_cast<int64_t>(N) * d;
  for (int64_t off : {hOff, dhOff}) if (off < 0 || off % 4 != 0 || off + 4 * nd > bytes) throw Napi::RangeError::New(env, "headLoss: h or dh lies outside the heap");
  Napi::TypedArray table = info[4].As<Napi::TypedArray>();
  const bool bf16 = table.TypedArrayType() == napi_uint16_array;
  if (!bf16 && table.TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, "headLoss: the table must be a Float32Array or a Uint16Array of bf16");
  if (static_cast<int64_t>(table.ElementLength()) != static_cast<int64_t>(V) * d) throw Napi::RangeError::New(env, "headLoss: the table is not [V, d]");
  Napi::Int32Array targets = info[6].As<Napi::Int32Array>();
  if (static_cast<int64_t>(targets.ElementLength()) != N) throw Napi::RangeError::New(env, "headLoss: targets must hold N ids");
  const float* h = reinterpret_cast<const float*>(static_cast<uint8_t*>(heap.Data()) + hOff);
  float* dh = reinterpret_cast<float*>(static_cast<uint8_t*>(heap.Data()) + dhOff);
  const uint8_t* tbase = static_cast<const uint8_t*>(table.ArrayBuffer().Data()) + table.ByteOffset();
  const int32_t* tg = targets.Data();
  const int64_t maxLogits = info[9].As<Napi::Number>().Int64Value(), chunkValues = info[10].As<Napi::Number>().Int64Value();
  if (maxLogits < 1 || chunkValues < 1) throw Napi::RangeError::New(env, "headLoss: maxLogits and chunkValues must be positive");
  // a bf16 table is expanded a chunk of at most chunkValues at a time, small enough to stay in cache for the product
  const int64_t maxRows = bf16 ? std::max<int64_t>(1, chunkValues / std::max(d, 1)) : V;
  // When all N·V logits fit in maxLogits they are kept (z is [N, V], each chunk's columns written in place) and the
  // gradient pass reuses them; otherwise z holds one chunk and the gradient pass computes it again.
  const bool keep = static_cast<int64_t>(N) * V <= maxLogits;
  const int chunk = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({V, keep ? V : maxLogits / std::max(N, 1), maxRows})));
  const int ldz = keep ? V : chunk;
  Floats z(static_cast<size_t>(N) * ldz), expanded(bf16 ? static_cast<size_t>(chunk) * d : 0);
  auto zAt = [&](int s) { return z.data() + (keep ? s : 0); };  // chunk [s, e)'s columns
  // rows [s, e) of E as floats
  auto rowsOf = [&](int s, int e) -> const float* {
    if (!bf16) return reinterpret_cast<const float*>(tbase) + static_cast<int64_t>(s) * d;
    const uint16_t* src = reinterpret_cast<const uint16_t*>(tbase) + static_cast<int64_t>(s) * d;
    uint32_t* out = reinterpret_cast<uint32_t*>(expanded.data());
    elementwise(static_cast<int64_t>(e - s) * d, [=](int64_t b, int64_t end) {
      for (int64_t i = b; i < end; i++) out[i] = static_cast<uint32_t>(src[i]) << 16;
    });
    return expanded.data();
  };
  std::vector<float> mx(N, -INFINITY), sum(N, 0.0f), zt(N, 0.0f);
  for (int s = 0; s < V; s += chunk) {
    const int e = std::min(V, s + chunk), w = e - s;
    gemm(false, true, N, w, d, 1.0f, h, rowsOf(s, e), 0.0f, zAt(s), d, d, ldz);
    const float* zp = zAt(s);
    float *mxp = mx.data(), *sump = sum.data(), *ztp = zt.data();
    rowwise(N, w, [=](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; n++) {
        const float* zr = zp + n * ldz;
        logSumExpUpdate(zr, w, mxp + n, sump + n);
        if (tg[n] >= s && tg[n] < e) ztp[n] = zr[tg[n] - s];
      }
    });
  }
  double loss = 0;
  std::vector<float> lse(N), coef(N);
  for (int n = 0; n < N; n++) {
    lse[n] = mx[n] + std::log(sum[n]);
    coef[n] = tg[n] >= 0 ? static_cast<float>(1.0 / count) : 0.0f;
    if (tg[n] >= 0) loss += lse[n] - zt[n];
  }
  std::fill(dh, dh + nd, 0.0f);
  for (int s = 0; s < V; s += chunk) {
    const int e = std::min(V, s + chunk), w = e - s;
    const float* E = rowsOf(s, e);
    if (!keep) gemm(false, true, N, w, d, 1.0f, h, E, 0.0f, zAt(s), d, d, ldz);  // computed again
    float* zp = zAt(s);
    const float *cp = coef.data(), *lp = lse.data();
    rowwise(N, w, [=](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; n++) {
        float* zr = zp + n * ldz;
        const float c = cp[n];
        scaledExpRow(zr, w, c, lp[n]);
        if (tg[n] >= s && tg[n] < e) zr[tg[n] - s] -= c;
      }
    });
    gemm(false, false, N, d, w, 1.0f, zp, E, 1.0f, dh, ldz, d, d);
  }
  return Napi::Number::New(env, loss / count);
}

}  // namespace

namespace loralab {
void registerGemmaLayer(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmaLayer", Napi::Function::New(env, GemmaLayer));
  exports.Set("gemmaLayerFields", Napi::String::New(env, kFieldNames));
  exports.Set("headLoss", Napi::Function::New(env, HeadLoss));
}
}  // namespace loralab

// LoRA Lab's native kernels: single-precision GEMM through the system's CBLAS, on memory JavaScript already owns.
//
// The BLAS is not linked: `open` finds it at run time with dlopen (OpenBLAS or any libblas.so.3 on Linux, Accelerate
// on macOS), so this addon builds without a -dev package and links only libc/libdl. `sgemm` multiplies matrices that
// live inside one ArrayBuffer (TF.js's wasm heap) at byte offsets, writing the product into the same buffer — no copy
// in or out.
//
//   C[i] = op(A[ia[i]]) · op(B[ib[i]])   for i in [0, batch),  op(X) = X or Xᵀ,  row-major, C[i] is M×N.
#include <napi.h>
#include <dlfcn.h>

#include "blas_access.h"
#include "numerics.h"
#include "parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define LORALAB_X86 1
#endif

namespace {

// CBLAS enum values (cblas.h); declared here so that no BLAS header is needed at build time.
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;
constexpr int kTrans = 112;

using SgemmFn = void (*)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A, int lda,
                         const float* B, int ldb, float beta, float* C, int ldc);
using GetConfigFn = const char* (*)();
using GetThreadsFn = int (*)();
using SetThreadsFn = void (*)(int);

struct Blas {
  void* handle = nullptr;
  SgemmFn sgemm = nullptr;
  GetConfigFn getConfig = nullptr;
  GetThreadsFn getThreads = nullptr;
  SetThreadsFn setThreads = nullptr;
  GetThreadsFn getParallel = nullptr;
  std::string path;
};

Blas blas;

// The largest smallest-dimension of a product that runs on one BLAS thread (see Sgemm).
constexpr int64_t kThinDimension = 16;
// OPENBLAS_THREAD_TIMEOUT set before the BLAS loads (see Open)
constexpr const char* kOpenblasThreadTimeout = "8";

template <typename T>
T symbol(void* handle, const char* name) {
  return reinterpret_cast<T>(dlsym(handle, name));
}

Napi::Object describe(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", blas.path);
  Dl_info where;  // the file the symbol came from: libblas.so.3 may be OpenBLAS, BLIS or netlib's reference BLAS
  if (dladdr(reinterpret_cast<void*>(blas.sgemm), &where) && where.dli_fname) o.Set("file", where.dli_fname);
  else o.Set("file", env.Null());
  o.Set("config", blas.getConfig ? Napi::Value(Napi::String::New(env, blas.getConfig())) : env.Null());
  o.Set("threads", blas.getThreads ? Napi::Value(Napi::Number::New(env, blas.getThreads())) : env.Null());
  // whether the element-wise loops run on the BLAS's OpenMP pool (parallel.h), and on how many threads
  o.Set("sharedPool", loralab::sharedPool());
  o.Set("kernelThreads", loralab::kernelThreads());
  const char* timeout = getenv("OPENBLAS_THREAD_TIMEOUT");
  o.Set("threadTimeout", timeout ? Napi::Value(Napi::String::New(env, timeout)) : env.Null());
  return o;
}

// open(candidates: string[]) -> { path, file, config, threads }: the first library that loads and exports cblas_sgemm.
// Throws one error naming every candidate and why it failed.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (blas.sgemm) return describe(env);
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "open(candidates: string[])");
  Napi::Array list = info[0].As<Napi::Array>();
  std::string failures;
  // A pthreads OpenBLAS's idle workers spin (sched_yield) for 2^OPENBLAS_THREAD_TIMEOUT cycles after each product
  // before they sleep: 2^28, about 0.1 s, by default. LoRA Lab runs threads of its own between products (a 4-bit
  // weight is dequantized and multiplied in parts, one per core: gemma_layer.cc's quantForward), and a spinning worker
  // would take a core from them. 2^8 cycles instead, read by OpenBLAS when it loads, unless the user set it: a 253M
  // QLoRA step went from 1.32 to 1.18 s, the LoRA step and gemma-micro's were unchanged.
  setenv("OPENBLAS_THREAD_TIMEOUT", kOpenblasThreadTimeout, 0);
  for (uint32_t i = 0; i < list.Length(); i++) {
    std::string path = list.Get(i).ToString().Utf8Value();
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* e = dlerror();
      const std::string why = e ? e : "dlopen failed";  // glibc's message already names the file
      failures += (failures.empty() ? "" : "; ") + (why.find(path) != std::string::npos ? why : path + ": " + why);
      continue;
    }
    auto sgemm = symbol<SgemmFn>(h, "cblas_sgemm");
    if (!sgemm) {
      failures += (failures.empty() ? "" : "; ") + path + ": no cblas_sgemm";
      dlclose(h);
      continue;
    }
    blas.handle = h;
    blas.sgemm = sgemm;
    blas.path = path;
    blas.getConfig = symbol<GetConfigFn>(h, "openblas_get_config");
    blas.getThreads = symbol<GetThreadsFn>(h, "openblas_get_num_threads");
    blas.setThreads = symbol<SetThreadsFn>(h, "openblas_set_num_threads");
    blas.getParallel = symbol<GetThreadsFn>(h, "openblas_get_parallel");
    loralab::setBlasThreading(blas.getParallel ? blas.getParallel() : -1, blas.getThreads ? blas.getThreads() : 0);
    return describe(env);
  }
  throw Napi::Error::New(env, failures.empty() ? "no BLAS candidates given" : failures);
}

// setThreads(n): OpenBLAS's thread count (no effect on a BLAS that cannot set it). Returns the count now in force.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!blas.sgemm) throw Napi::Error::New(env, "setThreads: no BLAS is open");
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(env, "setThreads: expected a positive thread count");
  if (blas.setThreads) blas.setThreads(n);
  loralab::setBlasThreading(blas.getParallel ? blas.getParallel() : -1, blas.getThreads ? blas.getThreads() : 0);
  return blas.getThreads ? Napi::Value(Napi::Number::New(env, blas.getThreads())) : env.Null();
}

// Batch indices from an optional Int32Array argument; absent means matrix 0 for every product.
std::vector<int32_t> indices(const Napi::Value& v, uint32_t batch) {
  std::vector<int32_t> out(batch, 0);
  if (v.IsUndefined() || v.IsNull()) return out;
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() != batch) throw Napi::RangeError::New(v.Env(), "sgemm: a batch index array's length is not the batch");
  for (uint32_t i = 0; i < batch; i++) out[i] = a[i];
  return out;
}

// sgemm(heap, transA, transB, M, N, K, aOffset, bOffset, cOffset, batch, aIndex?, bIndex?)
// Offsets are in bytes; matrix i of A starts at aOffset + 4·M·K·aIndex[i] (likewise B, K·N), C[i] at cOffset + 4·M·N·i.
// Every matrix is checked to lie inside the buffer before any is touched.
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!blas.sgemm) throw Napi::Error::New(env, "sgemm: no BLAS is open");
  if (info.Length() < 10 || !info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "sgemm(heap: ArrayBuffer, transA, transB, M, N, K, aOffset, bOffset, cOffset, batch, aIndex?, bIndex?)");
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  const bool tA = info[1].ToBoolean();
  const bool tB = info[2].ToBoolean();
  const int64_t M = info[3].As<Napi::Number>().Int64Value();
  const int64_t N = info[4].As<Napi::Number>().Int64Value();
  const int64_t K = info[5].As<Napi::Number>().Int64Value();
  const int64_t aOff = info[6].As<Napi::Number>().Int64Value();
  const int64_t bOff = info[7].As<Napi::Number>().Int64Value();
  const int64_t cOff = info[8].As<Napi::Number>().Int64Value();
  const int64_t batch = info[9].As<Napi::Number>().Int64Value();
  if (M < 0 || N < 0 || K < 0 || batch < 0 || aOff < 0 || bOff < 0 || cOff < 0 || (aOff | bOff | cOff) % 4 != 0) {
    throw Napi::RangeError::New(env, "sgemm: negative size or misaligned offset");
  }
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || batch > INT32_MAX) throw Napi::RangeError::New(env, "sgemm: dimension too large");
  const auto ia = indices(info.Length() > 10 ? info[10] : env.Undefined(), static_cast<uint32_t>(batch));
  const auto ib = indices(info.Length() > 11 ? info[11] : env.Undefined(), static_cast<uint32_t>(batch));
  const int64_t bytes = static_cast<int64_t>(heap.ByteLength());
  const int64_t aSize = 4 * M * K, bSize = 4 * K * N, cSize = 4 * M * N;
  int32_t aMax = 0, bMax = 0;
  for (int64_t i = 0; i < batch; i++) {
    if (ia[i] < 0 || ib[i] < 0) throw Napi::RangeError::New(env, "sgemm: negative batch index");
    aMax = ia[i] > aMax ? ia[i] : aMax;
    bMax = ib[i] > bMax ? ib[i] : bMax;
  }
  if (batch > 0 && (aOff + aSize * (aMax + 1) > bytes || bOff + bSize * (bMax + 1) > bytes || cOff + cSize * batch > bytes)) {
    throw Napi::RangeError::New(env, "sgemm: a matrix lies outside the buffer");
  }
  if (batch == 0 || M == 0 || N == 0) return env.Undefined();
  uint8_t* base = static_cast<uint8_t*>(heap.Data());
  float* C = reinterpret_cast<float*>(base + cOff);
  if (K == 0) {  // an empty sum: C = 0 (not every BLAS writes C when K is 0)
    for (int64_t e = 0; e < M * N * batch; e++) C[e] = 0.0f;
    return env.Undefined();
  }
  // row-major leading dimensions: A is stored [M, K] or, transposed, [K, M]; B is [K, N] or [N, K]
  const int lda = static_cast<int>(tA ? M : K);
  const int ldb = static_cast<int>(tB ? K : N);
  for (int64_t i = 0; i < batch; i++) {
    const float* A = reinterpret_cast<const float*>(base + aOff + aSize * ia[i]);
    const float* B = reinterpret_cast<const float*>(base + bOff + bSize * ib[i]);
    loralab::sgemm(tA, tB, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, A, lda, B, ldb, 0.0f, C + M * N * i, static_cast<int>(N));
  }
  return env.Undefined();
}

// ---- element-wise kernels, split over threads --------------------------------------------------------------------
// They run between BLAS calls, never during one, so their threads and OpenBLAS's do not compete for the cores.

// Element-wise loops split over threads the way parallel.h says; a piece below this stays on one thread.
constexpr int64_t kGrain = int64_t{1} << 15;

template <typename F>
void parallelFor(int64_t n, F f) {
  loralab::parallelFor(n, kGrain, f);
}

// Float32 views of `count` arrays of n floats at the byte offsets args[first..], bounds-checked against the buffer.
std::vector<float*> views(const Napi::CallbackInfo& info, size_t first, size_t count, int64_t n) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "expected the heap (an ArrayBuffer) first");
  Napi::ArrayBuffer heap = info[0].As<Napi::ArrayBuffer>();
  const int64_t bytes = static_cast<int64_t>(heap.ByteLength());
  std::vector<float*> out;
  for (size_t i = 0; i < count; i++) {
    const int64_t off = info[first + i].As<Napi::Number>().Int64Value();
    if (off < 0 || off % 4 != 0 || off + 4 * n > bytes) throw Napi::RangeError::New(env, "an array lies outside the buffer or is misaligned");
    out.push_back(reinterpret_cast<float*>(static_cast<uint8_t*>(heap.Data()) + off));
  }
  return out;
}

int64_t count(const Napi::CallbackInfo& info, size_t at) {
  const int64_t n = info[at].As<Napi::Number>().Int64Value();
  if (n < 0) throw Napi::RangeError::New(info.Env(), "negative element count");
  return n;
}

// tanh-GELU with libm's tanh (numerics.h has the formula)
const auto libmTanh = [](float u) { return std::tanh(u); };

// y[i] = f(x[i]) for the call (heap, x, y, n): byte offsets, y may equal x.
template <typename F>
Napi::Value unary(const Napi::CallbackInfo& info, F f) {
  const int64_t n = count(info, 3);
  auto v = views(info, 1, 2, n);
  const float* x = v[0];
  float* y = v[1];
  parallelFor(n, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) y[i] = f(x[i]);
  });
  return info.Env().Undefined();
}

// geluTanh(heap, x, y, n): y = gelu(x)
Napi::Value GeluTanh(const Napi::CallbackInfo& info) {
  return unary(info, [](float x) { return loralab::geluTanh(x, libmTanh); });
}

// geluTanhGrad(heap, x, dy, dx, n): dx = dy · gelu'(x),  gelu'(x) = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
Napi::Value GeluTanhGrad(const Napi::CallbackInfo& info) {
  const int64_t n = count(info, 4);
  auto v = views(info, 1, 3, n);
  const float* x = v[0];
  const float* dy = v[1];
  float* dx = v[2];
  parallelFor(n, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      float gelu, dgelu;
      loralab::geluTanhAndGrad(x[i], libmTanh, &gelu, &dgelu);
      dx[i] = dy[i] * dgelu;
    }
  });
  return info.Env().Undefined();
}

// exp(heap, x, y, n): y = eˣ (TF.js's wasm Exp is a scalar loop; the softmax and the loss spend most of theirs here)
Napi::Value Exp(const Napi::CallbackInfo& info) {
  return unary(info, [](float x) { return std::exp(x); });
}


// ---- bf16 expansion and 4-bit dequantization, from JavaScript arrays straight into the heap ------------------------

// A typed array argument's data and length, checked to be of the expected kind.
template <typename T, napi_typedarray_type kind>
std::pair<const T*, size_t> typedInput(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kind) {
    throw Napi::TypeError::New(v.Env(), std::string("expected ") + what);
  }
  auto a = v.As<Napi::TypedArrayOf<T>>();
  return {a.Data(), a.ElementLength()};
}

// n floats at the byte offset args[offAt] of the heap args[heapAt], checked to lie inside it and be aligned.
float* heapFloats(const Napi::CallbackInfo& info, size_t heapAt, size_t offAt, int64_t n, const char* what) {
  if (!info[heapAt].IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": expected the heap (an ArrayBuffer)");
  Napi::ArrayBuffer heap = info[heapAt].As<Napi::ArrayBuffer>();
  const int64_t off = info[offAt].As<Napi::Number>().Int64Value();
  if (off < 0 || off % 4 != 0 || off + 4 * n > static_cast<int64_t>(heap.ByteLength())) throw Napi::RangeError::New(info.Env(), std::string(what) + ": the output lies outside the heap or is misaligned");
  return reinterpret_cast<float*>(static_cast<uint8_t*>(heap.Data()) + off);
}

// bf16ToF32(src: Uint16Array, srcStart, heap, out, n): heap floats at byte offset out = the bf16 values
// src[srcStart .. srcStart + n) (exact: a bf16 pattern is the top half of a float32 pattern).
Napi::Value Bf16ToF32(const Napi::CallbackInfo& info) {
  auto [src, len] = typedInput<uint16_t, napi_uint16_array>(info[0], "a Uint16Array of bf16 patterns");
  const int64_t start = info[1].As<Napi::Number>().Int64Value();
  const int64_t n = count(info, 4);
  if (start < 0 || start + n > static_cast<int64_t>(len)) throw Napi::RangeError::New(info.Env(), "bf16ToF32: the range lies outside the source");
  uint32_t* out = reinterpret_cast<uint32_t*>(heapFloats(info, 2, 3, n, "bf16ToF32"));
  const uint16_t* in = src + start;
  parallelFor(n, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) out[i] = static_cast<uint32_t>(in[i]) << 16;
  });
  return info.Env().Undefined();
}

using loralab::roundBf16;

// Scalar dequantize of bytes [j0, j1) (elements 2·j0 .. 2·j1): out[e] = code[nibble(e)]·absmax[e / blocksize].
void dequantScalar(const uint8_t* packed, const float* absmax, const float* code, int64_t blocksize, int64_t j0, int64_t j1, float* out, bool bf16) {
  for (int64_t j = j0; j < j1; j++) {
    const float a = absmax[(2 * j) / blocksize];
    const float v0 = code[packed[j] >> 4] * a, v1 = code[packed[j] & 15] * a;
    out[2 * j] = bf16 ? roundBf16(v0) : v0;
    out[2 * j + 1] = bf16 ? roundBf16(v1) : v1;
  }
}

#ifdef LORALAB_X86
// The same with AVX2, 16 elements (8 bytes) per step: the 16-entry codebook sits in two registers, and each nibble
// picks its value with two in-register permutes and a blend on the nibble's top bit. Needs blocksize % 16 == 0 so
// that the 16 elements share one absmax. Same bits as the scalar loop (the product and the rounding are the same
// IEEE operations).
#define LORALAB_AVX2 __attribute__((target("avx2,fma")))
// code[idx] for 8 nibbles: idx < 8 from the low half of the codebook, else from the high half (bit 3 -> sign bit).
LORALAB_AVX2 inline __m256 lookup16(__m256 lo, __m256 hi, __m256i idx) {
  const __m256 a = _mm256_permutevar8x32_ps(lo, idx), b = _mm256_permutevar8x32_ps(hi, idx);
  return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}
// roundBf16Bits (numerics.h) on 8 lanes
LORALAB_AVX2 inline __m256 roundBf16x8(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i r = _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb), _mm256_set1_epi32(static_cast<int>(0xffff0000u)));
  return _mm256_blendv_ps(_mm256_castsi256_ps(r), _mm256_castsi256_ps(_mm256_set1_epi32(0x7fc00000)), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
}
LORALAB_AVX2 void dequantAvx2(const uint8_t* packed, const float* absmax, const float* code, int64_t blocksize, int64_t j0, int64_t j1, float* out, bool bf16) {
  const __m256 lo = _mm256_loadu_ps(code), hi = _mm256_loadu_ps(code + 8);
  const __m256i mask4 = _mm256_set1_epi32(15);
  int64_t j = j0;
  for (; j + 8 <= j1; j += 8) {
    const __m256i bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(packed + j)));
    const __m256i h = _mm256_srli_epi32(bytes, 4), l = _mm256_and_si256(bytes, mask4);
    const __m256i u0 = _mm256_unpacklo_epi32(h, l), u1 = _mm256_unpackhi_epi32(h, l);  // [h0 l0 h1 l1 | h4 l4 h5 l5], [h2 l2 h3 l3 | h6 l6 h7 l7]
    const __m256i first = _mm256_permute2x128_si256(u0, u1, 0x20), second = _mm256_permute2x128_si256(u0, u1, 0x31);
    const __m256 a = _mm256_set1_ps(absmax[(2 * j) / blocksize]);
    __m256 v0 = _mm256_mul_ps(lookup16(lo, hi, first), a), v1 = _mm256_mul_ps(lookup16(lo, hi, second), a);
    if (bf16) {
      v0 = roundBf16x8(v0);
      v1 = roundBf16x8(v1);
    }
    _mm256_storeu_ps(out + 2 * j, v0);
    _mm256_storeu_ps(out + 2 * j + 8, v1);
  }
  dequantScalar(packed, absmax, code, blocksize, j, j1, out, bf16);
}
bool haveAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

// n dequantized values into out (bf16-rounded when asked); blocksize even. Threaded over blocks.
void dequantInto(const uint8_t* pk, const float* am, const float* cb, int64_t blocksize, int64_t n, float* out, bool bf16) {
  const int64_t bytes = n / 2;
  // split on 8-byte steps so that every piece but the last is whole SIMD steps
  parallelFor(bytes, [=](int64_t b, int64_t e) {
    b &= ~int64_t{7};
    if (e != bytes) e &= ~int64_t{7};
#ifdef LORALAB_X86
    if (blocksize % 16 == 0 && haveAvx2()) return dequantAvx2(pk, am, cb, blocksize, b, e, out, bf16);
#endif
    dequantScalar(pk, am, cb, blocksize, b, e, out, bf16);
  });
  if (n & 1) {  // the last element sits alone in the high nibble of the last byte
    const float v = cb[pk[bytes] >> 4] * am[(n - 1) / blocksize];
    out[n - 1] = bf16 ? roundBf16(v) : v;
  }
}

// dequant4bit(packed: Uint8Array, absmax: Float32Array, code: Float32Array, blocksize, n, heap, out, roundBf16):
// n dequantized values (rounded to bf16 values when asked) written as float32 at byte offset out of heap. blocksize
// must be even (blocks of whole bytes). Threaded over blocks.
Napi::Value Dequant4bit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto [packed, nPacked] = typedInput<uint8_t, napi_uint8_array>(info[0], "packed codes (a Uint8Array)");
  auto [absmax, nAbsmax] = typedInput<float, napi_float32_array>(info[1], "absmax (a Float32Array)");
  auto [code, nCode] = typedInput<float, napi_float32_array>(info[2], "a 16-value codebook (a Float32Array)");
  const int64_t blocksize = info[3].As<Napi::Number>().Int64Value();
  const int64_t n = count(info, 4);
  if (nCode != 16) throw Napi::RangeError::New(env, "dequant4bit: the codebook must hold 16 values");
  if (blocksize < 2 || blocksize % 2 != 0) throw Napi::RangeError::New(env, "dequant4bit: blocksize must be even");
  if (static_cast<int64_t>(nPacked) < (n + 1) / 2 || static_cast<int64_t>(nAbsmax) < (n + blocksize - 1) / blocksize) {
    throw Napi::RangeError::New(env, "dequant4bit: packed codes or absmax too short for n elements");
  }
  float* out = heapFloats(info, 5, 6, n, "dequant4bit");
  dequantInto(packed, absmax, code, blocksize, n, out, info[7].ToBoolean());
  return env.Undefined();
}

// recoverAbsmax(qabsmax: Uint8Array, nestedAbsmax: Float32Array, nestedCode: Float32Array, nestedBlocksize, offset,
// out: Float32Array): double quantization undone, out[i] = nestedCode[qabsmax[i]]·nestedAbsmax[i / nestedBlocksize]
// + offset, each operation in float32 (the same bits as quant/doubleQuant.ts's recoverAbsmax). Threaded.
Napi::Value RecoverAbsmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto [q, n] = typedInput<uint8_t, napi_uint8_array>(info[0], "qabsmax (a Uint8Array)");
  auto [nested, nNested] = typedInput<float, napi_float32_array>(info[1], "nested absmax (a Float32Array)");
  auto [map, nMap] = typedInput<float, napi_float32_array>(info[2], "the 256-value nested map (a Float32Array)");
  const int64_t bs = info[3].As<Napi::Number>().Int64Value();
  const float offset = info[4].As<Napi::Number>().FloatValue();
  if (!info[5].IsTypedArray() || info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) throw Napi::TypeError::New(env, "recoverAbsmax: expected the output (a Float32Array)");
  auto outArr = info[5].As<Napi::Float32Array>();
  if (nMap != 256 || bs < 1 || static_cast<int64_t>(nNested) < (static_cast<int64_t>(n) + bs - 1) / bs || outArr.ElementLength() < n) {
    throw Napi::RangeError::New(env, "recoverAbsmax: a 256-value map, a positive nested blocksize, and nested absmax and output long enough are needed");
  }
  float* out = outArr.Data();
  const uint8_t* qa = q;
  const float* na = nested;
  const float* mp = map;
  parallelFor(static_cast<int64_t>(n), [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float p = mp[qa[i]] * na[i / bs];
      out[i] = p + offset;
    }
  });
  return env.Undefined();
}

// setKernelThreads(n): threads of the element-wise kernels (default: the machine's cores). Returns the count.
Napi::Value SetKernelThreads(const Napi::CallbackInfo& info) {
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setKernelThreads: expected a positive thread count");
  loralab::setKernelThreads(n);
  return Napi::Number::New(info.Env(), loralab::kernelThreads());
}

// setSharedPool(on): run the element-wise loops on the BLAS's OpenMP pool (where it is one) or on the calling thread and
// short-lived threads; returns whether the shared pool is now in use (parallel.h).
Napi::Value SetSharedPool(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), loralab::setSharedPool(info[0].ToBoolean()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bf16ToF32", Napi::Function::New(env, Bf16ToF32));
  exports.Set("dequant4bit", Napi::Function::New(env, Dequant4bit));
  exports.Set("recoverAbsmax", Napi::Function::New(env, RecoverAbsmax));
  exports.Set("geluTanh", Napi::Function::New(env, GeluTanh));
  exports.Set("geluTanhGrad", Napi::Function::New(env, GeluTanhGrad));
  exports.Set("exp", Napi::Function::New(env, Exp));
  exports.Set("setKernelThreads", Napi::Function::New(env, SetKernelThreads));
  exports.Set("setSharedPool", Napi::Function::New(env, SetSharedPool));
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  loralab::registerGemmaLayer(env, exports);
  loralab::registerOptim(env, exports);
  return exports;
}

}  // namespace

namespace loralab {
BlasSgemm blasSgemm() { return blas.sgemm; }

// A thin product (one side 16 or less: LoRA's x·Aᵀ, (xA)·Bᵀ and their gradients) is memory-bound, and splitting it
// over threads costs more than it saves: on a 2-core machine OpenBLAS takes 88 µs for 512×256×8 on 2 threads and
// 48 µs on one. It runs on one thread. (Inside a parallel task OpenBLAS is on one thread already.)
void sgemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  bool thin = std::min({M, N, K}) <= kThinDimension && blas.setThreads && blas.getThreads;
#ifdef _OPENMP
  thin = thin && !omp_in_parallel();
#endif
  const int threadsBefore = thin ? blas.getThreads() : 0;
  if (thin && threadsBefore > 1) blas.setThreads(1);
  blas.sgemm(kRowMajor, tA ? kTrans : kNoTrans, tB ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  if (thin && threadsBefore > 1) blas.setThreads(threadsBefore);
}
void dequant4bitInto(const uint8_t* packed, const float* absmax, const float* code, int64_t blocksize, int64_t n, float* out, bool bf16) {
  dequantInto(packed, absmax, code, blocksize, n, out, bf16);
}
void dequant4bitSerial(const uint8_t* pk, const float* am, const float* cb, int64_t blocksize, int64_t n, float* out, bool bf16) {
  const int64_t bytes = n / 2;
#ifdef LORALAB_X86
  if (blocksize % 16 == 0 && haveAvx2()) dequantAvx2(pk, am, cb, blocksize, 0, bytes, out, bf16);
  else dequantScalar(pk, am, cb, blocksize, 0, bytes, out, bf16);
#else
  dequantScalar(pk, am, cb, blocksize, 0, bytes, out, bf16);
#endif
  if (n & 1) {
    const float v = cb[pk[bytes] >> 4] * am[(n - 1) / blocksize];
    out[n - 1] = bf16 ? roundBf16(v) : v;
  }
}
bool onThreadsWithSerialBlas(int t, void (*f)(int, void*), void* ctx) {
  if (t <= 1) {
    f(0, ctx);
    return false;
  }
#ifdef _OPENMP
  if (sharedPool()) {
    // inside an OpenMP region OpenBLAS runs each call on the calling thread
#pragma omp parallel num_threads(t)
    f(omp_get_thread_num(), ctx);
    return true;
  }
#endif
  if (!blas.setThreads || !blas.getThreads) {
    for (int k = 0; k < t; k++) f(k, ctx);
    return false;
  }
  const int before = blas.getThreads();
  if (before > 1) blas.setThreads(1);
  std::vector<std::thread> pool;
  for (int k = 1; k < t; k++) pool.emplace_back(f, k, ctx);
  f(0, ctx);
  for (auto& th : pool) th.join();
  if (before > 1) blas.setThreads(before);
  return true;
}
void sgemmSerial(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc) {
  blas.sgemm(kRowMajor, tA ? kTrans : kNoTrans, tB ? kTrans : kNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace loralab

NODE_API_MODULE(loralab_native, Init)

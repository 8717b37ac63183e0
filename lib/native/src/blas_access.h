// The CBLAS sgemm that loralab_native.cc found at run time (null before `open` succeeds), for the addon's other
// source files, and the 4-bit dequantize they share.
#pragma once

#include <cstdint>

namespace loralab {
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;
using BlasSgemm = void (*)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A, int lda,
                           const float* B, int ldb, float beta, float* C, int ldc);
BlasSgemm blasSgemm();
// C = alpha · op(A) · op(B) + beta · C, row-major, through the open BLAS; a thin product (a side of 16 or less) on one
// thread. Only after blasSgemm() is non-null.
void sgemm(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);
// n 4-bit codes dequantized into out, out[e] = code[nibble(e)] · absmax[e / blocksize] (bf16-rounded when asked);
// blocksize even; AVX2 where the CPU has it, threaded (loralab_native.cc).
void dequant4bitInto(const uint8_t* packed, const float* absmax, const float* code, int64_t blocksize, int64_t n, float* out, bool bf16);
// The same on the calling thread only (for a loop that already runs on every core).
void dequant4bitSerial(const uint8_t* packed, const float* absmax, const float* code, int64_t blocksize, int64_t n, float* out, bool bf16);
// f(k) for k in [0, t) on t threads at once, each of whose BLAS calls (sgemmSerial) runs on that thread alone: on the
// BLAS's OpenMP pool where it is shared (parallel.h), else on new threads with the BLAS set to one thread meanwhile.
// Where the BLAS's thread count cannot be set, f(0), …, f(t − 1) run one after another on the calling thread.
// Returns whether they ran side by side. f must not throw.
bool onThreadsWithSerialBlas(int t, void (*f)(int k, void* ctx), void* ctx);
// C = alpha · op(A) · op(B) + beta · C on the calling thread, inside onThreadsWithSerialBlas.
void sgemmSerial(bool tA, bool tB, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb, float beta, float* C, int ldc);
}  // namespace loralab

namespace Napi {
class Env;
class Object;
}  // namespace Napi

namespace loralab {
// Adds gemmaLayer and gemmaLayerFields (gemma_layer.cc) to the addon's exports.
void registerGemmaLayer(Napi::Env env, Napi::Object exports);
// Adds adamw and sumSquares (optim.cc).
void registerOptim(Napi::Env env, Napi::Object exports);
}  // namespace loralab

// The CBLAS sgemm that loralab_native.cc found at run time (null before `open` succeeds), for the addon's other
// source files.
#pragma once

namespace loralab {
constexpr int kCblasRowMajor = 101;
constexpr int kCblasNoTrans = 111;
constexpr int kCblasTrans = 112;
using BlasSgemm = void (*)(int order, int transA, int transB, int M, int N, int K, float alpha, const float* A, int lda,
                           const float* B, int ldb, float beta, float* C, int ldc);
BlasSgemm blasSgemm();
}  // namespace loralab

namespace Napi {
class Env;
class Object;
}  // namespace Napi

namespace loralab {
// Adds gemmaLayer and gemmaLayerFields (gemma_layer.cc) to the addon's exports.
void registerGemmaLayer(Napi::Env env, Napi::Object exports);
}  // namespace loralab

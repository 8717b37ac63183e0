// Float32 numerics the addon's kernels share: tanh-GELU and its derivative, bf16 rounding, and an eˣ and tanh that
// vectorize.
//
// Everything here is always_inline: GCC does not inline a function compiled for the default target into the AVX2
// clone of a loop (target_clones), and a call left in a loop keeps it scalar.
#pragma once

#include <cstdint>
#include <cstring>

namespace loralab {

#define LORALAB_INLINE __attribute__((always_inline)) inline

// tanh-approximate GELU (gelu_pytorch_tanh):  gelu(x) = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
constexpr float kGeluC = 0.7978845608028654f;
constexpr float kGeluA = 0.044715f;

template <typename Tanh>
LORALAB_INLINE float geluTanh(float x, Tanh tanh) {
  return 0.5f * x * (1.0f + tanh(kGeluC * (x + kGeluA * x * x * x)));
}

// gelu(x) and gelu'(x) = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²),  t = tanh u
template <typename Tanh>
LORALAB_INLINE void geluTanhAndGrad(float x, Tanh tanh, float* gelu, float* dgelu) {
  const float t = tanh(kGeluC * (x + kGeluA * x * x * x));
  *gelu = 0.5f * x * (1.0f + t);
  *dgelu = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kGeluC * (1.0f + 3.0f * kGeluA * x * x);
}

// float32 -> the float32 pattern of its bf16 rounding (round to nearest even; NaN -> the canonical 0x7FC0), as
// PyTorch rounds; infinities stay.
LORALAB_INLINE uint32_t roundBf16Bits(uint32_t u) {
  return (u & 0x7fffffffu) > 0x7f800000u ? 0x7fc00000u : (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
}

// One float32 value rounded to the nearest bf16 value.
LORALAB_INLINE float roundBf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  u = roundBf16Bits(u);
  std::memcpy(&v, &u, 4);
  return v;
}

// eˣ in float32 without a libm call, so that the loops over it vectorize: x = k·ln2 + r, |r| ≤ ln2/2,
// eʳ by Cephes' degree-6 polynomial (relative error about 2e-7), 2ᵏ put into the exponent bits. The argument is
// clamped to [-87.3, 88.7] (the clamps written out: std::min is not always_inline), and below -87.3 the result is
// exactly 0, where eˣ is subnormal or 0. Not the clamp's 1e-38: a softmax's masked scores divided by their sum
// would be subnormal, and every product that reads them then runs on the CPU's slow subnormal path (on Intel cores
// about 100 cycles an operation: a gemma-micro step took 240 ms instead of 92).
LORALAB_INLINE float fastExp(float x) {
  const bool underflow = x < -87.3f;
  x = underflow ? -87.3f : x;
  x = x > 88.7f ? 88.7f : x;
  const float kf = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // nearest integer (1.5·2²³ trick)
  const float r = x - kf * 0.693359375f + kf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(kf) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return underflow ? 0.0f : e * scale;
}

// tanh u = 1 − 2 / (e²ᵘ + 1)  (absolute error about 2e-7; exact ±1 in the tails)
LORALAB_INLINE float fastTanh(float u) {
  return 1.0f - 2.0f / (fastExp(2.0f * u) + 1.0f);
}

}  // namespace loralab

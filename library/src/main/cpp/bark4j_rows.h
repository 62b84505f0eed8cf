// bark4j row loops: the elementwise work around the matmuls of the native step and passes
// (LayerNorm, bias + exact GELU, residual adds, softmax, bfloat16 rounding), with AVX-512 versions
// of the FP32 ones and the portable loops they are tested against.
#ifndef BARK4J_ROWS_H
#define BARK4J_ROWS_H

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bark4j_kernels.h"

namespace bark4j {

// A GEMM operand type M: widen to / narrow from the activation dtype.
template <typename M> struct Operand;
template <> struct Operand<float> {
  static float widen(float v) { return v; }
  static float narrow(float v) { return v; }
};
template <> struct Operand<double> {
  static double widen(double v) { return v; }
  static double narrow(double v) { return v; }
};
template <> struct Operand<uint16_t> {
  static float widen(uint16_t v) { return bf16_to_f32(v); }
  static uint16_t narrow(float v) { return f32_to_bf16(v); }
};

// ---------------------------------------------------------------- row loops
// The elementwise work of a step or pass, over contiguous spans: a portable template (the
// reference, and the FP64 path) and AVX-512 versions for FP32 activations, chosen by
// isa_setting() like the kernels. The GEMM operand M is float, double or bfloat16 bits.

// dst[i] = widen(src[i]) + bias[i]
template <typename T, typename M>
inline void widen_add_portable(const M* src, const T* bias, T* dst, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Operand<M>::widen(src[i]));
    dst[i] = bias == nullptr ? v : v + bias[i];
  }
}

// x[i] += widen(product[i]) + bias[i]
template <typename T, typename M>
inline void residual_add_portable(T* x, const M* product, const T* bias, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Operand<M>::widen(product[i]));
    x[i] += bias == nullptr ? v : v + bias[i];
  }
}

template <typename T, typename M>
inline void narrow_copy_portable(const T* src, M* dst, int n) {
  for (int i = 0; i < n; i++) dst[i] = Operand<M>::narrow(src[i]);
}

// dst[i] = narrow(gelu(widen(src[i]) + bias[i])), exact (erf) GELU; src and dst may be one array
template <typename T, typename S, typename D>
inline void gelu_portable(const S* src, const T* bias, D* dst, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Operand<S>::widen(src[i]));
    if (bias != nullptr) v += bias[i];
    dst[i] = Operand<D>::narrow(static_cast<T>(0.5) * v * (static_cast<T>(1) + std::erf(v * static_cast<T>(M_SQRT1_2))));
  }
}

// LayerNorm of one row (eps 1e-5, biased variance), moments summed in double
template <typename T, typename M>
inline void norm_row_portable(const T* x, int n, const T* w, const T* b, M* y) {
  double mean = 0;
  for (int i = 0; i < n; i++) mean += x[i];
  mean /= n;
  double var = 0;
  for (int i = 0; i < n; i++) {
    double d = x[i] - mean;
    var += d * d;
  }
  var /= n;
  double inv = 1.0 / std::sqrt(var + 1e-5);
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>((x[i] - mean) * inv);
    y[i] = Operand<M>::narrow(b == nullptr ? v * w[i] : v * w[i] + b[i]);
  }
}

// 16 floats from / to GEMM operands (bfloat16: round to nearest even, NaN kept, as f32_to_bf16)
BARK4J_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
BARK4J_AVX512 inline __m512 load16(const uint16_t* p) {
  __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
BARK4J_AVX512 inline void store16(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
BARK4J_AVX512 inline void store16(uint16_t* p, __m512 v) {
  __m512i bits = _mm512_castps_si512(v);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(_mm512_mask_blend_epi32(nan, rounded, quiet)));
}

template <typename M>
BARK4J_AVX512 inline void widen_add_avx512(const M* src, const float* bias, float* dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = load16(src + i);
    store16(dst + i, bias == nullptr ? v : _mm512_add_ps(v, _mm512_loadu_ps(bias + i)));
  }
  widen_add_portable<float, M>(src + i, bias == nullptr ? nullptr : bias + i, dst + i, n - i);
}

template <typename M>
BARK4J_AVX512 inline void residual_add_avx512(float* x, const M* product, const float* bias, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = load16(product + i);
    if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + i));
    _mm512_storeu_ps(x + i, _mm512_add_ps(_mm512_loadu_ps(x + i), v));
  }
  residual_add_portable<float, M>(x + i, product + i, bias == nullptr ? nullptr : bias + i, n - i);
}

template <typename M>
BARK4J_AVX512 inline void narrow_copy_avx512(const float* src, M* dst, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) store16(dst + i, _mm512_loadu_ps(src + i));
  narrow_copy_portable<float, M>(src + i, dst + i, n - i);
}

// exp(x) for x <= 0: 2^k · p(r), r = x − k·ln2 in [−ln2/2, ln2/2], p the degree-7 Taylor
// polynomial (relative error below 2e-8 there, under FP32 rounding); underflows to 0 below −87.
BARK4J_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-88.0f));
  __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145751953125f), x);  // ln2, high bits
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.428606765330187e-06f), r);     // ln2, low bits
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, the formula libtorch's
// vectorised erf uses): erf(|x|) = 1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·exp(−x²),
// t = 1 / (1 + 0.3275911·|x|); odd in x.
BARK4J_AVX512 inline __m512 erf16(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 ax = _mm512_abs_ps(x);
  __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, one));
  __m512 poly = _mm512_set1_ps(1.061405429f);
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
  poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
  __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
  __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(poly, t), e, one);
  // copy x's sign onto y
  __m512i sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), sign));
}

template <typename S, typename D>
BARK4J_AVX512 inline void gelu_avx512(const S* src, const float* bias, D* dst, int n) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 alpha = _mm512_set1_ps(static_cast<float>(M_SQRT1_2));
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = load16(src + i);
    if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + i));
    __m512 g = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf16(_mm512_mul_ps(v, alpha))));
    store16(dst + i, g);
  }
  gelu_portable<float, S, D>(src + i, bias == nullptr ? nullptr : bias + i, dst + i, n - i);
}

template <typename M>
BARK4J_AVX512 inline void norm_row_avx512(const float* x, int n, const float* w, const float* b, M* y) {
  if (n % 16 != 0) {
    norm_row_portable<float, M>(x, n, w, b, y);
    return;
  }
  __m512d sum = _mm512_setzero_pd();
  for (int i = 0; i < n; i += 8) sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm256_loadu_ps(x + i)));
  const double mean = _mm512_reduce_add_pd(sum) / n;
  const __m512d m = _mm512_set1_pd(mean);
  __m512d sq = _mm512_setzero_pd();
  for (int i = 0; i < n; i += 8) {
    __m512d d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), m);
    sq = _mm512_fmadd_pd(d, d, sq);
  }
  const __m512d inv = _mm512_set1_pd(1.0 / std::sqrt(_mm512_reduce_add_pd(sq) / n + 1e-5));
  for (int i = 0; i < n; i += 16) {
    __m256 lo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i)), m), inv));
    __m256 hi = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8)), m), inv));
    __m512 v = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
    v = _mm512_mul_ps(v, _mm512_loadu_ps(w + i));
    if (b != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(b + i));
    store16(y + i, v);
  }
}

// Dispatch: AVX-512 for FP32 activations when in use, else the portable loop.
template <typename T, typename M>
inline void widen_add(const M* src, const T* bias, T* dst, int n) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return widen_add_avx512<M>(src, bias, dst, n);
  }
  widen_add_portable<T, M>(src, bias, dst, n);
}
template <typename T, typename M>
inline void residual_add(T* x, const M* product, const T* bias, int n) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return residual_add_avx512<M>(x, product, bias, n);
  }
  residual_add_portable<T, M>(x, product, bias, n);
}
template <typename T, typename M>
inline void narrow_copy(const T* src, M* dst, int n) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return narrow_copy_avx512<M>(src, dst, n);
  }
  narrow_copy_portable<T, M>(src, dst, n);
}
template <typename T, typename S, typename D>
inline void gelu_row(const S* src, const T* bias, D* dst, int n) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return gelu_avx512<S, D>(src, bias, dst, n);
  }
  gelu_portable<T, S, D>(src, bias, dst, n);
}
template <typename T, typename M>
inline void gelu_row(M* a, const T* bias, int n) {
  gelu_row<T, M, M>(a, bias, a, n);
}
template <typename T, typename M>
inline void norm_row(const T* x, int n, const T* w, const T* b, M* y) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return norm_row_avx512<M>(x, n, w, b, y);
  }
  norm_row_portable<T, M>(x, n, w, b, y);
}


// s[j] = softmax(s · scale)[j] in place: the attention weights of one query over n keys.
template <typename T>
inline void softmax_scaled_portable(T* s, int n, T scale) {
  T best = -INFINITY;
  for (int j = 0; j < n; j++) {
    s[j] *= scale;
    best = s[j] > best ? s[j] : best;
  }
  T sum = 0;
  for (int j = 0; j < n; j++) {
    s[j] = std::exp(s[j] - best);
    sum += s[j];
  }
  T inv = static_cast<T>(1) / sum;
  for (int j = 0; j < n; j++) s[j] *= inv;
}

BARK4J_AVX512 inline void softmax_scaled_avx512(float* s, int n, float scale) {
  const __m512 k = _mm512_set1_ps(scale);
  __m512 best = _mm512_set1_ps(-INFINITY);
  for (int j = 0; j < n; j += 16) {
    __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - j)) - 1);
    __m512 v = _mm512_mul_ps(_mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, s + j), k);
    _mm512_mask_storeu_ps(s + j, m, v);
    best = _mm512_max_ps(best, v);
  }
  const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(best));
  __m512 sum = _mm512_setzero_ps();
  for (int j = 0; j < n; j += 16) {
    __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - j)) - 1);
    __m512 e = _mm512_maskz_mov_ps(m, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), top)));
    _mm512_mask_storeu_ps(s + j, m, e);
    sum = _mm512_add_ps(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int j = 0; j < n; j += 16) {
    __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - j)) - 1);
    _mm512_mask_storeu_ps(s + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, s + j), inv));
  }
}

template <typename T>
inline void softmax_scaled(T* s, int n, T scale) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return softmax_scaled_avx512(s, n, scale);
  }
  softmax_scaled_portable<T>(s, n, scale);
}

// Whether the row loops for activation dtype T are vectorised (they then need no second thread).
template <typename T>
inline bool rows_vectorised() {
  return std::is_same<T, float>::value && isa_setting() == ISA_AVX512;
}

}  // namespace bark4j

// out (n, hidden) FP32 = rows ids[0..n) of a bfloat16 (vocab, hidden) embedding table, widened.
inline void bark4j_embed_bf16(long long table, int vocab, int hidden, const long long* ids, int n, long long out) {
  for (int i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= vocab) {
      throw std::invalid_argument("token id " + std::to_string(ids[i]) + " outside the embedding table of " +
                                  std::to_string(vocab));
    }
  }
  const uint16_t* t = reinterpret_cast<const uint16_t*>(table);
  float* y = reinterpret_cast<float*>(out);
  for (int i = 0; i < n; i++) {
    bark4j::widen_add<float, uint16_t>(t + ids[i] * hidden, nullptr, y + static_cast<int64_t>(i) * hidden, hidden);
  }
}

namespace bark4j {

// Row operations by number, on the instruction set in use, for tests against the portable loops.
enum RowOp { ROW_GELU = 0, ROW_GELU_BF16, ROW_SOFTMAX, ROW_NORM, ROW_NORM_BF16, ROW_WIDEN_ADD_BF16 };

}  // namespace bark4j

// y = op(x, w, b) over n floats: ROW_GELU y = gelu(x + b); ROW_GELU_BF16 the same rounded to
// bfloat16 and widened back; ROW_SOFTMAX y = softmax(x · w[0]); ROW_NORM y = LayerNorm(x; w, b);
// ROW_NORM_BF16 its bfloat16 rounding; ROW_WIDEN_ADD_BF16 y = bf16(x) + b. b may be null.
inline void bark4j_row_op(int op, const float* x, const float* w, const float* b, int n, float* y) {
  using namespace bark4j;
  std::vector<uint16_t> half(n > 0 ? n : 1);
  switch (op) {
    case ROW_GELU:
      std::memcpy(y, x, sizeof(float) * n);
      gelu_row<float, float>(y, b, n);
      break;
    case ROW_GELU_BF16:
      narrow_copy_portable<float, uint16_t>(x, half.data(), n);
      gelu_row<float, uint16_t>(half.data(), b, n);
      widen_add_portable<float, uint16_t>(half.data(), nullptr, y, n);
      break;
    case ROW_SOFTMAX:
      std::memcpy(y, x, sizeof(float) * n);
      softmax_scaled<float>(y, n, w[0]);
      break;
    case ROW_NORM:
      norm_row<float, float>(x, n, w, b, y);
      break;
    case ROW_NORM_BF16:
      norm_row<float, uint16_t>(x, n, w, b, half.data());
      widen_add_portable<float, uint16_t>(half.data(), nullptr, y, n);
      break;
    case ROW_WIDEN_ADD_BF16:
      narrow_copy<float, uint16_t>(x, half.data(), n);
      widen_add<float, uint16_t>(half.data(), b, y, n);
      break;
    default:
      throw std::invalid_argument("unknown row op " + std::to_string(op));
  }
}

#endif  // BARK4J_ROWS_H

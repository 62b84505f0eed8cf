// bark4j native full pass: one call runs a whole GPT forward over every position of a window
// (the semantic prompt, each coarse re-prefill, each fine pass): pre-LayerNorm blocks with the
// KV write into the caller's cache (causal models), libtorch's GEMM for the matmuls (its bfloat16
// GEMM on the plan's bfloat16 weights), libtorch's fused SDPA for attention, and the final norm.
// Norms, bias adds, GELU, the head split and the residual stream are loops here, so Java makes no
// tensors per layer and, with bfloat16 weights, activations go into the GEMMs as bfloat16 without
// a separate cast: LayerNorm and GELU write bfloat16 directly.
//
// Numerics are those of the Java Gpt: the residual stream, norms, biases, attention and the
// result stay in the activation dtype; a bfloat16 GEMM rounds its inputs and product to bfloat16,
// exactly as Bf16Matmuls' GEMM path does.
//
// Scratch tensors are made with libtorch's allocator, and every tensor made here is handed back
// in `created` for the caller to free with DJL's deleter (this bridge has no libtorch headers, so
// it cannot drop a reference itself).
#ifndef BARK4J_GPT_PASS_H
#define BARK4J_GPT_PASS_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "bark4j_gpt_step.h"
#include "bark4j_kernels.h"
#include "bark4j_native_ops.h"

namespace bark4j {

// Tensors a pass makes besides one SDPA result per layer; the caller's `created` holds both.
constexpr int PASS_SCRATCH = 8;

// Element type of the GEMM operands: float, double, or uint16_t for bfloat16 bits.
template <typename M> struct Gemm;
template <> struct Gemm<float> {
  static constexpr c10::ScalarType type = c10::ScalarType::Float;
  static float* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<float>(); }
  static float widen(float v) { return v; }
  static float narrow(float v) { return v; }
};
template <> struct Gemm<double> {
  static constexpr c10::ScalarType type = c10::ScalarType::Double;
  static double* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<double>(); }
  static double widen(double v) { return v; }
  static double narrow(double v) { return v; }
};
template <> struct Gemm<uint16_t> {
  static constexpr c10::ScalarType type = c10::ScalarType::BFloat16;
  static uint16_t* data(const at::Tensor& t) {
    return reinterpret_cast<uint16_t*>(reinterpret_cast<const at::TensorBase&>(t).data_ptr<c10::BFloat16>());
  }
  static float widen(uint16_t v) { return bf16_to_f32(v); }
  static uint16_t narrow(float v) { return f32_to_bf16(v); }
};

template <typename T> struct Act;
template <> struct Act<float> {
  static constexpr c10::ScalarType type = c10::ScalarType::Float;
  static float* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<float>(); }
};
template <> struct Act<double> {
  static constexpr c10::ScalarType type = c10::ScalarType::Double;
  static double* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<double>(); }
};

// Tensors made during a pass, each recorded (as a heap handle the caller frees) before use.
class Made {
 public:
  Made(long long* slots, int count) : slots_(slots), count_(count) {
    for (int i = 0; i < count; i++) slots_[i] = 0;
  }
  at::Tensor& keep(const at::Tensor& owned) {
    if (used_ >= count_) {
      throw std::logic_error("gpt pass: more tensors than the caller has slots for");
    }
    slots_[used_] = toHandle(owned);
    return *reinterpret_cast<at::Tensor*>(slots_[used_++]);
  }
  at::Tensor& empty(int64_t a, int64_t b, c10::ScalarType dtype) {
    const c10::SymInt sizes[2] = {c10::SymInt(a), c10::SymInt(b)};
    return keep(at::_ops::empty_memory_format::call(c10::ArrayRef<c10::SymInt>(sizes, 2), dtype, std::nullopt,
                                                    std::nullopt, std::nullopt, std::nullopt));
  }
  at::Tensor& empty(int64_t a, int64_t b, int64_t c, int64_t d, c10::ScalarType dtype) {
    const c10::SymInt sizes[4] = {c10::SymInt(a), c10::SymInt(b), c10::SymInt(c), c10::SymInt(d)};
    return keep(at::_ops::empty_memory_format::call(c10::ArrayRef<c10::SymInt>(sizes, 4), dtype, std::nullopt,
                                                    std::nullopt, std::nullopt, std::nullopt));
  }

 private:
  long long* slots_;
  int count_;
  int used_ = 0;
};


// ---------------------------------------------------------------- row loops
// The elementwise work of a pass, over contiguous spans: a portable template (the reference, and
// the FP64 path) and AVX-512 versions for FP32 activations, chosen by isa_setting() like the
// kernels. The GEMM operand M is float, double or bfloat16 bits.

// dst[i] = widen(src[i]) + bias[i]
template <typename T, typename M>
inline void widen_add_portable(const M* src, const T* bias, T* dst, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Gemm<M>::widen(src[i]));
    dst[i] = bias == nullptr ? v : v + bias[i];
  }
}

// x[i] += widen(product[i]) + bias[i]
template <typename T, typename M>
inline void residual_add_portable(T* x, const M* product, const T* bias, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Gemm<M>::widen(product[i]));
    x[i] += bias == nullptr ? v : v + bias[i];
  }
}

template <typename T, typename M>
inline void narrow_copy_portable(const T* src, M* dst, int n) {
  for (int i = 0; i < n; i++) dst[i] = Gemm<M>::narrow(src[i]);
}

// a[i] = narrow(gelu(widen(a[i]) + bias[i])), exact (erf) GELU
template <typename T, typename M>
inline void gelu_portable(M* a, const T* bias, int n) {
  for (int i = 0; i < n; i++) {
    T v = static_cast<T>(Gemm<M>::widen(a[i]));
    if (bias != nullptr) v += bias[i];
    a[i] = Gemm<M>::narrow(static_cast<T>(0.5) * v * (static_cast<T>(1) + std::erf(v * static_cast<T>(M_SQRT1_2))));
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
    y[i] = Gemm<M>::narrow(b == nullptr ? v * w[i] : v * w[i] + b[i]);
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

template <typename M>
BARK4J_AVX512 inline void gelu_avx512(M* a, const float* bias, int n) {
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 alpha = _mm512_set1_ps(static_cast<float>(M_SQRT1_2));
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = load16(a + i);
    if (bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + i));
    __m512 g = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf16(_mm512_mul_ps(v, alpha))));
    store16(a + i, g);
  }
  gelu_portable<float, M>(a + i, bias == nullptr ? nullptr : bias + i, n - i);
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
template <typename T, typename M>
inline void gelu_row(M* a, const T* bias, int n) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return gelu_avx512<M>(a, bias, n);
  }
  gelu_portable<T, M>(a, bias, n);
}
template <typename T, typename M>
inline void norm_row(const T* x, int n, const T* w, const T* b, M* y) {
  if constexpr (std::is_same<T, float>::value) {
    if (isa_setting() == ISA_AVX512) return norm_row_avx512<M>(x, n, w, b, y);
  }
  norm_row_portable<T, M>(x, n, w, b, y);
}

// y (positions, out) = x (positions, in) · Wᵀ into a preallocated y: libtorch's GEMM.
inline void gemm(const at::Tensor& x, const at::Tensor& weight, at::Tensor& y) {
  std::optional<at::Tensor> noBias;
  at::_ops::linear_out::call(x, weight, noBias, y);
}

// LayerNorm of `count` rows of x written as GEMM operands.
template <typename T, typename M>
inline void norm_rows(const T* x, int64_t count, int n, const T* w, const T* b, M* y) {
  parallel_range(count, 4, count * n * 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) norm_row<T, M>(x + r * n, n, w, b, y + r * n);
  });
}

// x += product + bias, row by row (product: GEMM output, `positions` rows of n).
template <typename T, typename M>
inline void add_residual(T* x, const M* product, const T* bias, int64_t positions, int n) {
  parallel_range(positions, 16, positions * n * 4, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; p++) residual_add<T, M>(x + p * n, product + p * n, bias, n);
  });
}

// One full pass. x: (rows, len, H) embeddings plus positions, overwritten by the residual
// stream. kv: null, or every layer's (rows, heads, capacity, hd) cache, filled at 0..len-1.
// out: (rows, H) final-normed last positions when lastOnly, else (rows, len, H).
template <typename T, typename M>
inline void gpt_pass(const GptPlan& p, T* x, int rows, int len, bool causal, T* const* kv, int capacity, T* out,
                     bool lastOnly, Made& made) {
  const int H = p.hidden;
  const int heads = p.heads;
  const int hd = H / heads;
  const int64_t n = static_cast<int64_t>(rows) * len;
  at::Tensor& normedT = made.empty(n, H, Gemm<M>::type);       // LayerNorm out, attention out
  at::Tensor& wideT = made.empty(n, 4 * H, Gemm<M>::type);     // MLP in product, GELU out
  at::Tensor& qkvT = made.empty(n, 3 * H, Gemm<M>::type);
  at::Tensor& projT = made.empty(n, H, Gemm<M>::type);         // attention out / MLP out products
  const at::Tensor& qT = made.empty(rows, heads, len, hd, Act<T>::type);
  const at::Tensor& kT = made.empty(rows, heads, len, hd, Act<T>::type);
  const at::Tensor& vT = made.empty(rows, heads, len, hd, Act<T>::type);
  at::Tensor& yT = made.empty(rows, heads, len, hd, Act<T>::type);
  M* normed = Gemm<M>::data(normedT);
  M* wide = Gemm<M>::data(wideT);
  M* qkv = Gemm<M>::data(qkvT);
  M* proj = Gemm<M>::data(projT);
  T* q = Act<T>::data(qT);
  T* k = Act<T>::data(kT);
  T* v = Act<T>::data(vT);
  T* y = Act<T>::data(yT);
  for (int l = 0; l < p.layers; l++) {
    const GptLayer& w = p.layer[l];
    norm_rows<T, M>(x, n, H, static_cast<const T*>(w.ln1w), static_cast<const T*>(w.ln1b), normed);
    gemm(normedT, *w.qkvTensor, qkvT);
    // q, k, v (rows, heads, len, hd) with their biases, for SDPA
    const T* qkvB = static_cast<const T*>(w.qkvB);
    parallel_range(n, 16, n * 3 * H * 2, [&](int64_t p0, int64_t p1) {
      for (int64_t pos = p0; pos < p1; pos++) {
        const int64_t r = pos / len;
        const int64_t t = pos % len;
        const M* src = qkv + pos * 3 * H;
        for (int part = 0; part < 3; part++) {
          T* dst = part == 0 ? q : part == 1 ? k : v;
          for (int hh = 0; hh < heads; hh++) {
            const int c = part * H + hh * hd;
            widen_add<T, M>(src + c, qkvB == nullptr ? nullptr : qkvB + c, dst + ((r * heads + hh) * len + t) * hd, hd);
          }
        }
      }
    });
    if (kv != nullptr) {
      for (int64_t rh = 0; rh < static_cast<int64_t>(rows) * heads; rh++) {
        std::memcpy(kv[2 * l] + rh * capacity * hd, k + rh * len * hd, sizeof(T) * len * hd);
        std::memcpy(kv[2 * l + 1] + rh * capacity * hd, v + rh * len * hd, sizeof(T) * len * hd);
      }
    }
    std::optional<at::Tensor> noMask;
    const at::Tensor& attended = made.keep(at::_ops::scaled_dot_product_attention::call(
        qT, kT, vT, noMask, 0.0, causal, std::nullopt, false));
    // SDPA may hand back a strided view; copy_ lays it out as (rows, heads, len, hd)
    at::_ops::copy_::call(yT, attended, false);
    parallel_range(n, 16, n * H * 2, [&](int64_t p0, int64_t p1) {
      for (int64_t pos = p0; pos < p1; pos++) {
        const int64_t r = pos / len;
        const int64_t t = pos % len;
        M* d = normed + pos * H;
        for (int hh = 0; hh < heads; hh++) {
          narrow_copy<T, M>(y + ((r * heads + hh) * len + t) * hd, d + hh * hd, hd);
        }
      }
    });
    gemm(normedT, *w.outTensor, projT);
    add_residual<T, M>(x, proj, static_cast<const T*>(w.outB), n, H);
    norm_rows<T, M>(x, n, H, static_cast<const T*>(w.ln2w), static_cast<const T*>(w.ln2b), normed);
    gemm(normedT, *w.inTensor, wideT);
    const T* inB = static_cast<const T*>(w.inB);
    const int64_t width = 4 * static_cast<int64_t>(H);
    parallel_range(n, 4, n * width * 16, [&](int64_t p0, int64_t p1) {
      for (int64_t pos = p0; pos < p1; pos++) gelu_row<T, M>(wide + pos * width, inB, static_cast<int>(width));
    });
    gemm(wideT, *w.mlpOutTensor, projT);
    add_residual<T, M>(x, proj, static_cast<const T*>(w.mlpOutB), n, H);
  }
  const T* fw = static_cast<const T*>(p.finalW);
  const T* fb = static_cast<const T*>(p.finalB);
  if (lastOnly) {
    for (int r = 0; r < rows; r++) {
      layer_norm<T>(x + (static_cast<int64_t>(r) * len + len - 1) * H, 1, H, fw, fb, out + static_cast<int64_t>(r) * H);
    }
  } else {
    norm_rows<T, T>(x, n, H, fw, fb, out);
  }
}

}  // namespace bark4j

// x, out: DJL tensor handles (see gpt_pass), contiguous, of the plan's activation dtype.
// kvHandles: null, or each layer's keys and values as for bark4j_gpt_step, empty until now.
// created: PASS_SCRATCH + layers slots, filled with heap handles of the tensors made here (0 for
// none), which the caller frees, also when this throws.
inline void bark4j_gpt_pass(long long plan, long long xHandle, int rows, int len, bool causal,
                            const long long* kvHandles, int capacity, long long outHandle, bool lastOnly,
                            long long* created) {
  using namespace bark4j;
  const GptPlan& p = *reinterpret_cast<const GptPlan*>(plan);
  Made made(created, PASS_SCRATCH + p.layers);
  if (!p.passes) {
    throw std::invalid_argument("gpt pass: this plan has no GEMM weight tensors");
  }
  if (rows < 1 || len < 1 || len > p.block || (kvHandles != nullptr && (!causal || len > capacity))) {
    throw std::invalid_argument("gpt pass: rows " + std::to_string(rows) + ", length " + std::to_string(len) +
                                ", capacity " + std::to_string(capacity) + " out of range");
  }
  void* x = bark4j_data_ptr(xHandle, p.isDouble);
  void* out = bark4j_data_ptr(outHandle, p.isDouble);
  std::vector<void*> kv;
  if (kvHandles != nullptr) {
    kv.resize(2 * p.layers);
    for (int i = 0; i < 2 * p.layers; i++) kv[i] = bark4j_data_ptr(kvHandles[i], p.isDouble);
  }
  if (p.isDouble) {
    gpt_pass<double, double>(p, static_cast<double*>(x), rows, len, causal,
                             kvHandles == nullptr ? nullptr : reinterpret_cast<double* const*>(kv.data()), capacity,
                             static_cast<double*>(out), lastOnly, made);
  } else if (p.wtype == WEIGHT_BF16) {
    gpt_pass<float, uint16_t>(p, static_cast<float*>(x), rows, len, causal,
                              kvHandles == nullptr ? nullptr : reinterpret_cast<float* const*>(kv.data()), capacity,
                              static_cast<float*>(out), lastOnly, made);
  } else {
    gpt_pass<float, float>(p, static_cast<float*>(x), rows, len, causal,
                           kvHandles == nullptr ? nullptr : reinterpret_cast<float* const*>(kv.data()), capacity,
                           static_cast<float*>(out), lastOnly, made);
  }
}

#endif  // BARK4J_GPT_PASS_H

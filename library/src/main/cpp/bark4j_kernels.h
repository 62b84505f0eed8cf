// bark4j small-batch matmul kernels: y = x · Wᵀ + b for 1..16 rows of x (decode steps), W in
// PyTorch's (out, in) layout read in place, as FP32, BF16 (FP32 accumulation) or FP64.
//
// Decode steps are memory bound: every weight is read once per step, so the kernels stream each
// weight row once and reuse it for all rows of x (at most 4 rows at a time in registers; the
// weight block stays in L1/L2 for the next 4). Work is split over output features between the
// threads of libtorch's own OpenMP pool (see bark4j::pool_threads): libtorch 2.7.1 ships its
// libgomp with the soname libgomp.so.1, so the bridge's DT_NEEDED libgomp.so.1 binds to that
// already-loaded copy and no second pool exists (a test checks /proc/self/maps).
//
// Instruction sets are chosen at run time: AVX-512 (F, BW, VL), else AVX2 + FMA, else a portable
// loop. Every path sums in the order "vector lanes, then lanes reduced", so results differ from
// libtorch's only by FP32 rounding of the summation order.
#ifndef BARK4J_KERNELS_H
#define BARK4J_KERNELS_H

#include <dlfcn.h>
#include <malloc.h>
#include <immintrin.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

// GCC 12's AVX-512 header seeds _mm512_reduce_add_ps with _mm512_undefined_ps() and then warns,
// wherever it is inlined, that the value is uninitialized; the lanes it reads are all set.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace at {
int get_num_threads();  // libtorch's intra-op thread count for the calling thread
}

namespace bark4j {

enum WeightType { WEIGHT_F32 = 0, WEIGHT_BF16 = 1, WEIGHT_F64 = 2 };
enum Isa { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Round to nearest even, as torch's float -> bfloat16 conversion does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  }
  uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline int detect_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return ISA_AVX512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return ISA_AVX2;
  }
  return ISA_PORTABLE;
}

// The instruction set in use; tests and benchmarks may force a lower one (never a higher one).
inline int& isa_setting() {
  static int isa = detect_isa();
  return isa;
}

inline int set_isa(int wanted) {
  int best = detect_isa();
  isa_setting() = wanted < best ? wanted : best;
  return isa_setting();
}

inline int pool_threads() {
  int n = at::get_num_threads();
  return n < 1 ? 1 : n;
}

// Runs fn(begin, end) over [0, n) split into contiguous parts of `grain`-aligned size, one per
// thread of the pool; one thread when the work is small.
template <typename F>
inline void parallel_range(int64_t n, int64_t grain, int64_t work, const F& fn) {
  int threads = pool_threads();
  // below ~64k multiply-adds a fork costs more than it saves
  if (threads <= 1 || n <= grain || work < (1 << 16) || omp_in_parallel()) {
    fn(static_cast<int64_t>(0), n);
    return;
  }
  int64_t blocks = (n + grain - 1) / grain;
  if (blocks < threads) {
    threads = static_cast<int>(blocks);
  }
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    int nt = omp_get_num_threads();
    int64_t first = blocks * t / nt;
    int64_t last = blocks * (t + 1) / nt;
    int64_t begin = first * grain;
    int64_t end = last * grain < n ? last * grain : n;
    if (begin < end) {
      fn(begin, end);
    }
  }
}

// ---------------------------------------------------------------- portable

template <typename X, typename W>
inline X load_weight(const W* w, int64_t i) {
  return static_cast<X>(w[i]);
}

template <>
inline float load_weight<float, uint16_t>(const uint16_t* w, int64_t i) {
  return bf16_to_f32(w[i]);
}

// y[r, o] for o in [o0, o1): four partial sums per dot product, then summed pairwise.
template <typename X, typename W>
inline void rows_portable(const X* x, int rows, int in, const W* w, const X* bias, X* y, int64_t ldy,
                          int64_t o0, int64_t o1) {
  for (int64_t o = o0; o < o1; o++) {
    const W* wr = w + o * in;
    for (int r = 0; r < rows; r++) {
      const X* xr = x + static_cast<int64_t>(r) * in;
      X s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int k = 0;
      for (; k + 4 <= in; k += 4) {
        s0 += xr[k] * load_weight<X, W>(wr, k);
        s1 += xr[k + 1] * load_weight<X, W>(wr, k + 1);
        s2 += xr[k + 2] * load_weight<X, W>(wr, k + 2);
        s3 += xr[k + 3] * load_weight<X, W>(wr, k + 3);
      }
      for (; k < in; k++) {
        s0 += xr[k] * load_weight<X, W>(wr, k);
      }
      X s = (s0 + s1) + (s2 + s3);
      y[r * ldy + o] = bias == nullptr ? s : s + bias[o];
    }
  }
}

// ---------------------------------------------------------------- blocked driver

// y[r, o] for o in [o0, o1) in blocks of 4 outputs x up to 4 rows; block(nr, x, w, nout, out)
// computes one block's raw dot products into out[j * 4 + r] with one instruction set.
template <typename W, typename Block>
inline void rows_blocked(const float* x, int rows, int in, const W* w, const float* bias, float* y, int64_t ldy,
                         int64_t o0, int64_t o1, Block block) {
  float out[16];
  for (int64_t o = o0; o < o1; o += 4) {
    int nout = o1 - o < 4 ? static_cast<int>(o1 - o) : 4;
    const W* wo = w + o * in;
    for (int r0 = 0; r0 < rows; r0 += 4) {
      int nr = rows - r0 < 4 ? rows - r0 : 4;
      block(nr, x + static_cast<int64_t>(r0) * in, wo, nout, out);
      for (int j = 0; j < nout; j++) {
        float b = bias == nullptr ? 0.0f : bias[o + j];
        for (int r = 0; r < nr; r++) {
          y[(r0 + r) * ldy + o + j] = out[j * 4 + r] + b;
        }
      }
    }
  }
}

// ---------------------------------------------------------------- AVX-512

#define BARK4J_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define BARK4J_AVX2 __attribute__((target("avx2,fma")))
// AVX-512 with the BF16 dot products (vdpbf16ps): the passes' bfloat16 GEMM and attention
#define BARK4J_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))

inline bool cpu_has_avx512_bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}

BARK4J_AVX512 inline __m512 load16_f32(const float* p, __mmask16 m) {
  return _mm512_maskz_loadu_ps(m, p);
}

BARK4J_AVX512 inline __m512 load16_bf16(const uint16_t* p, __mmask16 m) {
  __m256i raw = _mm256_maskz_loadu_epi16(m, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
}

BARK4J_AVX512 inline __m512 load16(const float* p, __mmask16 m) { return load16_f32(p, m); }
BARK4J_AVX512 inline __m512 load16(const uint16_t* p, __mmask16 m) { return load16_bf16(p, m); }

// Four output features (O = 4, fewer at the edge) times R rows of x, R in 1..4. The sixteen
// accumulators are named variables (rows beyond R are dead code): kept in an array, GCC leaves
// them in memory and stores all of them on every iteration, which halves the one-row speed. The
// loop runs unmasked; one masked iteration takes the tail.
#define BARK4J_ACC_ROW(r)                                                           \
  __m512 a0##r = _mm512_setzero_ps(), a1##r = _mm512_setzero_ps(),                 \
         a2##r = _mm512_setzero_ps(), a3##r = _mm512_setzero_ps();
#define BARK4J_FMA_ROW(r, m)                                                        \
  if (R > r) {                                                                      \
    __m512 xv = load16_f32(x + static_cast<int64_t>(r) * in + k, m);                \
    a0##r = _mm512_fmadd_ps(xv, wv0, a0##r);                                        \
    a1##r = _mm512_fmadd_ps(xv, wv1, a1##r);                                        \
    a2##r = _mm512_fmadd_ps(xv, wv2, a2##r);                                        \
    a3##r = _mm512_fmadd_ps(xv, wv3, a3##r);                                        \
  }
#define BARK4J_FMA_SLICE(m)                                                         \
  {                                                                                 \
    __m512 wv0 = load16(w0 + k, m), wv1 = load16(w1 + k, m);                        \
    __m512 wv2 = load16(w2 + k, m), wv3 = load16(w3 + k, m);                        \
    BARK4J_FMA_ROW(0, m) BARK4J_FMA_ROW(1, m) BARK4J_FMA_ROW(2, m) BARK4J_FMA_ROW(3, m) \
  }
#define BARK4J_SUM_ROW(r)                                                           \
  if (R > r) {                                                                      \
    sums[0][r] = _mm512_reduce_add_ps(a0##r);                                       \
    sums[1][r] = _mm512_reduce_add_ps(a1##r);                                       \
    sums[2][r] = _mm512_reduce_add_ps(a2##r);                                       \
    sums[3][r] = _mm512_reduce_add_ps(a3##r);                                       \
  }

template <int R, typename W>
BARK4J_AVX512 inline void block_avx512(const float* x, int in, const W* w, int nout, float* out) {
  BARK4J_ACC_ROW(0) BARK4J_ACC_ROW(1) BARK4J_ACC_ROW(2) BARK4J_ACC_ROW(3)
  const W* w0 = w;
  const W* w1 = w + (nout > 1 ? in : 0);
  const W* w2 = w + (nout > 2 ? 2 * in : 0);
  const W* w3 = w + (nout > 3 ? 3 * in : 0);
  const __mmask16 all = static_cast<__mmask16>(0xffff);
  int k = 0;
  for (; k + 16 <= in; k += 16) {
    BARK4J_FMA_SLICE(all)
  }
  if (k < in) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (in - k)) - 1u);
    BARK4J_FMA_SLICE(tail)
  }
  float sums[4][4];
  BARK4J_SUM_ROW(0) BARK4J_SUM_ROW(1) BARK4J_SUM_ROW(2) BARK4J_SUM_ROW(3)
  for (int j = 0; j < nout; j++) {
    for (int r = 0; r < R; r++) {
      out[j * 4 + r] = sums[j][r];
    }
  }
}
#undef BARK4J_ACC_ROW
#undef BARK4J_FMA_ROW
#undef BARK4J_FMA_SLICE
#undef BARK4J_SUM_ROW

template <typename W>
BARK4J_AVX512 inline void block_avx512_rows(int nr, const float* x, int in, const W* w, int nout, float* out) {
  switch (nr) {
    case 1: block_avx512<1, W>(x, in, w, nout, out); break;
    case 2: block_avx512<2, W>(x, in, w, nout, out); break;
    case 3: block_avx512<3, W>(x, in, w, nout, out); break;
    default: block_avx512<4, W>(x, in, w, nout, out); break;
  }
}

// dst[kk * ldd + j] = src[j * lds + kk] for 16 rows j and 16 columns kk: a 16 x 16 transpose in
// registers (pairs, then quads, then 128-bit lanes twice), about twice as fast as scalar copies.
BARK4J_AVX512 inline void transpose_16x16(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m512 r[16], t[16];
  for (int j = 0; j < 16; j++) r[j] = _mm512_loadu_ps(src + j * lds);
  for (int j = 0; j < 16; j += 2) {
    t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
  }
  for (int j = 0; j < 16; j += 4) {
    r[j] = _mm512_shuffle_ps(t[j], t[j + 2], 0x44);
    r[j + 1] = _mm512_shuffle_ps(t[j], t[j + 2], 0xEE);
    r[j + 2] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0x44);
    r[j + 3] = _mm512_shuffle_ps(t[j + 1], t[j + 3], 0xEE);
  }
  for (int j = 0; j < 8; j++) {
    const int a = (j / 4) * 8 + j % 4;
    t[2 * j] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0x88);
    t[2 * j + 1] = _mm512_shuffle_f32x4(r[a], r[a + 4], 0xDD);
  }
  for (int j = 0; j < 4; j++) {
    _mm512_storeu_ps(dst + j * ldd, _mm512_shuffle_f32x4(t[2 * j], t[2 * j + 8], 0x88));
    _mm512_storeu_ps(dst + (j + 8) * ldd, _mm512_shuffle_f32x4(t[2 * j], t[2 * j + 8], 0xDD));
    _mm512_storeu_ps(dst + (j + 4) * ldd, _mm512_shuffle_f32x4(t[2 * j + 1], t[2 * j + 9], 0x88));
    _mm512_storeu_ps(dst + (j + 12) * ldd, _mm512_shuffle_f32x4(t[2 * j + 1], t[2 * j + 9], 0xDD));
  }
}

// ---------------------------------------------------------------- AVX2

BARK4J_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
BARK4J_AVX2 inline __m256 load8(const uint16_t* p) {
  __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(raw), 16));
}

BARK4J_AVX2 inline float hsum8(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v);
  __m128 hi = _mm256_extractf128_ps(v, 1);
  lo = _mm_add_ps(lo, hi);
  __m128 shuf = _mm_movehdup_ps(lo);
  __m128 sums = _mm_add_ps(lo, shuf);
  shuf = _mm_movehl_ps(shuf, sums);
  sums = _mm_add_ss(sums, shuf);
  return _mm_cvtss_f32(sums);
}

template <int R, typename W>
BARK4J_AVX2 inline void block_avx2(const float* x, int in, const W* w, int nout, float* out) {
  __m256 acc[4][R];
  for (int j = 0; j < 4; j++) {
    for (int r = 0; r < R; r++) {
      acc[j][r] = _mm256_setzero_ps();
    }
  }
  const W* wj[4] = {w, w + (nout > 1 ? in : 0), w + (nout > 2 ? 2 * in : 0),
                    w + (nout > 3 ? 3 * in : 0)};
  int k = 0;
  for (; k + 8 <= in; k += 8) {
    __m256 wv0 = load8(wj[0] + k);
    __m256 wv1 = load8(wj[1] + k);
    __m256 wv2 = load8(wj[2] + k);
    __m256 wv3 = load8(wj[3] + k);
    for (int r = 0; r < R; r++) {
      __m256 xv = _mm256_loadu_ps(x + static_cast<int64_t>(r) * in + k);
      acc[0][r] = _mm256_fmadd_ps(xv, wv0, acc[0][r]);
      acc[1][r] = _mm256_fmadd_ps(xv, wv1, acc[1][r]);
      acc[2][r] = _mm256_fmadd_ps(xv, wv2, acc[2][r]);
      acc[3][r] = _mm256_fmadd_ps(xv, wv3, acc[3][r]);
    }
  }
  for (int j = 0; j < nout; j++) {
    for (int r = 0; r < R; r++) {
      float s = hsum8(acc[j][r]);
      const float* xr = x + static_cast<int64_t>(r) * in;
      for (int kk = k; kk < in; kk++) {
        s += xr[kk] * load_weight<float, W>(wj[j], kk);
      }
      out[j * 4 + r] = s;
    }
  }
}

template <typename W>
BARK4J_AVX2 inline void block_avx2_rows(int nr, const float* x, int in, const W* w, int nout, float* out) {
  switch (nr) {
    case 1: block_avx2<1, W>(x, in, w, nout, out); break;
    case 2: block_avx2<2, W>(x, in, w, nout, out); break;
    case 3: block_avx2<3, W>(x, in, w, nout, out); break;
    default: block_avx2<4, W>(x, in, w, nout, out); break;
  }
}

// ---------------------------------------------------------------- one row (decode steps)

// With a single row of x there is nothing to reuse a weight for, so the one-row kernels read W in
// memory order, one weight row after the other: a single sequential stream per thread, which the
// hardware prefetcher follows better than the four interleaved rows of the blocked kernel (about
// 1.4x on a bark-small step). Four accumulators hide the FMA latency.

// Software prefetch distance for FP32 weights: 1 KB ahead measured best on Zen 4 (8-9 ms vs 11 ms
// without for a bark-small step's 371 MB); for BF16 weights it measured slower, so none.
constexpr int PREFETCH_F32 = 256;

BARK4J_AVX512 inline void prefetch_ahead(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p + PREFETCH_F32), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + PREFETCH_F32 + 16), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + PREFETCH_F32 + 32), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(p + PREFETCH_F32 + 48), _MM_HINT_T0);
}
BARK4J_AVX512 inline void prefetch_ahead(const uint16_t*) {}

template <typename W>
BARK4J_AVX512 inline void row1_avx512(const float* x, int in, const W* w, const float* bias, float* y, int64_t o0,
                                      int64_t o1) {
  const __mmask16 all = static_cast<__mmask16>(0xffff);
  for (int64_t o = o0; o < o1; o++) {
    const W* wr = w + o * in;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int k = 0;
    for (; k + 64 <= in; k += 64) {
      prefetch_ahead(wr + k);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16(wr + k, all), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), load16(wr + k + 16, all), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 32), load16(wr + k + 32, all), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 48), load16(wr + k + 48, all), a3);
    }
    for (; k < in; k += 16) {
      __mmask16 m = in - k >= 16 ? all : static_cast<__mmask16>((1u << (in - k)) - 1u);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), load16(wr + k, m), a0);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    y[o] = bias == nullptr ? s : s + bias[o];
  }
}

template <typename W>
BARK4J_AVX2 inline void row1_avx2(const float* x, int in, const W* w, const float* bias, float* y, int64_t o0,
                                  int64_t o1) {
  for (int64_t o = o0; o < o1; o++) {
    const W* wr = w + o * in;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int k = 0;
    for (; k + 32 <= in; k += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8(wr + k), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), load8(wr + k + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), load8(wr + k + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), load8(wr + k + 24), a3);
    }
    for (; k + 8 <= in; k += 8) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8(wr + k), a0);
    }
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < in; k++) {
      s += x[k] * load_weight<float, W>(wr, k);
    }
    y[o] = bias == nullptr ? s : s + bias[o];
  }
}

// y (n) = sum over j < count of p[j] * v[j * n], for attention's weighted sum of values.
// 16 values (masked) widened to FP32: float, or bfloat16 bits (a KV cache in bfloat16).
BARK4J_AVX512 inline __m512 load16_masked(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
BARK4J_AVX512 inline __m512 load16_masked(const uint16_t* p, __mmask16 m) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

template <typename V>
BARK4J_AVX512 inline void weighted_sum_avx512(const float* p, const V* v, int count, int n, float* y) {
  for (int d = 0; d < n; d += 64) {
    int left = n - d;
    __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1u);
    __mmask16 m1 = left >= 32 ? 0xffff : left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1u);
    __mmask16 m2 = left >= 48 ? 0xffff : left <= 32 ? 0 : static_cast<__mmask16>((1u << (left - 32)) - 1u);
    __mmask16 m3 = left >= 64 ? 0xffff : left <= 48 ? 0 : static_cast<__mmask16>((1u << (left - 48)) - 1u);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    for (int j = 0; j < count; j++) {
      const V* vj = v + static_cast<int64_t>(j) * n + d;
      __m512 pj = _mm512_set1_ps(p[j]);
      a0 = _mm512_fmadd_ps(pj, load16_masked(vj, m0), a0);
      a1 = _mm512_fmadd_ps(pj, load16_masked(vj + 16, m1), a1);
      a2 = _mm512_fmadd_ps(pj, load16_masked(vj + 32, m2), a2);
      a3 = _mm512_fmadd_ps(pj, load16_masked(vj + 48, m3), a3);
    }
    _mm512_mask_storeu_ps(y + d, m0, a0);
    _mm512_mask_storeu_ps(y + d + 16, m1, a1);
    _mm512_mask_storeu_ps(y + d + 32, m2, a2);
    _mm512_mask_storeu_ps(y + d + 48, m3, a3);
  }
}

template <typename T, typename V>
inline void weighted_sum_portable(const T* p, const V* v, int count, int n, T* y) {
  for (int d = 0; d < n; d++) y[d] = 0;
  for (int j = 0; j < count; j++) {
    const V* vj = v + static_cast<int64_t>(j) * n;
    for (int d = 0; d < n; d++) y[d] += p[j] * load_weight<T, V>(vj, d);
  }
}

// y = Σ_j p[j] · v_j over `count` rows of n values (FP32, or a bfloat16 cache's bits).
template <typename V>
inline void weighted_sum(const float* p, const V* v, int count, int n, float* y) {
  if (isa_setting() == ISA_AVX512) {
    weighted_sum_avx512<V>(p, v, count, n, y);
  } else {
    weighted_sum_portable<float, V>(p, v, count, n, y);
  }
}

inline void weighted_sum(const double* p, const double* v, int count, int n, double* y) {
  weighted_sum_portable<double, double>(p, v, count, n, y);
}

// ---------------------------------------------------------------- entry points

// Serial part [o0, o1) of y = x · Wᵀ + b on 32-bit activations.
template <typename W>
inline void linear_part_f32(const float* x, int rows, int in, const W* w, const float* bias, float* y,
                            int64_t ldy, int64_t o0, int64_t o1) {
  switch (isa_setting()) {
    case ISA_AVX512:
      if (rows == 1) {
        row1_avx512<W>(x, in, w, bias, y, o0, o1);
        break;
      }
      rows_blocked(x, rows, in, w, bias, y, ldy, o0, o1,
                   [in](int nr, const float* xr, const W* wo, int nout, float* out) {
                     block_avx512_rows<W>(nr, xr, in, wo, nout, out);
                   });
      break;
    case ISA_AVX2:
      if (rows == 1) {
        row1_avx2<W>(x, in, w, bias, y, o0, o1);
        break;
      }
      rows_blocked(x, rows, in, w, bias, y, ldy, o0, o1,
                   [in](int nr, const float* xr, const W* wo, int nout, float* out) {
                     block_avx2_rows<W>(nr, xr, in, wo, nout, out);
                   });
      break;
    default: rows_portable<float, W>(x, rows, in, w, bias, y, ldy, o0, o1); break;
  }
}

// y (rows, ldy) columns [0, out) = x (rows, in) · W (out, in)ᵀ + bias, threaded over outputs.
// Rows beyond 16 are processed 16 at a time (the weights are then read once per 16 rows).
inline void linear_f32(const float* x, int rows, int in, const void* w, int wtype, const float* bias,
                       float* y, int64_t ldy, int64_t out) {
  for (int r0 = 0; r0 < rows; r0 += 16) {
    int nr = rows - r0 < 16 ? rows - r0 : 16;
    const float* xr = x + static_cast<int64_t>(r0) * in;
    float* yr = y + r0 * ldy;
    int64_t work = static_cast<int64_t>(nr) * in * out;
    if (wtype == WEIGHT_BF16) {
      const uint16_t* wb = static_cast<const uint16_t*>(w);
      parallel_range(out, 16, work, [&](int64_t o0, int64_t o1) {
        linear_part_f32<uint16_t>(xr, nr, in, wb, bias, yr, ldy, o0, o1);
      });
    } else if (wtype == WEIGHT_F32) {
      const float* wf = static_cast<const float*>(w);
      parallel_range(out, 16, work, [&](int64_t o0, int64_t o1) {
        linear_part_f32<float>(xr, nr, in, wf, bias, yr, ldy, o0, o1);
      });
    } else {
      throw std::invalid_argument("32-bit activations need FP32 or BF16 weights");
    }
  }
}

// The 64-bit variant (FP64 runs, conformance): portable, threaded the same way.
inline void linear_f64(const double* x, int rows, int in, const double* w, const double* bias,
                       double* y, int64_t ldy, int64_t out) {
  int64_t work = static_cast<int64_t>(rows) * in * out;
  parallel_range(out, 16, work, [&](int64_t o0, int64_t o1) {
    rows_portable<double, double>(x, rows, in, w, bias, y, ldy, o0, o1);
  });
}

}  // namespace bark4j

// JNI-facing entry (raw addresses): tests and benchmarks call the kernels alone.
inline void bark4j_linear(long long x, int rows, int in, long long w, int wtype, long long bias,
                          long long y, long long out) {
  if (rows < 1 || in < 1 || out < 1) {
    throw std::invalid_argument("linear needs rows, in and out >= 1");
  }
  if (wtype == bark4j::WEIGHT_F64) {
    bark4j::linear_f64(reinterpret_cast<const double*>(x), rows, in, reinterpret_cast<const double*>(w),
                       reinterpret_cast<const double*>(bias), reinterpret_cast<double*>(y), out, out);
  } else {
    bark4j::linear_f32(reinterpret_cast<const float*>(x), rows, in, reinterpret_cast<const void*>(w), wtype,
                       reinterpret_cast<const float*>(bias), reinterpret_cast<float*>(y), out, out);
  }
}

// Rounds n floats to bfloat16 in a new native buffer (freed with bark4j_free).
inline long long bark4j_to_bf16(long long src, long long n) {
  if (n < 1) {
    throw std::invalid_argument("nothing to convert");
  }
  uint16_t* out = static_cast<uint16_t*>(std::malloc(static_cast<size_t>(n) * sizeof(uint16_t)));
  if (out == nullptr) {
    throw std::bad_alloc();
  }
  const float* in = reinterpret_cast<const float*>(src);
  for (long long i = 0; i < n; i++) {
    out[i] = bark4j::f32_to_bf16(in[i]);
  }
  return reinterpret_cast<long long>(out);
}

inline void bark4j_free(long long p) { std::free(reinterpret_cast<void*>(p)); }

inline int bark4j_set_isa(int isa) { return bark4j::set_isa(isa); }

inline int bark4j_pool_threads() { return bark4j::pool_threads(); }

// The shared object that defines the OpenMP entry points the bridge binds to.
inline const char* bark4j_openmp_library() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&omp_get_thread_num), &info) != 0 && info.dli_fname != nullptr) {
    return info.dli_fname;
  }
  return "";
}

// Returns the C heap's free pages to the system (glibc's malloc_trim, which also releases free
// pages inside every arena): libtorch frees large activations into malloc's arenas, where
// glibc's adaptive mmap threshold keeps them resident until a trim. Returns whether any memory
// was released.
inline bool bark4j_release_free_memory() { return malloc_trim(0) != 0; }

#endif  // BARK4J_KERNELS_H

// bark4j FP32 GEMM for the full passes (fine windows, coarse re-prefills, the semantic prompt):
// y (M, N) = x (M, K) · Wᵀ, W in PyTorch's (N, K) layout, on CPUs with AVX-512.
//
// Why our own: with FP32 weights those passes are compute bound, and libtorch 2.7.1's FP32
// linear (MKL's sgemm on these AMD CPUs) runs at about 155 GFLOP/s on two Zen 4 cores, 69% of
// their FMA peak (about 225 GFLOP/s, measured with independent FMA chains). This kernel reaches
// about 190 GFLOP/s on the bark-small shapes with K = 768 (PassKernelBenchmark: 1.1-1.3x
// libtorch's linear). At the MLP's K = 3072 it measured about 10% slower than libtorch (a 96-row
// block of x no longer fits L2; smaller blocks or K blocking did no better), so passes keep
// libtorch's GEMM there: see gemm_f32_suits.
//
// Blocking: W is packed on every call into panels of 32 outputs laid out k-major
// ([panel][k][32]); the 12 x 32 microkernel keeps 24 zmm accumulators, loads two vectors of a
// panel per k and broadcasts 12 rows of x straight from memory (x is not packed: a 96-row block of
// it stays in L2 while the threads walk the panels, for K = 768). Each output is one FMA chain over k in order,
// so results differ from libtorch's only by FP32 rounding of the summation order.
//
// Threads: libtorch's OpenMP pool (bark4j::pool_threads); they pack the panels between them, meet
// at a barrier, then take (row block, panel) tiles in row-block-major order from a shared counter.
#ifndef BARK4J_GEMM_H
#define BARK4J_GEMM_H

#include <immintrin.h>
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bark4j_kernels.h"

namespace bark4j {

constexpr int GEMM_NR = 32;  // outputs per panel: two zmm
constexpr int GEMM_MR = 12;  // rows of x per microkernel call: 24 accumulators of 32 registers
// Rows of x per block: 96 x K floats stay in the 1 MB L2 for K = 768. For the MLP's K = 3072 a
// block spills to L3, yet 36-row blocks measured slower in situ (the panels are then re-read
// from L3 three times as often), so the block stays 96 rows.
constexpr int GEMM_MC = 96;

// Panels [p0, p1) of W (N, K) into packed (panel, K, 32), zero beyond N: whole 16 x 16 blocks
// transposed in registers, the edges (N or K not a multiple of 16) copied one by one.
inline void gemm_pack(const float* w, int N, int K, float* packed, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; p++) {
    float* dst = packed + p * K * GEMM_NR;
    for (int half = 0; half < 2; half++) {
      const int64_t n0 = p * GEMM_NR + half * 16;
      for (int k0 = 0; k0 < K; k0 += 16) {
        const int kn = K - k0 < 16 ? K - k0 : 16;
        if (kn == 16 && n0 + 16 <= N) {
          transpose_16x16(w + n0 * K + k0, K, dst + static_cast<int64_t>(k0) * GEMM_NR + half * 16, GEMM_NR);
          continue;
        }
        for (int j = 0; j < 16; j++) {
          const int64_t n = n0 + j;
          for (int kk = 0; kk < kn; kk++) {
            dst[(k0 + kk) * GEMM_NR + half * 16 + j] = n < N ? w[n * K + k0 + kk] : 0.0f;
          }
        }
      }
    }
  }
}

// y rows [0, MR) x columns of one panel (masks m0, m1 for the panel's two halves at the edge).
template <int MR>
BARK4J_AVX512 inline void gemm_tile(const float* x, int K, const float* panel, float* y, int64_t ldy, __mmask16 m0,
                                    __mmask16 m1) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
  }
  for (int k = 0; k < K; k++) {
    const __m512 b0 = _mm512_loadu_ps(panel + k * GEMM_NR);
    const __m512 b1 = _mm512_loadu_ps(panel + k * GEMM_NR + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(x[static_cast<int64_t>(i) * K + k]);
      acc0[i] = _mm512_fmadd_ps(a, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(a, b1, acc1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    _mm512_mask_storeu_ps(y + i * ldy, m0, acc0[i]);
    _mm512_mask_storeu_ps(y + i * ldy + 16, m1, acc1[i]);
  }
}

// The rows left at the end of x (1..11), each count its own unrolled microkernel.
template <int MR>
BARK4J_AVX512 inline void gemm_tail(int rows, const float* x, int K, const float* panel, float* y, int64_t ldy,
                                    __mmask16 m0, __mmask16 m1) {
  if constexpr (MR > 0) {
    if (rows == MR) {
      gemm_tile<MR>(x, K, panel, y, ldy, m0, m1);
    } else {
      gemm_tail<MR - 1>(rows, x, K, panel, y, ldy, m0, m1);
    }
  }
}

// Tiles [t0, t1) of `panels` per row block: every MR-row strip of the block times one panel.
BARK4J_AVX512 inline void gemm_tiles(const float* x, int64_t M, int K, const float* packed, int N, int64_t panels,
                                     float* y, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; t++) {
    const int64_t block = t / panels;
    const int64_t p = t % panels;
    const int64_t r1 = (block + 1) * GEMM_MC < M ? (block + 1) * GEMM_MC : M;
    const int64_t n0 = p * GEMM_NR;
    const int64_t left = N - n0;
    const __mmask16 m0 = left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1u);
    const __mmask16 m1 = left >= 32 ? 0xffff : left <= 16 ? 0 : static_cast<__mmask16>((1u << (left - 16)) - 1u);
    const float* panel = packed + p * K * GEMM_NR;
    int64_t r = block * GEMM_MC;
    for (; r + GEMM_MR <= r1; r += GEMM_MR) {
      gemm_tile<GEMM_MR>(x + r * K, K, panel, y + r * N + n0, N, m0, m1);
    }
    if (r < r1) {
      gemm_tail<GEMM_MR - 1>(static_cast<int>(r1 - r), x + r * K, K, panel, y + r * N + n0, N, m0, m1);
    }
  }
}

// Whether gemm_f32 may run: the AVX-512 instruction set is in use.
inline bool gemm_f32_available() { return isa_setting() == ISA_AVX512; }

// Whether a pass should use gemm_f32 for this K rather than libtorch's GEMM (see the top note).
inline bool gemm_f32_suits(int K) { return gemm_f32_available() && K <= 2048; }

// y (M, N) = x (M, K) · W (N, K)ᵀ, all FP32 and contiguous. The packed panels live in the calling
// thread's buffer, grown to the largest W it has multiplied (about 9.4 MB for bark-small's MLP).
inline void gemm_f32(const float* x, int64_t M, int K, const float* w, int N, float* y) {
  if (!gemm_f32_available()) {
    throw std::logic_error("gemm_f32 needs the AVX-512 instruction set");
  }
  if (M < 1 || K < 1 || N < 1) {
    throw std::invalid_argument("gemm needs M, K and N >= 1");
  }
  const int64_t panels = (N + GEMM_NR - 1) / GEMM_NR;
  thread_local std::vector<float> buffer;
  const size_t need = static_cast<size_t>(panels) * K * GEMM_NR;
  if (buffer.size() < need) buffer.resize(need);
  float* packed = buffer.data();
  const int64_t tiles = (M + GEMM_MC - 1) / GEMM_MC * panels;
  int threads = pool_threads();
  if (threads <= 1 || omp_in_parallel() || M * N * static_cast<int64_t>(K) < (1 << 20)) {
    gemm_pack(w, N, K, packed, 0, panels);
    gemm_tiles(x, M, K, packed, N, panels, y, 0, tiles);
    return;
  }
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    gemm_pack(w, N, K, packed, panels * t / nt, panels * (t + 1) / nt);
#pragma omp barrier
    // tiles in row-block-major order from a shared counter: a short last block or a slower core
    // leaves no thread waiting for more than one tile (a few tens of microseconds)
    for (int64_t tile = next.fetch_add(1, std::memory_order_relaxed); tile < tiles;
         tile = next.fetch_add(1, std::memory_order_relaxed)) {
      gemm_tiles(x, M, K, packed, N, panels, y, tile, tile + 1);
    }
  }
}

}  // namespace bark4j

// JNI-facing entry (raw addresses), for tests and benchmarks: y (M, N) = x (M, K) · W (N, K)ᵀ.
// Returns false, computing nothing, where the kernel is not in use (no AVX-512).
inline bool bark4j_gemm_f32(long long x, long long m, int k, long long w, int n, long long y) {
  if (!bark4j::gemm_f32_available()) return false;
  bark4j::gemm_f32(reinterpret_cast<const float*>(x), m, k, reinterpret_cast<const float*>(w), n,
                   reinterpret_cast<float*>(y));
  return true;
}

#endif  // BARK4J_GEMM_H

// bark4j GEMMs for the full passes (fine windows, coarse re-prefills, the semantic prompt):
// y (M, N) = x (M, K) · Wᵀ (+ bias), W in PyTorch's (N, K) layout, on CPUs with AVX-512:
//  - FP32: x and W FP32, FP32 FMAs (the FP32 passes);
//  - BF16: x and W bfloat16, products summed in FP32 by vdpbf16ps (the BF16 passes, where the
//    CPU has AVX-512 BF16), y FP32.
//
// Why our own: those passes are compute bound. In FP32, libtorch 2.7.1's linear (MKL's sgemm on
// these AMD CPUs) ran at about 155 GFLOP/s on two Zen 4 cores, 69% of their FMA peak, this GEMM
// at about 190; at K = 3072 (the MLP out) too it took about half of libtorch's time side by side
// on a busy Zen 5 host. In BF16, libtorch's linear (oneDNN) is as fast as this GEMM (within 5-10% either way per
// shape on Zen 5, both at 70-85% of a core's vdpbf16ps peak) but rounds its product to bfloat16;
// this one hands it on in FP32, one rounding fewer per matmul. jmh/results/2026-12-07-cpu2-zen5-
// bf16-gemm.md (PeakFlopsBenchmark, GemmAbBenchmark, PassAbBenchmark). Both element types share
// one driver; only the microkernel's step differs (GemmF32, GemmBf16 below).
//
// Blocking. W is packed on every call into panels of NR = 64 outputs laid out unit-major
// ([panel][unit][64]), where a unit is what one 32-bit lane holds: one k of FP32, a pair of
// consecutive k of bfloat16 (vdpbf16ps multiplies pairs and adds both products into one FP32
// lane). The 6 x 64 microkernel keeps 24 zmm accumulators, loads the four vectors of a panel per
// unit and broadcasts 6 units of x straight from memory (x is not packed: a row of bfloat16 pairs
// is already a row of units); with its operands in L1 it runs at 95% of the vdpbf16ps peak. The
// k axis runs in blocks of at most KC units (one block for K = 768, two or three for the MLP out's
// K = 3072). Work is cut into tiles of (MC-row block, panel), each with all its k blocks in
// order; inside a k block every 6-row strip of the block passes over the panel's slice (at most
// 1024 units, 256 KB, in L2), so the slice is read from memory once for 16 strips. Between k
// blocks the accumulators go to y and come back exactly (FP32 both ways), so each output is
// still one chain over k in order, and results differ from libtorch's only by the rounding of the
// summation order.
//
// Threads: libtorch's OpenMP pool (bark4j::pool_threads). They take tiles in row-block-major
// order from a shared counter (a short last block or a slower core leaves no thread waiting for
// more than one tile, a few tens of microseconds; threads on one row block share its rows of x in
// L3) and pack each panel when its first tile comes up: no barrier.
//
// Why pack per call rather than keep packed copies: a packed copy of every BF16 weight would be a
// second 0.45 GB for bark-small next to the row-major copy the decode step and libtorch read, and
// the issue asks for less memory, not more. Packing costs one read and one write of W per call
// (16x16 register transposes of 32-bit units, W read from DRAM): 3% of a 1024-row pass GEMM's
// time, 10% of a 257-row one.
#ifndef BARK4J_GEMM_H
#define BARK4J_GEMM_H

#include <immintrin.h>
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "bark4j_kernels.h"
#include "bark4j_rows.h"

namespace bark4j {

// FP32 elements: one k per unit, FMA.
struct GemmF32 {
  using Elem = float;  // of x and W
  using Unit = float;  // one lane of a packed panel
  static constexpr int PER_UNIT = 1;
  // 6 rows x 4 vectors = 24 accumulators of the 32 zmm, 4 for the panel, 1 for a broadcast. Half
  // the broadcasts of a 12 x 32 tile per multiply-add: 5-10% faster on the 3072-wide and
  // K = 3072 shapes, within 3% elsewhere (alternating calls on one Zen 5 core, both precisions).
  static constexpr int MR = 6;
  static constexpr int NV = 4;
  static constexpr int NR = 16 * NV;
  // 96 rows: 16 strips share each panel slice
  static constexpr int MC = 96;
  // k blocks of at most 1024 units: a block's slice of x (96 · 1024 · 4 bytes = 384 KB) and a
  // panel slice (256 KB) stay in the 1 MB L2 while every panel passes over the slice of x
  static constexpr int KC = 1024;
  static Unit unit(const Elem* row, int, int64_t u) { return row[u]; }
  BARK4J_AVX512_BF16 static __m512 broadcast(const Elem* row, int64_t u) { return _mm512_set1_ps(row[u]); }
  BARK4J_AVX512_BF16 static __m512 broadcast_half(const Elem* row, int64_t u) { return broadcast(row, u); }
  BARK4J_AVX512_BF16 static __m512 madd(__m512 acc, __m512 a, __m512 b) { return _mm512_fmadd_ps(a, b, acc); }
};

// bfloat16 elements: a pair of k per unit (k even in the low half), vdpbf16ps. A unit does twice
// an FP32 unit's multiply-adds for the same bytes, so a panel slice of KC units covers 2·KC k.
struct GemmBf16 {
  using Elem = uint16_t;  // bfloat16 bits
  using Unit = uint32_t;  // a pair
  static constexpr int PER_UNIT = 2;
  static constexpr int MR = 6;  // as FP32
  static constexpr int NV = 4;
  static constexpr int NR = 16 * NV;
  static constexpr int MC = 96;
  static constexpr int KC = 1024;  // as FP32: 384 KB of x, 256 KB of a panel per k block
  // unit u of a row of K elements; past K (K odd) the pair's high half is 0
  static Unit unit(const Elem* row, int K, int64_t u) {
    const uint32_t lo = row[2 * u];
    const uint32_t hi = 2 * u + 1 < K ? row[2 * u + 1] : 0u;
    return lo | hi << 16;
  }
  BARK4J_AVX512_BF16 static __m512 broadcast(const Elem* row, int64_t u) {
    int32_t pair;
    std::memcpy(&pair, row + 2 * u, sizeof pair);
    return _mm512_castsi512_ps(_mm512_set1_epi32(pair));
  }
  // the last unit of a row with K odd: its second element is the next row's (or past the array)
  BARK4J_AVX512_BF16 static __m512 broadcast_half(const Elem* row, int64_t u) {
    return _mm512_castsi512_ps(_mm512_set1_epi32(row[2 * u]));
  }
  BARK4J_AVX512_BF16 static __m512 madd(__m512 acc, __m512 a, __m512 b) {
    return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
  }
};

// One GEMM call: the operands, W packed, and its shape in units.
template <typename Tr>
struct GemmCall {
  const typename Tr::Elem* x;
  int64_t M;
  int K;
  int N;
  const typename Tr::Unit* packed;
  int64_t panels;
  int64_t units;      // per row: K / PER_UNIT rounded up
  int64_t fullUnits;  // units with every element inside the row (all but a half last one)
  const float* bias;  // or null
  float* y;
};

// Panels [p0, p1) of W (N, K) into packed (panel, units, NR), zero past N: where rows are whole
// 32-bit units (FP32; bfloat16 with K even) 16 x 16 blocks of units are transposed in registers,
// the edges (N or the units not a multiple of 16, K odd) copied one by one.
// Reading W: the blocks of a panel's NR rows advance along k together, so each row is a stream of
// 64 bytes per block, NR streams at once; the hardware prefetcher follows too few of them, so each
// block prefetches its rows' lines PACK_AHEAD blocks on (2.7x faster from DRAM: a 3.5 MB bfloat16
// weight in 0.25 ms instead of 0.67 ms on a Zen 5 core; 2 to 4 blocks ahead measured best).
constexpr int PACK_AHEAD = 3;

template <typename Tr>
BARK4J_AVX512 inline void gemm_pack(const typename Tr::Elem* w, int N, int K, int64_t units,
                                    typename Tr::Unit* packed, int64_t p0, int64_t p1) {
  const bool wholeUnits = K % Tr::PER_UNIT == 0;
  const int64_t rowUnits = K / Tr::PER_UNIT;
  for (int64_t p = p0; p < p1; p++) {
    typename Tr::Unit* dst = packed + p * units * Tr::NR;
    for (int64_t u0 = 0; u0 < units; u0 += 16) {
      const int64_t un = units - u0 < 16 ? units - u0 : 16;
      for (int half = 0; half < Tr::NV; half++) {
        const int64_t n0 = p * Tr::NR + half * 16;
        if (wholeUnits && un == 16 && n0 + 16 <= N) {
          const float* src = reinterpret_cast<const float*>(w + n0 * K) + u0;
          for (int j = 0; j < 16; j++) {
            _mm_prefetch(reinterpret_cast<const char*>(src + j * rowUnits + 16 * PACK_AHEAD), _MM_HINT_T0);
          }
          transpose_16x16(src, rowUnits, reinterpret_cast<float*>(dst + u0 * Tr::NR + half * 16), Tr::NR);
          continue;
        }
        for (int j = 0; j < 16; j++) {
          const int64_t n = n0 + j;
          for (int64_t u = u0; u < u0 + un; u++) {
            dst[u * Tr::NR + half * 16 + j] = n < N ? Tr::unit(w + n * K, K, u) : typename Tr::Unit(0);
          }
        }
      }
    }
  }
}

// y rows [0, MR) x one panel's NR outputs, over units [u0, u1) of a k block. The accumulators
// start from y when `resume` (a later k block), else from 0; `bias` (or null) is added after the
// last block. mask[j]: the outputs of the panel's vector j inside N.
// Compiled for AVX-512 BF16 whatever the element type (GCC picks a function's target once for
// all template arguments); only GemmBf16::madd emits BF16 instructions, and the FP32 instance
// runs wherever AVX-512 is in use.
template <typename Tr, int MR>
BARK4J_AVX512_BF16 inline void gemm_tile(const GemmCall<Tr>& g, const typename Tr::Elem* x, int64_t u0,
                                         int64_t u1, const typename Tr::Unit* panel, float* y,
                                         const __mmask16* mask, bool resume, const float* bias) {
  constexpr int NV = Tr::NV;
  constexpr int NR = 16 * NV;
  const int64_t ldx = g.K;
  const int64_t ldy = g.N;
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) {
      acc[i][j] = resume ? _mm512_maskz_loadu_ps(mask[j], y + i * ldy + 16 * j) : _mm512_setzero_ps();
    }
  }
  const int64_t whole = u1 < g.fullUnits ? u1 : g.fullUnits;
  for (int64_t u = u0; u < whole; u++) {
    __m512 b[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; j++) b[j] = _mm512_loadu_ps(reinterpret_cast<const float*>(panel + u * NR + 16 * j));
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 a = Tr::broadcast(x + i * ldx, u);
#pragma GCC unroll 4
      for (int j = 0; j < NV; j++) acc[i][j] = Tr::madd(acc[i][j], a, b[j]);
    }
  }
  if (whole < u1) {  // bfloat16 with K odd: the last unit holds one element
    __m512 b[NV];
    for (int j = 0; j < NV; j++) b[j] = _mm512_loadu_ps(reinterpret_cast<const float*>(panel + whole * NR + 16 * j));
    for (int i = 0; i < MR; i++) {
      const __m512 a = Tr::broadcast_half(x + i * ldx, whole);
      for (int j = 0; j < NV; j++) acc[i][j] = Tr::madd(acc[i][j], a, b[j]);
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < NV; j++) {
    const __m512 c = bias == nullptr ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask[j], bias + 16 * j);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      if (bias != nullptr) acc[i][j] = _mm512_add_ps(acc[i][j], c);
      _mm512_mask_storeu_ps(y + i * ldy + 16 * j, mask[j], acc[i][j]);
    }
  }
}

// The rows left at the end of a block (1..MR-1), each count its own unrolled microkernel.
template <typename Tr, int MR>
BARK4J_AVX512_BF16 inline void gemm_tail(int rows, const GemmCall<Tr>& g, const typename Tr::Elem* x, int64_t u0,
                                         int64_t u1, const typename Tr::Unit* panel, float* y, const __mmask16* mask,
                                         bool resume, const float* bias) {
  if constexpr (MR > 0) {
    if (rows == MR) {
      gemm_tile<Tr, MR>(g, x, u0, u1, panel, y, mask, resume, bias);
    } else {
      gemm_tail<Tr, MR - 1>(rows, g, x, u0, u1, panel, y, mask, resume, bias);
    }
  }
}

// Tiles [t0, t1): tile t is row block t / panels times panel t % panels, its k blocks in order.
// Within a k block each MR-row strip of the block passes over the panel's slice (KC units: 256 KB,
// in L2), so the slice is read from memory once for 16 strips; between k blocks the accumulators
// go to y and come back exactly.
template <typename Tr>
inline void gemm_tiles(const GemmCall<Tr>& g, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; t++) {
    const int64_t block = t / g.panels;
    const int64_t p = t % g.panels;
    const int64_t r0 = block * Tr::MC;
    const int64_t r1 = r0 + Tr::MC < g.M ? r0 + Tr::MC : g.M;
    const int64_t n0 = p * Tr::NR;
    __mmask16 mask[Tr::NV];
    for (int j = 0; j < Tr::NV; j++) {
      const int64_t left = g.N - n0 - 16 * j;
      mask[j] = left >= 16 ? static_cast<__mmask16>(0xffff)
                : left <= 0 ? static_cast<__mmask16>(0)
                            : static_cast<__mmask16>((1u << left) - 1u);
    }
    const typename Tr::Unit* panel = g.packed + p * g.units * Tr::NR;
    // k blocks of equal size, at most KC units
    const int64_t kblocks = (g.units + Tr::KC - 1) / Tr::KC;
    for (int64_t b = 0; b < kblocks; b++) {
      const int64_t u0 = g.units * b / kblocks;
      const int64_t u1 = g.units * (b + 1) / kblocks;
      const bool resume = b > 0;
      const float* bias = b == kblocks - 1 && g.bias != nullptr ? g.bias + n0 : nullptr;
      int64_t r = r0;
      for (; r + Tr::MR <= r1; r += Tr::MR) {
        gemm_tile<Tr, Tr::MR>(g, g.x + r * g.K, u0, u1, panel, g.y + r * g.N + n0, mask, resume, bias);
      }
      if (r < r1) {
        gemm_tail<Tr, Tr::MR - 1>(static_cast<int>(r1 - r), g, g.x + r * g.K, u0, u1, panel, g.y + r * g.N + n0,
                                  mask, resume, bias);
      }
    }
  }
}

// Panel states while threads share a call: each panel is packed by the first thread that needs it.
enum PanelState { PANEL_EMPTY = 0, PANEL_PACKING = 1, PANEL_READY = 2 };

// Returns once panel p is packed: packs it when no other thread has begun to, else waits for the
// one that has (it began at most one panel's packing ago, a few microseconds).
template <typename Tr>
inline void gemm_panel_ready(const typename Tr::Elem* w, const GemmCall<Tr>& g, int64_t p, std::atomic<int>& state) {
  if (state.load(std::memory_order_acquire) == PANEL_READY) return;
  int expected = PANEL_EMPTY;
  if (state.compare_exchange_strong(expected, PANEL_PACKING, std::memory_order_acq_rel)) {
    gemm_pack<Tr>(w, g.N, g.K, g.units, const_cast<typename Tr::Unit*>(g.packed), p, p + 1);
    state.store(PANEL_READY, std::memory_order_release);
    return;
  }
  while (state.load(std::memory_order_acquire) != PANEL_READY) _mm_pause();
}

// y (M, N) = x (M, K) · W (N, K)ᵀ + bias (or none), x and W of Tr's element type, contiguous, y
// FP32. The packed panels live in the calling thread's buffer, grown to the largest W it has
// multiplied (bark-small's MLP: 9.4 MB in FP32, 4.7 MB in bfloat16).
template <typename Tr>
inline void gemm_run(const typename Tr::Elem* x, int64_t M, int K, const typename Tr::Elem* w, int N,
                     const float* bias, float* y) {
  if (M < 1 || K < 1 || N < 1) {
    throw std::invalid_argument("gemm needs M, K and N >= 1");
  }
  GemmCall<Tr> g;
  g.x = x;
  g.M = M;
  g.K = K;
  g.N = N;
  g.panels = (N + Tr::NR - 1) / Tr::NR;
  g.units = (K + Tr::PER_UNIT - 1) / Tr::PER_UNIT;
  g.fullUnits = K / Tr::PER_UNIT;
  g.bias = bias;
  g.y = y;
  thread_local std::vector<typename Tr::Unit> buffer;
  const size_t need = static_cast<size_t>(g.panels * g.units * Tr::NR);
  if (buffer.size() < need) buffer.resize(need);
  typename Tr::Unit* packed = buffer.data();
  g.packed = packed;
  const int64_t tiles = (M + Tr::MC - 1) / Tr::MC * g.panels;
  const int threads = pool_threads();
  if (threads <= 1 || omp_in_parallel() || M * N * static_cast<int64_t>(K) < (1 << 20)) {
    gemm_pack<Tr>(w, N, K, g.units, packed, 0, g.panels);
    gemm_tiles<Tr>(g, 0, tiles);
    return;
  }
  // No barrier: threads take tiles in row-block-major order from a shared counter and pack each
  // panel when its first tile comes up, so a thread the OS has paused holds up the others only
  // if they need the one panel it is packing. (A barrier after packing every panel, and one
  // between k blocks, measured 1.1-1.6x slower, median of alternating calls, on two cores busy
  // with other work; on free cores the difference should be a few microseconds per call, not
  // measured.)
  std::vector<std::atomic<int>> states(g.panels);
  for (auto& st : states) st.store(PANEL_EMPTY, std::memory_order_relaxed);
  std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(threads)
  {
    for (int64_t tile = next.fetch_add(1, std::memory_order_relaxed); tile < tiles;
         tile = next.fetch_add(1, std::memory_order_relaxed)) {
      gemm_panel_ready<Tr>(w, g, tile % g.panels, states[tile % g.panels]);
      gemm_tiles<Tr>(g, tile, tile + 1);
    }
  }
}

// Whether gemm_f32 may run: the AVX-512 instruction set is in use.
inline bool gemm_f32_available() { return isa_setting() == ISA_AVX512; }

// Whether BF16 passes use gemm_bf16 (FP32 products) rather than libtorch's bfloat16 GEMM: where
// the CPU has AVX-512 and AVX-512 BF16, as for bfloat16 attention. Which code runs then follows the
// instruction-set setting (gemm_bf16_vectorised), like every other kernel here, so tests that
// cap it compare the passes' loops with the same GEMM arithmetic.
inline bool gemm_bf16_available() {
  static const bool has = detect_isa() == ISA_AVX512 && cpu_has_avx512_bf16();
  return has;
}

// Whether BF16 passes use gemm_bf16 now: where it is available, unless a benchmark switched it off
// (set_bf16_gemm) to compare with libtorch's bfloat16 GEMM in the same process.
inline bool& bf16_gemm_setting() {
  static bool on = gemm_bf16_available();
  return on;
}

inline bool set_bf16_gemm(bool on) {
  bf16_gemm_setting() = on && gemm_bf16_available();
  return bf16_gemm_setting();
}

// Whether gemm_bf16 runs the vdpbf16ps kernel (else the portable loop).
inline bool gemm_bf16_vectorised() { return isa_setting() == ISA_AVX512 && cpu_has_avx512_bf16(); }

// The portable bfloat16 GEMM: each output one FP32 sum over k in order of the exact products of
// the widened operands (a product of two bfloat16 values is exact in FP32), then the bias. The
// reference the kernel is tested against, and what runs under a capped instruction set.
inline void gemm_bf16_portable(const uint16_t* x, int64_t M, int K, const uint16_t* w, int N, const float* bias,
                               float* y) {
  parallel_range(M, 1, M * N * static_cast<int64_t>(K), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const uint16_t* xr = x + r * K;
      for (int64_t n = 0; n < N; n++) {
        const uint16_t* wn = w + n * K;
        float sum = 0;
        for (int k = 0; k < K; k++) sum += bf16_to_f32(xr[k]) * bf16_to_f32(wn[k]);
        y[r * N + n] = bias == nullptr ? sum : sum + bias[n];
      }
    }
  });
}

// y (M, N) = x (M, K) · W (N, K)ᵀ (+ bias), all FP32 and contiguous.
inline void gemm_f32(const float* x, int64_t M, int K, const float* w, int N, float* y,
                     const float* bias = nullptr) {
  if (!gemm_f32_available()) {
    throw std::logic_error("gemm_f32 needs the AVX-512 instruction set");
  }
  gemm_run<GemmF32>(x, M, K, w, N, bias, y);
}

// y (M, N) FP32 = x (M, K) · W (N, K)ᵀ (+ bias), x and W bfloat16 bits, products summed in FP32:
// the kernel, or the portable loop under a capped instruction set.
inline void gemm_bf16(const uint16_t* x, int64_t M, int K, const uint16_t* w, int N, float* y,
                      const float* bias = nullptr) {
  if (!gemm_bf16_available()) {
    throw std::logic_error("gemm_bf16 needs AVX-512 and AVX-512 BF16");
  }
  if (M < 1 || K < 1 || N < 1) {
    throw std::invalid_argument("gemm needs M, K and N >= 1");
  }
  if (gemm_bf16_vectorised()) {
    gemm_run<GemmBf16>(x, M, K, w, N, bias, y);
  } else {
    gemm_bf16_portable(x, M, K, w, N, bias, y);
  }
}

// ---------------------------------------------------------------- the CPU's peak

// The ceiling the GEMMs are measured against: `rounds` rounds of 16 independent accumulator
// chains of one instruction (vfmadd231ps or vdpbf16ps on zmm), more chains than its latency times
// its throughput, so that only the FMA/dot-product pipes limit the rate. Returns the FLOPs done
// (a multiply-add counts 2: 32 per vfmadd231ps, 64 per vdpbf16ps). The operands keep every
// accumulator normal and far from overflow over 2^31 rounds.
template <bool BF16>
BARK4J_AVX512_BF16 __attribute__((noinline)) inline float peak_chains(int64_t rounds) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  __m512 a = BF16 ? _mm512_castsi512_ps(_mm512_set1_epi32(0x3f803f80))  // bfloat16 pairs (1, 1)
                  : _mm512_set1_ps(1.0f);
  const __m512 b = BF16 ? _mm512_castsi512_ps(_mm512_set1_epi32(0x30003000))  // pairs of 2^-31
                        : _mm512_set1_ps(1.0f / (1u << 31));
  for (int64_t r = 0; r < rounds; r++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
      acc[i] = BF16 ? _mm512_dpbf16_ps(acc[i], (__m512bh)a, (__m512bh)b) : _mm512_fmadd_ps(a, b, acc[i]);
    }
    // keeps `a` opaque, so the compiler cannot fold the chains
    __asm__ volatile("" : "+v"(a));
  }
  __m512 sum = acc[0];
  for (int i = 1; i < 16; i++) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
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

// JNI-facing entry (raw addresses), for tests and benchmarks: y (M, N) FP32 = bf16(x) (M, K) ·
// W (N, K)ᵀ + bias, W bfloat16 bits, bias FP32 or 0 for none, x bfloat16 bits when xBf16, else
// FP32 rounded here to bfloat16 (nearest even) as a BF16 pass's operands are. Runs what a BF16
// pass runs (the kernel, or the portable loop under a capped instruction set); returns false,
// computing nothing, where BF16 passes use libtorch's GEMM instead (no AVX-512 BF16).
inline bool bark4j_gemm_bf16(long long x, bool xBf16, long long m, int k, long long w, int n, long long bias,
                             long long y) {
  using namespace bark4j;
  if (!gemm_bf16_available()) return false;
  if (m < 1 || k < 1 || n < 1) {
    throw std::invalid_argument("gemm needs M, K and N >= 1");
  }
  std::vector<uint16_t> rounded;
  const uint16_t* xb = reinterpret_cast<const uint16_t*>(x);
  if (!xBf16) {
    rounded.resize(static_cast<size_t>(m) * k);
    const float* xf = reinterpret_cast<const float*>(x);
    parallel_range(m, 16, m * k, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; r++) narrow_copy<float, uint16_t>(xf + r * k, rounded.data() + r * k, k);
    });
    xb = rounded.data();
  }
  gemm_bf16(xb, m, k, reinterpret_cast<const uint16_t*>(w), n, reinterpret_cast<float*>(y),
            reinterpret_cast<const float*>(bias));
  return true;
}

// Benchmark switch: whether BF16 passes use bark4j's bfloat16 GEMM (true, the default where the
// CPU has AVX-512 BF16) or libtorch's; returns the setting now in use.
inline bool bark4j_use_bf16_gemm(bool on) { return bark4j::set_bf16_gemm(on); }

// Benchmark hook: peak_chains on `threads` threads at once (1 = the calling thread); returns the
// FLOPs done by all of them (fewer threads if OpenMP gives fewer), or -1 where the instruction is missing (vdpbf16ps without AVX-512
// BF16, either without AVX-512).
inline double bark4j_peak_chains(bool bf16, int threads, long long rounds) {
  using namespace bark4j;
  if (threads < 1 || rounds < 1) {
    throw std::invalid_argument("peak chains need threads and rounds >= 1");
  }
  if (detect_isa() != ISA_AVX512 || (bf16 && !cpu_has_avx512_bf16())) return -1;
  float sink = 0;
  int ran = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  {
#pragma omp single nowait
    ran = omp_get_num_threads();
    sink += bf16 ? peak_chains<true>(rounds) : peak_chains<false>(rounds);
  }
  // the sum is finite by construction; the check keeps it from being optimised away
  if (!(sink == sink)) throw std::logic_error("peak chains overflowed");
  return static_cast<double>(ran) * rounds * 16 * (bf16 ? 64 : 32);
}

#endif  // BARK4J_GEMM_H

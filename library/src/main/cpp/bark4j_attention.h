// bark4j bfloat16 attention for the BF16 passes (fine windows, coarse re-prefills, the semantic
// prompt): y = softmax(scale · q kᵀ, causal or not) v per (row, head), with q, k and v rounded to
// bfloat16, the scores and softmax in FP32, the probabilities rounded to bfloat16 for the second
// product, and both products accumulated in FP32 by AVX-512 BF16 dot products (vdpbf16ps).
//
// Why: in a BF16 pass libtorch's FP32 flash attention is a third of the time (a 1024-position
// fine pass spends ~0.3 s in it, its GEMMs run at ~120 GFLOP/s), and its bfloat16 SDPA measured
// slower still. Rounding q, k, v and the probabilities is what the BF16 matmuls already do to
// every GEMM operand, so the pass's error stays within the BF16 first-pass bound (tests).
//
// Layout: the products are small GEMMs (head dim 64) done in register tiles of 4 queries × 64
// keys (scores) and 4 queries × 64 dims (output). vdpbf16ps multiplies pairs along its reduction
// axis, so keys are packed per 16-key block as [dim pair][key][2] and values per key pair as
// [key pair][dim][2]; queries and probabilities stay in row order and are broadcast a pair at a
// time. The exact softmax is taken over a whole row of scores (no online rescaling): a row of
// 1024 keys is 4 KB and stays in L1.
//
// The portable loops round at the same places and are the reference the AVX-512 BF16 path is
// tested against. Passes attend in bfloat16 only where the CPU has AVX-512 BF16; elsewhere they
// keep libtorch's FP32 SDPA.
#ifndef BARK4J_ATTENTION_H
#define BARK4J_ATTENTION_H

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bark4j_kernels.h"
#include "bark4j_rows.h"

namespace bark4j {

// Whether passes with bfloat16 operands attend in bfloat16: where the CPU has AVX-512 BF16
// (elsewhere the portable loops would be far slower than libtorch's FP32 SDPA). Which loops run
// then follows the instruction-set setting, like every other kernel here.
inline bool bf16_attention_available() { return cpu_has_avx512_bf16(); }

// Whether the AVX-512 BF16 kernel (not the portable loops) runs for head size hd.
inline bool bf16_attention_vectorised(int hd) {
  return isa_setting() == ISA_AVX512 && cpu_has_avx512_bf16() && hd % 16 == 0;
}

inline int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// ---------------------------------------------------------------- portable reference

// One (row, head): q, k, v, y (len, hd) FP32.
inline void attend_bf16_portable(const float* q, const float* k, const float* v, float* y, int len, int hd,
                                 bool causal, float scale) {
  auto r = [](float f) { return bf16_to_f32(f32_to_bf16(f)); };
  std::vector<float> s(len);
  for (int t = 0; t < len; t++) {
    const int valid = causal ? t + 1 : len;
    float top = -INFINITY;
    for (int j = 0; j < valid; j++) {
      float acc = 0;
      for (int d = 0; d < hd; d++) acc += r(q[t * hd + d]) * r(k[j * hd + d]);
      s[j] = acc;
      top = std::max(top, acc);
    }
    float sum = 0;
    for (int j = 0; j < valid; j++) {
      s[j] = std::exp((s[j] - top) * scale);
      sum += s[j];
    }
    for (int d = 0; d < hd; d++) {
      float acc = 0;
      for (int j = 0; j < valid; j++) acc += r(s[j]) * r(v[j * hd + d]);
      y[t * hd + d] = acc / sum;
    }
  }
}

// ---------------------------------------------------------------- AVX-512 BF16

// Keys of one (row, head) into [key block of 16][dim pair][16 keys][2], zero past len; kpad keys.
inline void pack_keys(const float* k, int len, int hd, int64_t kpad, uint16_t* kp, uint16_t* rowScratch) {
  const int pairs = hd / 2;
  uint32_t* out = reinterpret_cast<uint32_t*>(kp);
  const uint32_t* row = reinterpret_cast<const uint32_t*>(rowScratch);
  for (int64_t key = 0; key < kpad; key++) {
    if (key < len) {
      narrow_copy<float, uint16_t>(k + key * hd, rowScratch, hd);
    } else {
      std::memset(rowScratch, 0, sizeof(uint16_t) * hd);
    }
    uint32_t* block = out + (key / 16) * pairs * 16 + key % 16;
    for (int p = 0; p < pairs; p++) block[p * 16] = row[p];
  }
}

// Values of one (row, head) into [key pair][dim][2], zero past len; kpad (even) keys.
// 16 floats rounded to nearest even bfloat16 (attention inputs are finite), the bits in each
// 32-bit lane's low half.
BARK4J_AVX512 inline __m512i bf16_bits_low(const float* p) {
  __m512i b = _mm512_castps_si512(_mm512_loadu_ps(p));
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
  return _mm512_srli_epi32(_mm512_add_epi32(b, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
}

BARK4J_AVX512 inline void pack_values(const float* v, int len, int hd, int64_t kpad, uint16_t* vp) {
  uint32_t* out = reinterpret_cast<uint32_t*>(vp);
  for (int64_t key = 0; key < kpad; key += 2) {
    uint32_t* dst = out + (key / 2) * hd;
    if (key + 1 < len) {
      for (int d = 0; d < hd; d += 16) {
        __m512i even = bf16_bits_low(v + key * hd + d);
        __m512i odd = bf16_bits_low(v + (key + 1) * hd + d);
        _mm512_storeu_si512(dst + d, _mm512_or_si512(even, _mm512_slli_epi32(odd, 16)));
      }
    } else if (key < len) {
      for (int d = 0; d < hd; d += 16) _mm512_storeu_si512(dst + d, bf16_bits_low(v + key * hd + d));
    } else {
      std::memset(dst, 0, sizeof(uint32_t) * hd);
    }
  }
}

// s[i][j] = q[i] · k[j] for 4 queries × 64 keys (4 packed key blocks starting at kb).
BARK4J_AVX512_BF16 inline void scores_tile(const uint16_t* q, int hd, const uint16_t* kb, float* s, int64_t lds) {
  const int pairs = hd / 2;
  __m512 acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
  const uint32_t* q32 = reinterpret_cast<const uint32_t*>(q);
  const int64_t blockStride = static_cast<int64_t>(pairs) * 32;  // uint16 per key block
  for (int p = 0; p < pairs; p++) {
    __m512bh b[4];
    for (int j = 0; j < 4; j++) {
      b[j] = (__m512bh)(_mm512_loadu_si512(kb + j * blockStride + p * 32));
    }
    for (int i = 0; i < 4; i++) {
      __m512bh a = (__m512bh)(_mm512_set1_epi32(static_cast<int>(q32[i * pairs + p])));
      for (int j = 0; j < 4; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], a, b[j]);
    }
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) _mm512_storeu_ps(s + i * lds + j * 16, acc[i][j]);
}

// y[i][0..16·ND) = Σ_pairs p[i] · v over `pairs` key pairs, scaled by inv[i], for 4 queries.
template <int ND>
BARK4J_AVX512_BF16 inline void output_tile(const uint16_t* p, int64_t ldp, const uint16_t* vp, int hd,
                                           int64_t pairs, const float* inv, float* y, int ldy) {
  __m512 acc[4][ND];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < ND; j++) acc[i][j] = _mm512_setzero_ps();
  const uint32_t* p32 = reinterpret_cast<const uint32_t*>(p);
  const int64_t ldp32 = ldp / 2;
  for (int64_t kp = 0; kp < pairs; kp++) {
    __m512bh b[ND];
    for (int j = 0; j < ND; j++) {
      b[j] = (__m512bh)(_mm512_loadu_si512(vp + (kp * hd + j * 16) * 2));
    }
    for (int i = 0; i < 4; i++) {
      __m512bh a = (__m512bh)(_mm512_set1_epi32(static_cast<int>(p32[i * ldp32 + kp])));
      for (int j = 0; j < ND; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], a, b[j]);
    }
  }
  for (int i = 0; i < 4; i++) {
    const __m512 scale = _mm512_set1_ps(inv[i]);
    for (int j = 0; j < ND; j++) _mm512_storeu_ps(y + i * ldy + j * 16, _mm512_mul_ps(acc[i][j], scale));
  }
}

// softmax numerators of one row of raw scores s[0..valid) into p[0..width) (FP32, or bfloat16
// bits rounded to nearest even), zero from valid on; returns their FP32 sum.
template <typename P>
BARK4J_AVX512 inline float softmax_row(const float* s, int64_t valid, int64_t width, float scale, P* p) {
  __m512 best = _mm512_set1_ps(-INFINITY);
  for (int64_t j = 0; j < valid; j += 16) {
    __mmask16 m = valid - j >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (valid - j)) - 1);
    best = _mm512_mask_max_ps(best, m, best, _mm512_maskz_loadu_ps(m, s + j));
  }
  const __m512 top = _mm512_set1_ps(_mm512_reduce_max_ps(best));
  const __m512 sc = _mm512_set1_ps(scale);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t j = 0; j < width; j += 16) {
    __mmask16 m = valid - j >= 16 ? static_cast<__mmask16>(0xffff)
                  : valid > j     ? static_cast<__mmask16>((1u << (valid - j)) - 1)
                                  : static_cast<__mmask16>(0);
    __m512 e = _mm512_maskz_mov_ps(m, exp_nonpositive(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(s + j), top), sc)));
    sum = _mm512_add_ps(sum, e);
    store16(p + j, e);
  }
  return _mm512_reduce_add_ps(sum);
}

// The work split both kernels share. Items are (row-head, chunk of 16 queries), so a causal pass,
// whose chunks cost more the later they sit, still splits evenly. Each chunk goes 4 queries at a
// time through
//   scores(b, t, rows, kend, s, edge): raw scores of queries t..t+rows-1 of row-head b against
//       keys [0, kend) (whole 64-key tiles) into s, rows kpad apart; edge has room for 4 rows of
//       hd floats where a kernel pads its last queries;
//   the exact softmax of each query over the keys it sees, numerators into p as P;
//   output(b, p, count, inv, dst): p (4 rows, kpad apart) times the first count values, row i
//       scaled by inv[i], into dst (4 rows, hd apart).
template <typename P, typename Scores, typename Output>
inline void attend_in_chunks(int64_t bh, int len, int hd, bool causal, float scale, int64_t kpad, float* y,
                             const Scores& scores, const Output& output) {
  constexpr int CHUNK = 16;
  const int64_t seq = static_cast<int64_t>(len) * hd;
  const int64_t chunks = (len + CHUNK - 1) / CHUNK;
  parallel_range(bh * chunks, 1, bh * seq * len * 4, [&](int64_t i0, int64_t i1) {
    std::vector<float> s(static_cast<size_t>(CHUNK) * kpad);
    std::vector<P> p(static_cast<size_t>(CHUNK) * kpad);
    std::vector<float> out(static_cast<size_t>(4) * hd);  // the last queries' rows, padded to 4
    std::vector<float> edge(static_cast<size_t>(4) * hd);
    for (int64_t item = i0; item < i1; item++) {
      const int64_t b = item / chunks;
      const int t0 = static_cast<int>(item % chunks) * CHUNK;
      const int t1 = std::min(len, t0 + CHUNK);
      float* yb = y + b * seq;
      for (int t = t0; t < t1; t += 4) {
        const int rows = std::min(4, t1 - t);
        const int64_t kend = causal ? round_up(t + rows, 64) : kpad;
        float* st = s.data() + static_cast<int64_t>(t - t0) * kpad;
        P* pt = p.data() + static_cast<int64_t>(t - t0) * kpad;
        scores(b, t, rows, kend, st, edge.data());
        float inv[4] = {0, 0, 0, 0};
        for (int i = 0; i < rows; i++) {
          const int64_t valid = causal ? t + i + 1 : len;
          inv[i] = 1.0f / softmax_row<P>(st + i * kpad, valid, kend, scale, pt + i * kpad);
        }
        for (int i = rows; i < 4; i++) std::memset(pt + i * kpad, 0, sizeof(P) * kend);
        const int64_t count = causal ? std::min<int64_t>(t + rows, len) : len;
        float* dst = rows == 4 ? yb + static_cast<int64_t>(t) * hd : out.data();
        output(b, pt, count, inv, dst);
        if (rows < 4) std::memcpy(yb + static_cast<int64_t>(t) * hd, out.data(), sizeof(float) * rows * hd);
      }
    }
  });
}

// Workspace for one pass: the packed keys, values and queries of every (row, head), reused by
// every layer.
class Bf16Attention {
 public:
  // bh (row, head) pairs of q, k, v, y (bh, len, hd) FP32.
  void run(const float* q, const float* k, const float* v, float* y, int64_t bh, int len, int hd, bool causal,
           float scale) {
    const int64_t seq = static_cast<int64_t>(len) * hd;
    if (!bf16_attention_vectorised(hd)) {
      parallel_range(bh, 1, bh * seq * len * 4, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; b++) {
          attend_bf16_portable(q + b * seq, k + b * seq, v + b * seq, y + b * seq, len, hd, causal, scale);
        }
      });
      return;
    }
    const int64_t kpad = round_up(len, 64);
    const int64_t qpad = round_up(len, 4);
    const int64_t perKeys = kpad * hd;
    const int64_t perQueries = qpad * hd;
    if (keys_.size() < static_cast<size_t>(bh * perKeys)) {
      keys_.assign(bh * perKeys, 0);
      values_.assign(bh * perKeys, 0);
    }
    if (queries_.size() < static_cast<size_t>(bh * perQueries)) queries_.assign(bh * perQueries, 0);
    uint16_t* keys = keys_.data();
    uint16_t* values = values_.data();
    uint16_t* queries = queries_.data();
    parallel_range(bh, 1, bh * seq * 8, [&](int64_t b0, int64_t b1) {
      std::vector<uint16_t> row(hd);
      for (int64_t b = b0; b < b1; b++) {
        pack_keys(k + b * seq, len, hd, kpad, keys + b * perKeys, row.data());
        pack_values(v + b * seq, len, hd, kpad, values + b * perKeys);
        uint16_t* qb = queries + b * perQueries;
        narrow_copy<float, uint16_t>(q + b * seq, qb, static_cast<int>(seq));
        std::memset(qb + seq, 0, sizeof(uint16_t) * (perQueries - seq));
      }
    });
    const int64_t pairsStride = static_cast<int64_t>(hd / 2) * 32;  // uint16 per packed 16-key block
    attend_in_chunks<uint16_t>(
        bh, len, hd, causal, scale, kpad, y,
        [&](int64_t b, int t, int, int64_t kend, float* s, float*) {
          const uint16_t* qt = queries + b * perQueries + static_cast<int64_t>(t) * hd;
          const uint16_t* kb = keys + b * perKeys;
          for (int64_t j = 0; j < kend; j += 64) scores_tile(qt, hd, kb + (j / 16) * pairsStride, s + j, kpad);
        },
        [&](int64_t b, const uint16_t* p, int64_t count, const float* inv, float* dst) {
          const uint16_t* vb = values + b * perKeys;
          const int64_t pairs = (count + 1) / 2;
          for (int d = 0; d < hd; d += 64) {
            const uint16_t* vd = vb + static_cast<int64_t>(d) * 2;
            switch (std::min(64, hd - d) / 16) {
              case 4: output_tile<4>(p, kpad, vd, hd, pairs, inv, dst + d, hd); break;
              case 3: output_tile<3>(p, kpad, vd, hd, pairs, inv, dst + d, hd); break;
              case 2: output_tile<2>(p, kpad, vd, hd, pairs, inv, dst + d, hd); break;
              default: output_tile<1>(p, kpad, vd, hd, pairs, inv, dst + d, hd); break;
            }
          }
        });
  }

 private:
  std::vector<uint16_t> keys_;
  std::vector<uint16_t> values_;
  std::vector<uint16_t> queries_;
};

// ---------------------------------------------------------------- AVX-512 FP32

// The FP32 passes' attention (FP32 weights on AVX-512): the same tiling with FP32 FMAs, nothing
// rounded. libtorch's FP32 flash attention runs its small blocks through MKL's sgemm at about 130
// GFLOP/s here, a fifth of an FP32 fine pass.

// Whether FP32 passes attend with this kernel (else libtorch's SDPA): AVX-512 in use, hd % 16 == 0.
inline bool f32_attention_vectorised(int hd) { return isa_setting() == ISA_AVX512 && hd % 16 == 0; }

// Keys of one (row, head), (len, hd), into [key block of 16][dim][16 keys], zero past len; kpad
// (a multiple of 16) keys. hd is a multiple of 16.
BARK4J_AVX512 inline void pack_keys_f32(const float* k, int len, int hd, int64_t kpad, float* kp) {
  alignas(64) float edge[16 * 16];
  for (int64_t k0 = 0; k0 < kpad; k0 += 16) {
    float* block = kp + k0 * hd;
    const int64_t rows = std::min<int64_t>(16, std::max<int64_t>(0, len - k0));
    for (int d0 = 0; d0 < hd; d0 += 16) {
      if (rows == 16) {
        transpose_16x16(k + k0 * hd + d0, hd, block + d0 * 16, 16);
        continue;
      }
      for (int j = 0; j < 16; j++) {
        for (int d = 0; d < 16; d++) edge[j * 16 + d] = j < rows ? k[(k0 + j) * hd + d0 + d] : 0.0f;
      }
      transpose_16x16(edge, 16, block + d0 * 16, 16);
    }
  }
}

// s[i][j] = q[i] · k[j] for 4 queries (rows of q, hd apart) × 64 keys (4 packed blocks at kb).
BARK4J_AVX512 inline void scores_tile_f32(const float* q, int hd, const float* kb, float* s, int64_t lds) {
  __m512 acc[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
  const int64_t blockStride = static_cast<int64_t>(hd) * 16;
  for (int d = 0; d < hd; d++) {
    __m512 b[4];
    for (int j = 0; j < 4; j++) b[j] = _mm512_loadu_ps(kb + j * blockStride + d * 16);
    for (int i = 0; i < 4; i++) {
      const __m512 a = _mm512_set1_ps(q[i * hd + d]);
      for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) _mm512_storeu_ps(s + i * lds + j * 16, acc[i][j]);
}

// y[i][0..16·ND) = Σ_key p[i][key] · v[key] over `count` keys of v (rows hd apart), scaled by inv[i].
template <int ND>
BARK4J_AVX512 inline void output_tile_f32(const float* p, int64_t ldp, const float* v, int hd, int64_t count,
                                          const float* inv, float* y, int ldy) {
  __m512 acc[4][ND];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < ND; j++) acc[i][j] = _mm512_setzero_ps();
  for (int64_t key = 0; key < count; key++) {
    __m512 b[ND];
    for (int j = 0; j < ND; j++) b[j] = _mm512_loadu_ps(v + key * hd + j * 16);
    for (int i = 0; i < 4; i++) {
      const __m512 a = _mm512_set1_ps(p[i * ldp + key]);
      for (int j = 0; j < ND; j++) acc[i][j] = _mm512_fmadd_ps(a, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < 4; i++) {
    const __m512 scale = _mm512_set1_ps(inv[i]);
    for (int j = 0; j < ND; j++) _mm512_storeu_ps(y + i * ldy + j * 16, _mm512_mul_ps(acc[i][j], scale));
  }
}

// Workspace for one pass: the packed keys of every (row, head), reused by every layer. Queries
// and values are read in place.
class F32Attention {
 public:
  // bh (row, head) pairs of q, k, v, y (bh, len, hd) FP32; f32_attention_vectorised(hd) must hold.
  void run(const float* q, const float* k, const float* v, float* y, int64_t bh, int len, int hd, bool causal,
           float scale) {
    if (!f32_attention_vectorised(hd)) {
      throw std::logic_error("FP32 attention kernel needs AVX-512 and a head size that is a multiple of 16");
    }
    const int64_t seq = static_cast<int64_t>(len) * hd;
    const int64_t kpad = round_up(len, 64);
    const int64_t perKeys = kpad * hd;
    if (keys_.size() < static_cast<size_t>(bh * perKeys)) keys_.assign(bh * perKeys, 0.0f);
    float* keys = keys_.data();
    parallel_range(bh, 1, bh * seq * 8, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) pack_keys_f32(k + b * seq, len, hd, kpad, keys + b * perKeys);
    });
    attend_in_chunks<float>(
        bh, len, hd, causal, scale, kpad, y,
        [&](int64_t b, int t, int rows, int64_t kend, float* s, float* edge) {
          const float* qt = q + b * seq + static_cast<int64_t>(t) * hd;
          if (rows < 4) {  // the tile reads 4 query rows
            std::fill(edge, edge + 4 * hd, 0.0f);
            std::memcpy(edge, qt, sizeof(float) * rows * hd);
            qt = edge;
          }
          const float* kb = keys + b * perKeys;
          for (int64_t j = 0; j < kend; j += 64) scores_tile_f32(qt, hd, kb + j * hd, s + j, kpad);
        },
        [&](int64_t b, const float* p, int64_t count, const float* inv, float* dst) {
          const float* vb = v + b * seq;
          for (int d = 0; d < hd; d += 64) {
            switch (std::min(64, hd - d) / 16) {
              case 4: output_tile_f32<4>(p, kpad, vb + d, hd, count, inv, dst + d, hd); break;
              case 3: output_tile_f32<3>(p, kpad, vb + d, hd, count, inv, dst + d, hd); break;
              case 2: output_tile_f32<2>(p, kpad, vb + d, hd, count, inv, dst + d, hd); break;
              default: output_tile_f32<1>(p, kpad, vb + d, hd, count, inv, dst + d, hd); break;
            }
          }
        });
  }

 private:
  std::vector<float> keys_;
};

}  // namespace bark4j

// Whether BF16 passes attend in bfloat16 on this CPU.
inline bool bark4j_bf16_attention() { return bark4j::bf16_attention_available(); }

// Test hook: y (bh, len, hd) = bfloat16 attention of q, k, v (bh, len, hd) as a pass runs it:
// the AVX-512 BF16 kernel where bf16_attention_vectorised, else the portable loops. Returns 1
// for the kernel, 0 for the portable loops.
inline int bark4j_attend_bf16(const float* q, const float* k, const float* v, int bh, int len, int hd, bool causal,
                              float* y) {
  using namespace bark4j;
  if (bh < 1 || len < 1 || hd < 1) {
    throw std::invalid_argument("bf16 attention: empty shape");
  }
  Bf16Attention attention;
  attention.run(q, k, v, y, bh, len, hd, causal, static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd))));
  return bf16_attention_vectorised(hd) ? 1 : 0;
}

// Test and benchmark hook (raw addresses of contiguous FP32 arrays): y (bh, len, hd) = the FP32
// passes' attention kernel on q, k, v (bh, len, hd). Returns false, computing nothing, where FP32
// passes use libtorch's SDPA instead.
inline bool bark4j_attend_f32(long long q, long long k, long long v, int bh, int len, int hd, bool causal,
                              long long y) {
  using namespace bark4j;
  if (bh < 1 || len < 1 || hd < 1) {
    throw std::invalid_argument("attention: empty shape");
  }
  if (!f32_attention_vectorised(hd)) return false;
  F32Attention attention;
  attention.run(reinterpret_cast<const float*>(q), reinterpret_cast<const float*>(k), reinterpret_cast<const float*>(v),
                reinterpret_cast<float*>(y), bh, len, hd, causal,
                static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd))));
  return true;
}

#endif  // BARK4J_ATTENTION_H

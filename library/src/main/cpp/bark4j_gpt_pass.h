// bark4j native full pass: one call runs a whole GPT forward over every position of a window
// (the semantic prompt, each coarse re-prefill, each fine pass): pre-LayerNorm blocks with the
// KV write into the caller's cache (causal models), bark4j_gemm.h's GEMMs for the matmuls (FP32
// on AVX-512; with bfloat16 weights, its bfloat16 GEMM where the CPU has AVX-512 BF16) and
// libtorch's GEMM otherwise (its bfloat16 GEMM on the plan's bfloat16 weights), attention with bark4j_attention.h's kernels (FP32 on AVX-512; with bfloat16 weights, bfloat16
// where the CPU has AVX-512 BF16) or else libtorch's fused SDPA, and the final norm.
// Norms, bias adds, GELU, the head split and the residual stream are loops here, so Java makes no
// tensors per layer and, with bfloat16 weights, activations go into the GEMMs as bfloat16 without
// a separate cast: LayerNorm and GELU write bfloat16 directly.
//
// Numerics are those of the Java Gpt: the residual stream, norms, biases, attention and the
// result stay in the activation dtype (our FP32 GEMM and attention sum in another order than
// libtorch's); a bfloat16 GEMM rounds its inputs to bfloat16, exactly as Bf16Matmuls' GEMM path
// does, and libtorch's rounds its product to bfloat16 too. The differences, with bfloat16 weights
// on a CPU with AVX-512 BF16: bark4j's bfloat16 GEMM hands its product on in FP32 (one rounding
// fewer), and attention rounds q, k, v and its probabilities to bfloat16 as well.
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
#include <vector>

#include "bark4j_attention.h"
#include "bark4j_gemm.h"
#include "bark4j_gpt_step.h"
#include "bark4j_kernels.h"
#include "bark4j_native_ops.h"
#include "bark4j_rows.h"

namespace bark4j {

// Tensors a pass makes besides one SDPA result per layer; the caller's `created` holds both.
constexpr int PASS_SCRATCH = 9;

// Element type of the GEMM operands (float, double, or uint16_t for bfloat16 bits) and its tensors.
template <typename M> struct Gemm;
template <> struct Gemm<float> : Operand<float> {
  static constexpr c10::ScalarType type = c10::ScalarType::Float;
  static float* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<float>(); }
};
template <> struct Gemm<double> : Operand<double> {
  static constexpr c10::ScalarType type = c10::ScalarType::Double;
  static double* data(const at::Tensor& t) { return reinterpret_cast<const at::TensorBase&>(t).data_ptr<double>(); }
};
template <> struct Gemm<uint16_t> : Operand<uint16_t> {
  static constexpr c10::ScalarType type = c10::ScalarType::BFloat16;
  static uint16_t* data(const at::Tensor& t) {
    return reinterpret_cast<uint16_t*>(reinterpret_cast<const at::TensorBase&>(t).data_ptr<c10::BFloat16>());
  }
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


// y (positions, out) = x (positions, in) · Wᵀ into a preallocated y of the product type P:
// bark4j_gemm.h's kernels for FP32 operands on AVX-512 and for bfloat16 operands with FP32
// products (chosen where the CPU has AVX-512 BF16), else libtorch's GEMM (its bfloat16 GEMM
// through oneDNN, its FP64 GEMM for the reference runs). `address`: W's data.
template <typename M, typename P>
inline void gemm(const at::Tensor& x, const at::Tensor& weight, const void* address, at::Tensor& y, int64_t positions,
                 int in, int out) {
  if constexpr (std::is_same<M, uint16_t>::value && std::is_same<P, float>::value) {
    gemm_bf16(Gemm<uint16_t>::data(x), positions, in, static_cast<const uint16_t*>(address), out, Gemm<float>::data(y));
  } else {
    if constexpr (std::is_same<M, float>::value) {
      if (gemm_f32_available()) {
        gemm_f32(Gemm<float>::data(x), positions, in, static_cast<const float*>(address), out, Gemm<float>::data(y));
        return;
      }
    }
    std::optional<at::Tensor> noBias;
    at::_ops::linear_out::call(x, weight, noBias, y);
  }
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

// The last layer of a pass that needs only the last position of each row: x, q, k, v as in
// gpt_pass (q, k, v with biases, (rows, heads, len, hd)); out (rows, H) gets the final norm.
template <typename T>
inline void last_positions(const GptPlan& p, const GptLayer& w, const T* x, int rows, int len, const T* q,
                           const T* k, const T* v, T* out) {
  const int H = p.hidden;
  const int heads = p.heads;
  const int hd = H / heads;
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hd)));
  std::vector<T> scratch(static_cast<size_t>(rows) * 8 * H);
  T* last = scratch.data();  // the residual of each row's last position
  T* att = last + static_cast<int64_t>(rows) * H;
  T* h = att + static_cast<int64_t>(rows) * H;
  T* mlp = h + static_cast<int64_t>(rows) * H;
  T* tmp = mlp + static_cast<int64_t>(rows) * 4 * H;
  for (int r = 0; r < rows; r++) {
    std::memcpy(last + static_cast<int64_t>(r) * H, x + (static_cast<int64_t>(r) * len + len - 1) * H, sizeof(T) * H);
  }
  parallel_range(static_cast<int64_t>(rows) * heads, 1, static_cast<int64_t>(rows) * heads * len * hd * 2,
                 [&](int64_t b0, int64_t b1) {
    for (int64_t rh = b0; rh < b1; rh++) {
      const int64_t r = rh / heads;
      const int64_t hh = rh % heads;
      attend_one<T, T>(q + (rh * len + len - 1) * hd, k + rh * len * hd, v + rh * len * hd, len, hd, scale,
                    att + r * H + hh * hd);
    }
  });
  block_tail<T>(p, w, last, rows, att, h, mlp, tmp);
  layer_norm<T>(last, rows, H, static_cast<const T*>(p.finalW), static_cast<const T*>(p.finalB), out);
}

// One full pass. x: (rows, len, H) embeddings plus positions, overwritten by the residual
// stream. kv: null, or every layer's (rows, heads, capacity, hd) cache, filled at 0..len-1.
// out: (rows, H) final-normed last positions when lastOnly, else (rows, len, H).
// M: the GEMM operands' type; P: the products' (M, or FP32 from bark4j's bfloat16 GEMM).
template <typename T, typename M, typename P, typename C>
inline void gpt_pass(const GptPlan& p, T* x, int rows, int len, bool causal, C* const* kv, int capacity, T* out,
                     bool lastOnly, Made& made) {
  const int H = p.hidden;
  const int heads = p.heads;
  const int hd = H / heads;
  const int64_t n = static_cast<int64_t>(rows) * len;
  at::Tensor& normedT = made.empty(n, H, Gemm<M>::type);       // LayerNorm out, attention out
  at::Tensor& wideT = made.empty(n, 4 * H, Gemm<M>::type);     // GELU out (and MLP in product when P is M)
  at::Tensor& qkvT = made.empty(n, 3 * H, Gemm<P>::type);
  at::Tensor& projT = made.empty(n, H, Gemm<P>::type);         // attention out / MLP out products
  // the MLP in product: GELU overwrites it in place when it is of the operand type, else it needs
  // its own tensor (counted in PASS_SCRATCH; where it is not made, a slot stays 0)
  at::Tensor& widePT = std::is_same<P, M>::value ? wideT : made.empty(n, 4 * H, Gemm<P>::type);
  const at::Tensor& qT = made.empty(rows, heads, len, hd, Act<T>::type);
  const at::Tensor& kT = made.empty(rows, heads, len, hd, Act<T>::type);
  const at::Tensor& vT = made.empty(rows, heads, len, hd, Act<T>::type);
  at::Tensor& yT = made.empty(rows, heads, len, hd, Act<T>::type);
  M* normed = Gemm<M>::data(normedT);
  M* wide = Gemm<M>::data(wideT);
  P* qkv = Gemm<P>::data(qkvT);
  P* proj = Gemm<P>::data(projT);
  const P* wideP = Gemm<P>::data(widePT);
  T* q = Act<T>::data(qT);
  T* k = Act<T>::data(kT);
  T* v = Act<T>::data(vT);
  T* y = Act<T>::data(yT);
  // BF16 operands: attention in bfloat16 too where the CPU has AVX-512 BF16 (bark4j_attention.h)
  const bool bf16Attention = std::is_same<M, uint16_t>::value && bf16_attention_available();
  // FP32 operands: bark4j_attention.h's FP32 kernel on AVX-512 (17% of a fine pass's samples,
  // where libtorch's SDPA took 21%)
  const bool f32Attention = std::is_same<M, float>::value && f32_attention_vectorised(hd);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  Bf16Attention attention;
  F32Attention attentionF32;
  for (int l = 0; l < p.layers; l++) {
    const GptLayer& w = p.layer[l];
    norm_rows<T, M>(x, n, H, static_cast<const T*>(w.ln1w), static_cast<const T*>(w.ln1b), normed);
    gemm<M, P>(normedT, *w.qkvTensor, w.qkvW, qkvT, n, H, 3 * H);
    // q, k, v (rows, heads, len, hd) with their biases, for SDPA
    const T* qkvB = static_cast<const T*>(w.qkvB);
    parallel_range(n, 16, n * 3 * H * 2, [&](int64_t p0, int64_t p1) {
      for (int64_t pos = p0; pos < p1; pos++) {
        const int64_t r = pos / len;
        const int64_t t = pos % len;
        const P* src = qkv + pos * 3 * H;
        for (int part = 0; part < 3; part++) {
          T* dst = part == 0 ? q : part == 1 ? k : v;
          for (int hh = 0; hh < heads; hh++) {
            const int c = part * H + hh * hd;
            widen_add<T, P>(src + c, qkvB == nullptr ? nullptr : qkvB + c, dst + ((r * heads + hh) * len + t) * hd, hd);
          }
        }
      }
    });
    if (kv != nullptr) {
      for (int64_t rh = 0; rh < static_cast<int64_t>(rows) * heads; rh++) {
        narrow_copy<T, C>(k + rh * len * hd, kv[2 * l] + rh * capacity * hd, len * hd);
        narrow_copy<T, C>(v + rh * len * hd, kv[2 * l + 1] + rh * capacity * hd, len * hd);
      }
    }
    if (lastOnly && l == p.layers - 1) {
      // only the last positions go on (their keys and values, of every position, are cached
      // now): their attention, projection and MLP with the decode step's kernels, then the
      // final norm; the other positions' would be computed for nothing (9/12 of a layer's FLOPs)
      last_positions<T>(p, w, x, rows, len, q, k, v, out);
      return;
    }
    bool attended = false;
    if constexpr (std::is_same<T, float>::value) {
      if (bf16Attention) {
        attention.run(q, k, v, y, static_cast<int64_t>(rows) * heads, len, hd, causal, static_cast<float>(scale));
        attended = true;
      } else if (f32Attention) {
        attentionF32.run(q, k, v, y, static_cast<int64_t>(rows) * heads, len, hd, causal, static_cast<float>(scale));
        attended = true;
      }
    }
    if (!attended) {
      std::optional<at::Tensor> noMask;
      const at::Tensor& attended = made.keep(at::_ops::scaled_dot_product_attention::call(
          qT, kT, vT, noMask, 0.0, causal, std::nullopt, false));
      // SDPA may hand back a strided view; copy_ lays it out as (rows, heads, len, hd)
      at::_ops::copy_::call(yT, attended, false);
    }
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
    gemm<M, P>(normedT, *w.outTensor, w.outW, projT, n, H, H);
    add_residual<T, P>(x, proj, static_cast<const T*>(w.outB), n, H);
    norm_rows<T, M>(x, n, H, static_cast<const T*>(w.ln2w), static_cast<const T*>(w.ln2b), normed);
    gemm<M, P>(normedT, *w.inTensor, w.inW, widePT, n, H, 4 * H);
    const T* inB = static_cast<const T*>(w.inB);
    const int64_t width = 4 * static_cast<int64_t>(H);
    parallel_range(n, 4, n * width * 16, [&](int64_t p0, int64_t p1) {
      for (int64_t pos = p0; pos < p1; pos++) {
        gelu_row<T, P, M>(wideP + pos * width, inB, wide + pos * width, static_cast<int>(width));
      }
    });
    gemm<M, P>(wideT, *w.mlpOutTensor, w.mlpOutW, projT, n, 4 * H, H);
    add_residual<T, P>(x, proj, static_cast<const T*>(w.mlpOutB), n, H);
  }
  norm_rows<T, T>(x, n, H, static_cast<const T*>(p.finalW), static_cast<const T*>(p.finalB), out);
}

}  // namespace bark4j

// x, out: DJL tensor handles (see gpt_pass), contiguous, of the plan's activation dtype.
// kvHandles: null, or each layer's keys and values as for bark4j_gpt_step (bfloat16 when kvBf16),
// empty until now. created: PASS_SCRATCH + layers slots, filled with heap handles of the tensors
// made here (0 for none), which the caller frees, also when this throws.
inline void bark4j_gpt_pass(long long plan, long long xHandle, int rows, int len, bool causal,
                            const long long* kvHandles, bool kvBf16, int capacity, long long outHandle, bool lastOnly,
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
  if (kvHandles != nullptr) kv_pointers(p, kvHandles, kvBf16, kv);
  const bool cached = kvHandles != nullptr;
  if (p.isDouble) {
    gpt_pass<double, double, double, double>(p, static_cast<double*>(x), rows, len, causal,
                                             cached ? reinterpret_cast<double* const*>(kv.data()) : nullptr, capacity,
                                             static_cast<double*>(out), lastOnly, made);
  } else if (p.wtype == WEIGHT_BF16) {
    // bark4j's bfloat16 GEMM (FP32 products) where the CPU has AVX-512 BF16, else libtorch's
    const bool own = bf16_gemm_setting();
    if (kvBf16) {
      auto* cache = cached ? reinterpret_cast<uint16_t* const*>(kv.data()) : nullptr;
      if (own) {
        gpt_pass<float, uint16_t, float, uint16_t>(p, static_cast<float*>(x), rows, len, causal, cache, capacity,
                                                   static_cast<float*>(out), lastOnly, made);
      } else {
        gpt_pass<float, uint16_t, uint16_t, uint16_t>(p, static_cast<float*>(x), rows, len, causal, cache, capacity,
                                                      static_cast<float*>(out), lastOnly, made);
      }
    } else {
      auto* cache = cached ? reinterpret_cast<float* const*>(kv.data()) : nullptr;
      if (own) {
        gpt_pass<float, uint16_t, float, float>(p, static_cast<float*>(x), rows, len, causal, cache, capacity,
                                                static_cast<float*>(out), lastOnly, made);
      } else {
        gpt_pass<float, uint16_t, uint16_t, float>(p, static_cast<float*>(x), rows, len, causal, cache, capacity,
                                                   static_cast<float*>(out), lastOnly, made);
      }
    }
  } else if (kvBf16) {
    gpt_pass<float, float, float, uint16_t>(p, static_cast<float*>(x), rows, len, causal,
                                            cached ? reinterpret_cast<uint16_t* const*>(kv.data()) : nullptr, capacity,
                                            static_cast<float*>(out), lastOnly, made);
  } else {
    gpt_pass<float, float, float, float>(p, static_cast<float*>(x), rows, len, causal,
                                         cached ? reinterpret_cast<float* const*>(kv.data()) : nullptr, capacity,
                                         static_cast<float*>(out), lastOnly, made);
  }
}

#endif  // BARK4J_GPT_PASS_H

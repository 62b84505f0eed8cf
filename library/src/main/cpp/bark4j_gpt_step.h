// bark4j native decode step: one call runs a whole causal GPT forward for one new position of
// every row (embedding, pre-LayerNorm blocks with the KV write into the caller's preallocated
// cache, attention over the cached positions, exact-GELU MLP, final norm, head), with the
// small-batch kernels of bark4j_kernels.h for every matmul. Only the logits of the vocabulary
// range the caller samples from (and their argmax) come back.
//
// The Java Gpt is the reference this mirrors line by line: same order of operations, 32-bit (or
// 64-bit) residual stream, LayerNorm eps 1e-5 with biased variance, erf GELU, softmax attention
// scaled by 1/sqrt(head size).
#ifndef BARK4J_GPT_STEP_H
#define BARK4J_GPT_STEP_H

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "bark4j_kernels.h"
#include "bark4j_native_ops.h"
#include "bark4j_rows.h"

namespace bark4j {

// Field order of the config array Java passes to bark4j_gpt_create.
enum GptConfigField {
  CFG_LAYERS = 0, CFG_HEADS, CFG_HIDDEN, CFG_VOCAB_IN, CFG_VOCAB_OUT, CFG_BLOCK, CFG_DOUBLE, CFG_WTYPE,
  CFG_TOKENS_BF16, CFG_FIELDS
};
// Per-layer address order (12 entries); the model-wide ones come first (5 entries).
enum GptAddress { A_TOKENS = 0, A_POSITIONS, A_FINAL_W, A_FINAL_B, A_HEAD, A_MODEL };
enum LayerAddress {
  L_LN1_W = 0, L_LN1_B, L_QKV_W, L_QKV_B, L_OUT_W, L_OUT_B, L_LN2_W, L_LN2_B, L_IN_W, L_IN_B,
  L_MLP_OUT_W, L_MLP_OUT_B, L_FIELDS
};

struct GptLayer {
  const void* ln1w;
  const void* ln1b;
  const void* qkvW;
  const void* qkvB;
  const void* outW;
  const void* outB;
  const void* ln2w;
  const void* ln2b;
  const void* inW;
  const void* inB;
  const void* mlpOutW;
  const void* mlpOutB;
  // the four matmul weights as tensors (FP32, FP64 or bfloat16, as wtype) for the full passes'
  // libtorch GEMMs; null when the plan only steps
  const at::Tensor* qkvTensor;
  const at::Tensor* outTensor;
  const at::Tensor* inTensor;
  const at::Tensor* mlpOutTensor;
};
// Per-layer order of the tensor handles given to bark4j_gpt_create.
enum LayerTensor { T_QKV = 0, T_OUT, T_IN, T_MLP_OUT, T_FIELDS };

struct GptPlan {
  int layers, heads, hidden, vocabIn, vocabOut, block;
  bool isDouble;
  int wtype;  // of the matmul weights and the head
  bool tokensBf16;  // the token embedding table is bfloat16 (else the activation dtype)
  const void* tokens;
  const void* positions;
  const void* finalW;
  const void* finalB;
  const void* head;
  std::vector<GptLayer> layer;
  bool passes;  // whether the layers' weight tensors are known (bark4j_gpt_pass)
  // Read-only once made: steps of concurrent generations share it, so their scratch is per thread.
};

// LayerNorm (eps 1e-5, biased variance) of `rows` rows of n.
template <typename T>
inline void layer_norm(const T* x, int rows, int n, const T* w, const T* b, T* y) {
  for (int r = 0; r < rows; r++) {
    norm_row<T, T>(x + static_cast<int64_t>(r) * n, n, w, b, y + static_cast<int64_t>(r) * n);
  }
}

// out[j] = q · k_j for the `count` rows k_j of k (n values each).
inline void dot_rows(const float* q, int n, const float* k, int count, float* out) {
  linear_part_f32<float>(q, 1, n, k, nullptr, out, count, 0, count);
}

inline void dot_rows(const float* q, int n, const uint16_t* k, int count, float* out) {
  linear_part_f32<uint16_t>(q, 1, n, k, nullptr, out, count, 0, count);
}

inline void dot_rows(const double* q, int n, const double* k, int count, double* out) {
  rows_portable<double, double>(q, 1, n, k, nullptr, out, count, 0, count);
}

template <typename T>
inline void linear_any(const GptPlan& p, const T* x, int rows, int in, const void* w, const void* bias, T* y,
                       int64_t out);

template <>
inline void linear_any<float>(const GptPlan& p, const float* x, int rows, int in, const void* w,
                              const void* bias, float* y, int64_t out) {
  linear_f32(x, rows, in, w, p.wtype, static_cast<const float*>(bias), y, out, out);
}

template <>
inline void linear_any<double>(const GptPlan& p, const double* x, int rows, int in, const void* w,
                               const void* bias, double* y, int64_t out) {
  linear_f64(x, rows, in, static_cast<const double*>(w), static_cast<const double*>(bias), y, out, out);
}

// Attention of one query over `keys` cached positions: out = softmax(K · q · scale) · V, with K
// and V of the cache's element type C (the activation dtype, or bfloat16 bits).
template <typename T, typename C>
inline void attend_one(const T* q, const C* kb, const C* vb, int keys, int hd, T scale, T* out) {
  thread_local std::vector<T> score;
  if (score.size() < static_cast<size_t>(keys)) score.resize(keys);
  // scores = K · q over the cached positions (each key a "weight row" of the one-row kernel)
  dot_rows(q, hd, kb, keys, score.data());
  softmax_scaled<T>(score.data(), keys, scale);
  weighted_sum(score.data(), vb, keys, hd, out);
}

// The rest of a block once attention is done, for `rows` positions with the small-batch kernels:
// x += att · Woutᵀ + b, then x += MLP(LN2(x)). h (rows·H), mlp (4·rows·H), tmp (rows·H): scratch.
template <typename T>
inline void block_tail(const GptPlan& p, const GptLayer& w, T* x, int rows, const T* att, T* h, T* mlp, T* tmp) {
  const int H = p.hidden;
  const int64_t n = static_cast<int64_t>(rows) * H;
  linear_any<T>(p, att, rows, H, w.outW, w.outB, tmp, H);
  for (int64_t i = 0; i < n; i++) x[i] += tmp[i];
  layer_norm<T>(x, rows, H, static_cast<const T*>(w.ln2w), static_cast<const T*>(w.ln2b), h);
  linear_any<T>(p, h, rows, H, w.inW, w.inB, mlp, 4 * H);
  // a scalar erf costs ~10 ns: 37k of them per bark-small step are worth both threads; the
  // AVX-512 GELU takes about a microsecond per row and runs on this one
  parallel_range(4 * n, 256, rows_vectorised<T>() ? 4 * n : 4 * n * 16, [&](int64_t i0, int64_t i1) {
    gelu_row<T, T>(mlp + i0, static_cast<const T*>(nullptr), static_cast<int>(i1 - i0));
  });
  linear_any<T>(p, mlp, rows, 4 * H, w.mlpOutW, w.mlpOutB, tmp, H);
  for (int64_t i = 0; i < n; i++) x[i] += tmp[i];
}

// One decode step. kv[2 * l] / kv[2 * l + 1]: layer l's keys / values (rows, heads, capacity, hd),
// of element type C: the activation dtype, or bfloat16 bits (a BF16 model's cache, which halves
// the bytes each step's attention reads; new entries are rounded to nearest even).
template <typename T, typename C>
inline void gpt_step(const GptPlan& p, const long long* ids, int rows, int pos, C* const* kv, int capacity, int from,
                     int to, double* logits, int* argmax) {
  const int H = p.hidden;
  const int heads = p.heads;
  const int hd = H / heads;
  const int64_t n = static_cast<int64_t>(rows) * H;
  // x (n), h (n), qkv (3n), att (n), mlp (4n), tmp (n), out (rows * (to - from))
  size_t need = static_cast<size_t>(11 * n + static_cast<int64_t>(rows) * (to - from));
  // the calling thread's scratch, grown to the largest step it has run, then reused: nothing is
  // allocated per step, and concurrent generations on one model do not wait for each other
  thread_local std::vector<double> scratch;
  if (scratch.size() * sizeof(double) < need * sizeof(T)) {
    scratch.resize((need * sizeof(T) + sizeof(double) - 1) / sizeof(double));
  }
  T* x = reinterpret_cast<T*>(scratch.data());
  T* h = x + n;
  T* qkv = h + n;
  T* att = qkv + 3 * n;
  T* mlp = att + n;
  T* tmp = mlp + 4 * n;
  T* out = tmp + n;

  const T* positions = static_cast<const T*>(p.positions) + static_cast<int64_t>(pos) * H;
  for (int r = 0; r < rows; r++) {
    if (p.tokensBf16) {
      widen_add<T, uint16_t>(static_cast<const uint16_t*>(p.tokens) + ids[r] * H, positions, x + r * H, H);
    } else {
      const T* e = static_cast<const T*>(p.tokens) + ids[r] * H;
      for (int i = 0; i < H; i++) x[r * H + i] = e[i] + positions[i];
    }
  }
  const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hd)));
  const int keys = pos + 1;
  for (int l = 0; l < p.layers; l++) {
    const GptLayer& w = p.layer[l];
    layer_norm<T>(x, rows, H, static_cast<const T*>(w.ln1w), static_cast<const T*>(w.ln1b), h);
    linear_any<T>(p, h, rows, H, w.qkvW, w.qkvB, qkv, 3 * H);
    C* kc = kv[2 * l];
    C* vc = kv[2 * l + 1];
    for (int r = 0; r < rows; r++) {
      for (int hh = 0; hh < heads; hh++) {
        int64_t at = ((static_cast<int64_t>(r) * heads + hh) * capacity + pos) * hd;
        narrow_copy<T, C>(qkv + static_cast<int64_t>(r) * 3 * H + H + hh * hd, kc + at, hd);
        narrow_copy<T, C>(qkv + static_cast<int64_t>(r) * 3 * H + 2 * H + hh * hd, vc + at, hd);
      }
    }
    parallel_range(static_cast<int64_t>(rows) * heads, 1, static_cast<int64_t>(rows) * heads * keys * hd * 2,
                   [&](int64_t b0, int64_t b1) {
      for (int64_t rh = b0; rh < b1; rh++) {
        int r = static_cast<int>(rh / heads);
        int hh = static_cast<int>(rh % heads);
        attend_one<T, C>(qkv + static_cast<int64_t>(r) * 3 * H + hh * hd,
                      kc + (static_cast<int64_t>(r) * heads + hh) * capacity * hd,
                      vc + (static_cast<int64_t>(r) * heads + hh) * capacity * hd, keys, hd, scale,
                      att + static_cast<int64_t>(r) * H + hh * hd);
      }
    });
    block_tail<T>(p, w, x, rows, att, h, mlp, tmp);
  }
  layer_norm<T>(x, rows, H, static_cast<const T*>(p.finalW), static_cast<const T*>(p.finalB), h);
  const int width = to - from;
  const void* head = p.wtype == WEIGHT_BF16
                         ? static_cast<const void*>(static_cast<const uint16_t*>(p.head) + static_cast<int64_t>(from) * H)
                         : static_cast<const void*>(static_cast<const T*>(p.head) + static_cast<int64_t>(from) * H);
  linear_any<T>(p, h, rows, H, head, nullptr, out, width);
  for (int r = 0; r < rows; r++) {
    const T* lr = out + static_cast<int64_t>(r) * width;
    int best = 0;
    for (int i = 0; i < width; i++) {
      if (logits != nullptr) logits[static_cast<int64_t>(r) * width + i] = lr[i];
      if (lr[i] > lr[best]) best = i;
    }
    if (argmax != nullptr) argmax[r] = best;
  }
}

}  // namespace bark4j

// config: see GptConfigField; addresses: 5 model-wide then 12 per layer (0 = absent bias). With
// BF16 weights the matmul weights and the head are bfloat16 (the caller's rounded tensors); the
// norms, embeddings and biases stay in the activation dtype. Everything is read in place.
// tensors: null (decode steps only), or the DJL/bridge tensor handles of each layer's four matmul
// weights (LayerTensor order), the same weights as the addresses, for bark4j_gpt_pass.
inline long long bark4j_gpt_create(const int* config, const long long* addresses, const long long* tensors) {
  using namespace bark4j;
  GptPlan* p = new GptPlan();
  try {
    p->layers = config[CFG_LAYERS];
    p->heads = config[CFG_HEADS];
    p->hidden = config[CFG_HIDDEN];
    p->vocabIn = config[CFG_VOCAB_IN];
    p->vocabOut = config[CFG_VOCAB_OUT];
    p->block = config[CFG_BLOCK];
    p->isDouble = config[CFG_DOUBLE] != 0;
    p->wtype = config[CFG_WTYPE];
    p->tokensBf16 = config[CFG_TOKENS_BF16] != 0;
    if (p->layers < 1 || p->heads < 1 || p->hidden < 1 || p->hidden % p->heads != 0 || p->vocabIn < 1 ||
        p->vocabOut < 1 || p->block < 1) {
      throw std::invalid_argument("invalid GPT config");
    }
    if (p->tokensBf16 && p->isDouble) {
      throw std::invalid_argument("a bfloat16 token table goes with FP32 activations only");
    }
    if (p->isDouble ? p->wtype != WEIGHT_F64 : p->wtype == WEIGHT_F64) {
      throw std::invalid_argument("FP64 weights go with FP64 activations only");
    }
    auto addr = [&](int i) { return reinterpret_cast<const void*>(addresses[i]); };
    p->passes = tensors != nullptr;
    p->tokens = addr(A_TOKENS);
    p->positions = addr(A_POSITIONS);
    p->finalW = addr(A_FINAL_W);
    p->finalB = addr(A_FINAL_B);
    p->head = addr(A_HEAD);
    for (int l = 0; l < p->layers; l++) {
      int b = A_MODEL + l * L_FIELDS;
      GptLayer w;
      w.ln1w = addr(b + L_LN1_W);
      w.ln1b = addr(b + L_LN1_B);
      w.qkvW = addr(b + L_QKV_W);
      w.qkvB = addr(b + L_QKV_B);
      w.outW = addr(b + L_OUT_W);
      w.outB = addr(b + L_OUT_B);
      w.ln2w = addr(b + L_LN2_W);
      w.ln2b = addr(b + L_LN2_B);
      w.inW = addr(b + L_IN_W);
      w.inB = addr(b + L_IN_B);
      w.mlpOutW = addr(b + L_MLP_OUT_W);
      w.mlpOutB = addr(b + L_MLP_OUT_B);
      auto tensor = [&](int i) {
        return tensors == nullptr ? nullptr : reinterpret_cast<const at::Tensor*>(tensors[l * T_FIELDS + i]);
      };
      w.qkvTensor = tensor(T_QKV);
      w.outTensor = tensor(T_OUT);
      w.inTensor = tensor(T_IN);
      w.mlpOutTensor = tensor(T_MLP_OUT);
      if (tensors != nullptr && (!w.qkvTensor || !w.outTensor || !w.inTensor || !w.mlpOutTensor)) {
        throw std::invalid_argument("missing matmul weight tensor of layer " + std::to_string(l));
      }
      p->layer.push_back(w);
    }
    return reinterpret_cast<long long>(p);
  } catch (...) {
    delete p;
    throw;
  }
}

inline void bark4j_gpt_free(long long plan) { delete reinterpret_cast<bark4j::GptPlan*>(plan); }

// Data of each layer's keys and values: tensors of the activation dtype, or bfloat16 (kvBf16).
inline void kv_pointers(const bark4j::GptPlan& p, const long long* kvHandles, bool kvBf16, std::vector<void*>& kv) {
  if (kvBf16 && p.isDouble) {
    throw std::invalid_argument("a bfloat16 KV cache goes with FP32 activations only");
  }
  kv.resize(2 * p.layers);
  for (int i = 0; i < 2 * p.layers; i++) {
    kv[i] = kvBf16 ? reinterpret_cast<void*>(bark4j_bf16_address(kvHandles[i])) : bark4j_data_ptr(kvHandles[i], p.isDouble);
  }
}

// kvHandles: tensor handles, keys and values of each layer, (rows, heads, capacity, hd), of the
// plan's activation dtype, or bfloat16 when kvBf16 (bark4j_kv_bf16). logits: rows * (to - from)
// or null; argmax: rows or null.
inline void bark4j_gpt_step(long long plan, const long long* ids, int rows, int pos, const long long* kvHandles,
                            bool kvBf16, int capacity, int from, int to, double* logits, int* argmax) {
  using namespace bark4j;
  const GptPlan& p = *reinterpret_cast<const GptPlan*>(plan);
  if (rows < 1 || pos < 0 || pos >= capacity || pos >= p.block || from < 0 || to > p.vocabOut || from >= to) {
    throw std::invalid_argument("gpt step: rows " + std::to_string(rows) + ", position " + std::to_string(pos) +
                                ", capacity " + std::to_string(capacity) + ", logits [" + std::to_string(from) +
                                ", " + std::to_string(to) + ") out of range");
  }
  for (int r = 0; r < rows; r++) {
    if (ids[r] < 0 || ids[r] >= p.vocabIn) {
      throw std::invalid_argument("token id " + std::to_string(ids[r]) + " outside the input vocabulary");
    }
  }
  thread_local std::vector<void*> kv;
  kv_pointers(p, kvHandles, kvBf16, kv);
  if (p.isDouble) {
    gpt_step<double, double>(p, ids, rows, pos, reinterpret_cast<double* const*>(kv.data()), capacity, from, to,
                             logits, argmax);
  } else if (kvBf16) {
    gpt_step<float, uint16_t>(p, ids, rows, pos, reinterpret_cast<uint16_t* const*>(kv.data()), capacity, from,
                              to, logits, argmax);
  } else {
    gpt_step<float, float>(p, ids, rows, pos, reinterpret_cast<float* const*>(kv.data()), capacity, from, to,
                           logits, argmax);
  }
}

namespace bark4j {

inline at::Tensor empty_bf16(int64_t a, int64_t b, int64_t c, int64_t d) {
  const c10::SymInt sizes[4] = {c10::SymInt(a), c10::SymInt(b), c10::SymInt(c), c10::SymInt(d)};
  return at::_ops::empty_memory_format::call(c10::ArrayRef<c10::SymInt>(sizes, 4), c10::ScalarType::BFloat16,
                                             std::nullopt, std::nullopt, std::nullopt, std::nullopt);
}

}  // namespace bark4j

// A new zeroed bfloat16 (batch, heads, capacity, hd) tensor: one layer's keys or values of a
// bfloat16 KV cache. A heap handle for DJL's deleter; never hand it to DJL as an NDArray.
inline long long bark4j_kv_bf16(int batch, int heads, int capacity, int hd) {
  if (batch < 1 || heads < 1 || capacity < 1 || hd < 1) {
    throw std::invalid_argument("bfloat16 KV cache: empty shape");
  }
  at::Tensor t = bark4j::empty_bf16(batch, heads, capacity, hd);
  std::memset(reinterpret_cast<void*>(bark4j_bf16_address(reinterpret_cast<long long>(&t))), 0,
              sizeof(uint16_t) * static_cast<size_t>(batch) * heads * capacity * hd);
  return bark4j::toHandle(t);
}

// A new bfloat16 tensor of rows rows[0..n) (in that order) of a (batch, heads, capacity, hd)
// bfloat16 cache tensor: a batch that drops its finished rows.
inline long long bark4j_kv_bf16_rows(long long handle, int batch, int heads, int capacity, int hd,
                                     const long long* rows, int n) {
  if (n < 1) {
    throw std::invalid_argument("bfloat16 KV cache: no rows kept");
  }
  for (int i = 0; i < n; i++) {
    if (rows[i] < 0 || rows[i] >= batch) {
      throw std::invalid_argument("row " + std::to_string(rows[i]) + " of a batch of " + std::to_string(batch));
    }
  }
  const int64_t per = static_cast<int64_t>(heads) * capacity * hd;
  const uint16_t* src = reinterpret_cast<const uint16_t*>(bark4j_bf16_address(handle));
  at::Tensor t = bark4j::empty_bf16(n, heads, capacity, hd);
  uint16_t* dst = reinterpret_cast<uint16_t*>(bark4j_bf16_address(reinterpret_cast<long long>(&t)));
  for (int i = 0; i < n; i++) std::memcpy(dst + i * per, src + rows[i] * per, sizeof(uint16_t) * per);
  return bark4j::toHandle(t);
}

#endif  // BARK4J_GPT_STEP_H

// bark4j native bridge: calls a few ATen operators that DJL 0.36 does not expose,
// directly on DJL tensor handles (a DJL PtNDArray handle is an at::Tensor* on the heap).
//
// No libtorch headers are used. The declarations below reproduce, for libtorch 2.7.1
// built with g++ on linux-x86_64 (Itanium C++ ABI), exactly the mangled names and the
// calling convention of the few exported functions we call:
//  - at::Tensor holds one intrusive pointer and are not trivially
//    copyable, so they are returned through a hidden pointer and passed by reference;
//  - c10::SymInt holds one int64_t and is not trivially copyable either (passed by
//    reference when passed by value); for small non-negative values its bits are the
//    plain integer, so an array of int64_t is an array of SymInt;
//  - c10::ArrayRef<T> is {const T*, size_t}, trivially copyable.
// The stand-in types never touch reference counts: copies are bitwise and destructors
// are empty (but user-provided, which is what makes them non-trivial for calls).
// Reference ownership is therefore handled by hand below.
#ifndef BARK4J_NATIVE_OPS_H
#define BARK4J_NATIVE_OPS_H

#include <cstddef>
#include <cstdint>
#include <optional>

namespace c10 {

template <typename T>
class ArrayRef {
 public:
  ArrayRef(const T* data, size_t length) : data_(data), length_(length) {}
 private:
  const T* data_;
  size_t length_;
};

class SymInt {
 public:
  explicit SymInt(int64_t value) : data_(value) {}
  SymInt(const SymInt& other) : data_(other.data_) {}
  ~SymInt() {}
 private:
  int64_t data_;
};

// Argument types of _to_copy, with the layouts of libtorch 2.7.1: one-byte enums and a
// two-byte Device, all trivially copyable (passed in registers inside std::optional).
enum class ScalarType : int8_t { Float = 6, Double = 7, BFloat16 = 15 };
enum class Layout : int8_t { Strided = 0 };
enum class MemoryFormat : int8_t { Contiguous = 0 };
enum class DeviceType : int8_t { CPU = 0 };
struct Device {
  DeviceType type;
  int8_t index;
};
// Only named (data_ptr<c10::BFloat16>); its bits are read as uint16_t.
struct BFloat16 {
  uint16_t x;
};

}  // namespace c10

namespace at {

class Tensor {
 public:
  explicit Tensor(void* impl) : impl_(impl) {}
  Tensor(const Tensor& other) : impl_(other.impl_) {}
  ~Tensor() {}
  void* impl() const { return impl_; }
 private:
  void* impl_;
};

// Base of at::Tensor (same single pointer); only its exported data_ptr<T> instantiations are
// called, which check the dtype (c10::Error otherwise) and return the first element's address.
class TensorBase {
 public:
  template <typename T>
  T* data_ptr() const;
 private:
  void* impl_;
};

namespace _ops {

struct scaled_dot_product_attention {
  static Tensor call(const Tensor& query, const Tensor& key, const Tensor& value,
                     const std::optional<Tensor>& attn_mask, double dropout_p, bool is_causal,
                     std::optional<double> scale, bool enable_gqa);
};

struct linear {
  static Tensor call(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias);
};

struct linear_out {
  static Tensor& call(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias, Tensor& out);
};

struct empty_memory_format {
  static Tensor call(c10::ArrayRef<c10::SymInt> size, std::optional<c10::ScalarType> dtype,
                     std::optional<c10::Layout> layout, std::optional<c10::Device> device,
                     std::optional<bool> pin_memory, std::optional<c10::MemoryFormat> memory_format);
};

struct copy_ {
  static Tensor& call(Tensor& self, const Tensor& src, bool non_blocking);
};

struct _to_copy {
  static Tensor call(const Tensor& self, std::optional<c10::ScalarType> dtype, std::optional<c10::Layout> layout,
                     std::optional<c10::Device> device, std::optional<bool> pin_memory, bool non_blocking,
                     std::optional<c10::MemoryFormat> memory_format);
};

struct conv_transpose1d {
  static Tensor call(const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
                     c10::ArrayRef<c10::SymInt> stride, c10::ArrayRef<c10::SymInt> padding,
                     c10::ArrayRef<c10::SymInt> output_padding, c10::SymInt groups,
                     c10::ArrayRef<c10::SymInt> dilation);
};

}  // namespace _ops

// The global ATen context (torch.backends.* switches). Only these members are called.
class Context {
 public:
  void setUserEnabledNNPACK(bool enabled);
  bool userEnabledNNPACK() const;
};
Context& globalContext();

}  // namespace at

namespace bark4j {

static_assert(sizeof(at::Tensor) == sizeof(void*), "at::Tensor is one pointer");
static_assert(sizeof(c10::SymInt) == sizeof(int64_t), "c10::SymInt is one int64_t");
static_assert(sizeof(std::optional<at::Tensor>) == 2 * sizeof(void*), "optional<Tensor> layout");
static_assert(sizeof(c10::Device) == 2 && sizeof(std::optional<c10::ScalarType>) == 2, "_to_copy argument layouts");

// A contiguous copy of `t` in `dtype` (what Tensor::to(dtype) does).
inline at::Tensor toDtype(const at::Tensor& t, c10::ScalarType dtype) {
  return at::_ops::_to_copy::call(t, dtype, std::nullopt, std::nullopt, std::nullopt, false,
                                  c10::MemoryFormat::Contiguous);
}

// Takes over the reference held by a returned tensor and puts it on the heap, where DJL
// expects it (DJL deletes it later with the real at::Tensor destructor).
inline long long toHandle(const at::Tensor& owned) {
  return reinterpret_cast<long long>(new at::Tensor(owned));
}

inline const at::Tensor& fromHandle(long long handle) {
  return *reinterpret_cast<const at::Tensor*>(handle);
}

inline std::optional<at::Tensor> optionalFromHandle(long long handle) {
  if (handle == 0) {
    return std::nullopt;
  }
  return std::optional<at::Tensor>(fromHandle(handle));
}

// Address of a CPU tensor's first element, float (or double when isDouble).
inline void* tensorData(long long handle, bool isDouble) {
  const at::TensorBase& base = *reinterpret_cast<const at::TensorBase*>(handle);
  return isDouble ? static_cast<void*>(base.data_ptr<double>())
                  : static_cast<void*>(base.data_ptr<float>());
}

}  // namespace bark4j

// torch.backends.nnpack.enabled = False. NNPACK serves only some float convolutions, and on CPUs it
// does not support (e.g. recent AMD EPYC) libtorch probes it at every such convolution and prints
// "Could not initialize NNPACK! Reason: Unsupported hardware." into the application's output; with the
// switch off it is never probed. bark4j's convolutions take the same kernels either way there.
inline void bark4j_disable_nnpack() {
  at::globalContext().setUserEnabledNNPACK(false);
}

inline bool bark4j_nnpack_enabled() {
  return at::globalContext().userEnabledNNPACK();
}

inline long long bark4j_sdpa(long long query, long long key, long long value, long long mask,
                             bool causal) {
  std::optional<at::Tensor> attnMask = bark4j::optionalFromHandle(mask);
  at::Tensor out = at::_ops::scaled_dot_product_attention::call(
      bark4j::fromHandle(query), bark4j::fromHandle(key), bark4j::fromHandle(value), attnMask,
      0.0, causal, std::nullopt, false);
  return bark4j::toHandle(out);
}

inline long long bark4j_conv_transpose1d(long long input, long long weight, long long bias,
                                         long long stride, long long padding,
                                         long long outputPadding, long long groups,
                                         long long dilation) {
  const c10::SymInt strideArg(stride);
  const c10::SymInt paddingArg(padding);
  const c10::SymInt outputPaddingArg(outputPadding);
  const c10::SymInt dilationArg(dilation);
  std::optional<at::Tensor> biasArg = bark4j::optionalFromHandle(bias);
  at::Tensor out = at::_ops::conv_transpose1d::call(
      bark4j::fromHandle(input), bark4j::fromHandle(weight), biasArg,
      c10::ArrayRef<c10::SymInt>(&strideArg, 1), c10::ArrayRef<c10::SymInt>(&paddingArg, 1),
      c10::ArrayRef<c10::SymInt>(&outputPaddingArg, 1), c10::SymInt(groups),
      c10::ArrayRef<c10::SymInt>(&dilationArg, 1));
  return bark4j::toHandle(out);
}

// A new heap tensor: the float32 tensor `handle` rounded to bfloat16 (contiguous). DJL must never
// see it (it aborts on bfloat16); the caller frees it with DJL's deleteNDArray.
inline long long bark4j_to_bf16_tensor(long long handle) {
  return bark4j::toHandle(bark4j::toDtype(bark4j::fromHandle(handle), c10::ScalarType::BFloat16));
}

// Address of a bfloat16 tensor's data (checked by libtorch: c10::Error for another dtype).
inline long long bark4j_bf16_address(long long handle) {
  const at::TensorBase& base = *reinterpret_cast<const at::TensorBase*>(handle);
  return reinterpret_cast<long long>(base.data_ptr<c10::BFloat16>());
}

// A new heap tensor: `handle` converted to float32 (contiguous).
inline long long bark4j_to_float_tensor(long long handle) {
  return bark4j::toHandle(bark4j::toDtype(bark4j::fromHandle(handle), c10::ScalarType::Float));
}

// A new heap tensor x · Wᵀ (no bias) in the inputs' dtype: with bfloat16 x and W this is
// libtorch's bf16 GEMM (oneDNN, AVX-512 BF16 where the CPU has it, FP32 accumulation).
inline long long bark4j_linear_raw(long long x, long long weight) {
  std::optional<at::Tensor> noBias;
  return bark4j::toHandle(at::_ops::linear::call(bark4j::fromHandle(x), bark4j::fromHandle(weight), noBias));
}

inline void* bark4j_data_ptr(long long handle, bool isDouble) {
  return bark4j::tensorData(handle, isDouble);
}

inline long long bark4j_tensor_address(long long handle, bool isDouble) {
  return reinterpret_cast<long long>(bark4j::tensorData(handle, isDouble));
}

#endif  // BARK4J_NATIVE_OPS_H

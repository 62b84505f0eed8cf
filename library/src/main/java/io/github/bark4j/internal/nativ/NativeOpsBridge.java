package io.github.bark4j.internal.nativ;

import org.bytedeco.javacpp.annotation.Cast;
import org.bytedeco.javacpp.annotation.Name;
import org.bytedeco.javacpp.annotation.Platform;

/**
 * JNI entry points of the bark4j native bridge, generated and compiled by JavaCPP during the
 * Maven build ({@code src/main/cpp/bark4j_*.h}). Tensor arguments are raw DJL tensor handles
 * ({@code at::Tensor*}); every returned handle is a new heap tensor the caller must wrap in a
 * {@code PtNDArray}. Addresses are raw native pointers. C++ exceptions come back as {@link
 * RuntimeException}.
 *
 * <p>Only {@link NativeLibrary}, {@link NativeOps} and {@code NativeGpt} use this class, after
 * {@link NativeLibrary} has checked that the bridge can be loaded. Keep it free of DJL types so
 * JavaCPP's builder can load it on its own.
 */
@Platform(
        value = "linux-x86_64",
        compiler = "cpp17",
        include = {"bark4j_native_ops.h", "bark4j_kernels.h", "bark4j_rows.h", "bark4j_gpt_step.h",
            "bark4j_attention.h", "bark4j_gemm.h", "bark4j_gpt_pass.h"})
public final class NativeOpsBridge {

    private NativeOpsBridge() {}

    @Name("bark4j_sdpa")
    static native long sdpa(long query, long key, long value, long mask, boolean causal);

    @Name("bark4j_conv_transpose1d")
    static native long convTranspose1d(
            long input,
            long weight,
            long bias,
            long stride,
            long padding,
            long outputPadding,
            long groups,
            long dilation);

    /** Address of a contiguous CPU tensor's data (float32, or float64 when {@code isDouble}). */
    @Name("bark4j_tensor_address")
    static native long tensorAddress(long tensor, boolean isDouble);

    /** y (rows, out) = x (rows, in) · W (out, in)ᵀ + bias; raw addresses, bias 0 for none. */
    @Name("bark4j_linear")
    static native void linear(long x, int rows, int in, long weight, int weightType, long bias, long y, long out);

    /** A new native buffer of {@code count} floats at {@code source} rounded to bfloat16. */
    @Name("bark4j_to_bf16")
    static native long toBf16(long source, long count);

    /** A new heap tensor: float32 {@code tensor} rounded to bfloat16. Never hand it to DJL. */
    @Name("bark4j_to_bf16_tensor")
    static native long toBf16Tensor(long tensor);

    /** A new heap tensor: {@code tensor} converted to float32. */
    @Name("bark4j_to_float_tensor")
    static native long toFloatTensor(long tensor);

    /** A new heap tensor x · Wᵀ in the inputs' dtype (bfloat16 in, bfloat16 out). */
    @Name("bark4j_linear_raw")
    static native long linearRaw(long x, long weight);

    /** Address of a bfloat16 tensor's data. */
    @Name("bark4j_bf16_address")
    static native long bf16Address(long tensor);

    @Name("bark4j_free")
    static native void free(long address);

    /** Caps the instruction set the kernels use (0 portable, 1 AVX2, 2 AVX-512); returns the one in use. */
    @Name("bark4j_set_isa")
    static native int setIsa(int isa);

    /** libtorch's intra-op thread count, which the kernels use. */
    @Name("bark4j_pool_threads")
    static native int poolThreads();

    /** torch.backends.nnpack.enabled = False: libtorch then never probes NNPACK (and never logs its failure). */
    @Name("bark4j_disable_nnpack")
    static native void disableNnpack();

    /** Whether libtorch may use NNPACK (torch.backends.nnpack.enabled). */
    @Name("bark4j_nnpack_enabled")
    static native boolean nnpackEnabled();

    /** The file that provides the OpenMP runtime the bridge calls. */
    @Name("bark4j_openmp_library")
    static native String openmpLibrary();

    /** {@code tensors}: each layer's four matmul weight tensor handles, or null for a plan that only steps. */
    /** glibc's malloc_trim(0): returns free C-heap pages to the system; whether any were. */
    @Name("bark4j_release_free_memory")
    static native boolean releaseFreeMemory();

    /** out (n, hidden) FP32 = rows {@code ids} of the bfloat16 table at {@code table}; raw addresses. */
    @Name("bark4j_embed_bf16")
    public static native void embedBf16(long table, int vocab, int hidden, @Cast("const long long*") long[] ids, int n,
            long out);

    @Name("bark4j_row_op")
    static native void rowOp(int op, @Cast("const float*") float[] x, @Cast("const float*") float[] w,
            @Cast("const float*") float[] b, int n, float[] y);

    @Name("bark4j_bf16_attention")
    static native boolean bf16Attention();

    @Name("bark4j_attend_bf16")
    static native int attendBf16(@Cast("const float*") float[] q, @Cast("const float*") float[] k,
            @Cast("const float*") float[] v, int bh, int len, int hd, boolean causal, float[] y);

    /** y (m, n) = x (m, k) · W (n, k)ᵀ with the passes' FP32 GEMM; false (nothing done) without AVX-512. */
    @Name("bark4j_gemm_f32")
    static native boolean gemmF32(long x, long m, int k, long w, int n, long y);

    /**
     * y (m, n) FP32 = bf16(x) (m, k) · W (n, k)ᵀ + bias with the passes' bfloat16 GEMM: x bfloat16 when
     * {@code xBf16}, else FP32 (rounded here), W bfloat16, bias FP32 or 0; false (nothing done)
     * without AVX-512 BF16.
     */
    @Name("bark4j_gemm_bf16")
    static native boolean gemmBf16(long x, boolean xBf16, long m, int k, long w, int n, long bias, long y);

    /** Whether BF16 passes use bark4j's bfloat16 GEMM (where the CPU has AVX-512 BF16) or libtorch's; the setting in use. */
    @Name("bark4j_use_bf16_gemm")
    static native boolean useBf16Gemm(boolean on);

    /** FLOPs of {@code rounds} rounds of 16 independent FMA (or vdpbf16ps) chains on each of {@code threads} threads; -1 without the instruction. */
    @Name("bark4j_peak_chains")
    static native double peakChains(boolean bf16, int threads, long rounds);

    @Name("bark4j_attend_f32")
    static native boolean attendF32(long q, long k, long v, int bh, int len, int hd, boolean causal, long y);

    @Name("bark4j_gpt_create")
    public static native long gptCreate(@Cast("const int*") int[] config, @Cast("const long long*") long[] addresses,
            @Cast("const long long*") long[] tensors);

    @Name("bark4j_gpt_free")
    public static native void gptFree(long plan);

    @Name("bark4j_gpt_step")
    public static native void gptStep(
            long plan,
            @Cast("const long long*") long[] ids,
            int rows,
            int position,
            @Cast("const long long*") long[] kvHandles,
            boolean kvBf16,
            int capacity,
            int from,
            int to,
            double[] logits,
            int[] argmax);

    /** A new zeroed bfloat16 (batch, heads, capacity, hd) tensor handle: a layer of a bfloat16 KV cache. */
    @Name("bark4j_kv_bf16")
    public static native long kvBf16(int batch, int heads, int capacity, int hd);

    /** A new bfloat16 tensor handle of rows {@code rows} of a bfloat16 KV cache tensor. */
    @Name("bark4j_kv_bf16_rows")
    public static native long kvBf16Rows(long tensor, int batch, int heads, int capacity, int hd,
            @Cast("const long long*") long[] rows, int n);

    /** Tensors a pass makes besides one SDPA result per layer (bark4j_gpt_pass.h's PASS_SCRATCH). */
    public static final int PASS_SCRATCH = 9;

    /**
     * A full pass over {@code x} (overwritten), filling {@code kvHandles} when not null; {@code
     * created} (PASS_SCRATCH + layers slots) comes back with the handles of every tensor made,
     * which the caller frees, also when this throws.
     */
    @Name("bark4j_gpt_pass")
    public static native void gptPass(
            long plan,
            long x,
            int rows,
            int length,
            boolean causal,
            @Cast("const long long*") long[] kvHandles,
            boolean kvBf16,
            int capacity,
            long out,
            boolean lastOnly,
            @Cast("long long*") long[] created);
}

package io.github.bark4j.internal.nativ;

import ai.djl.Device;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * ATen operators DJL 0.36 does not expose (fused scaled dot-product attention, 1-D transposed
 * convolution), called through bark4j's native bridge ({@link NativeLibrary}) directly on DJL
 * tensor handles, inside the libtorch DJL has already loaded. Where the bridge is unavailable
 * callers use their pure-DJL path; the ops throw {@link IllegalStateException} there.
 */
public final class NativeOps {

    private NativeOps() {}

    /** Whether the native bridge is loaded and usable: see {@link NativeLibrary}. */
    public static boolean isAvailable() {
        return NativeLibrary.isAvailable();
    }

    /** Why the bridge is not available, or {@code null} when it is. */
    public static String unavailableReason() {
        return NativeLibrary.unavailableReason();
    }

    /**
     * Fused attention, {@code softmax(q k^T / sqrt(hd) + mask) v}.
     *
     * @param query (B, heads, Tq, hd)
     * @param key (B, heads, Tk, hd)
     * @param value (B, heads, Tk, hdv)
     * @param causal bottom-right aligned causal masking: query {@code i} attends keys {@code 0 ..
     *     Tk - Tq + i} (for KV-cached decoding); requires {@code Tq <= Tk}
     * @return (B, heads, Tq, hdv), attached to the query's manager
     */
    public static NDArray scaledDotProductAttention(
            NDArray query, NDArray key, NDArray value, boolean causal) {
        return scaledDotProductAttention(query, key, value, null, causal);
    }

    /**
     * Like {@link #scaledDotProductAttention(NDArray, NDArray, NDArray, boolean)} with an extra
     * mask, broadcastable to (B, heads, Tq, Tk): either boolean (true = may attend) or additive,
     * of the query's data type. With {@code causal} both masks apply.
     */
    public static NDArray scaledDotProductAttention(
            NDArray query, NDArray key, NDArray value, NDArray mask, boolean causal) {
        requireAvailable();
        PtNDArray q = pt(query, "query");
        PtNDArray k = pt(key, "key");
        PtNDArray v = pt(value, "value");
        requireRank(q, 4, "query", "(B, heads, Tq, hd)");
        requireRank(k, 4, "key", "(B, heads, Tk, hd)");
        requireRank(v, 4, "value", "(B, heads, Tk, hdv)");
        DataType dtype = q.getDataType();
        if (!(dtype == DataType.FLOAT32
                || dtype == DataType.FLOAT64
                || dtype == DataType.FLOAT16
                || dtype == DataType.BFLOAT16)) {
            throw new IllegalArgumentException("attention needs floating-point inputs, got " + dtype);
        }
        requireSameType(dtype, k, "key");
        requireSameType(dtype, v, "value");
        requireOneDevice(q, k, v);
        Shape qs = q.getShape();
        Shape ks = k.getShape();
        Shape vs = v.getShape();
        if (qs.get(0) != ks.get(0) || qs.get(0) != vs.get(0) || qs.get(1) != ks.get(1)
                || qs.get(1) != vs.get(1)) {
            throw new IllegalArgumentException(
                    "attention batch and head dimensions differ: query " + qs + ", key " + ks
                            + ", value " + vs);
        }
        if (qs.get(3) != ks.get(3)) {
            throw new IllegalArgumentException(
                    "query and key head sizes differ: query " + qs + ", key " + ks);
        }
        if (ks.get(2) != vs.get(2)) {
            throw new IllegalArgumentException(
                    "key and value lengths differ: key " + ks + ", value " + vs);
        }
        long tq = qs.get(2);
        long tk = ks.get(2);
        if (causal && tq > tk) {
            throw new IllegalArgumentException(
                    "causal attention needs Tq <= Tk (bottom-right aligned), got Tq=" + tq
                            + ", Tk=" + tk);
        }
        PtNDArray m = null;
        if (mask != null) {
            m = pt(mask, "mask");
            requireOneDevice(q, m, m);
            if (m.getDataType() != DataType.BOOLEAN && m.getDataType() != dtype) {
                throw new IllegalArgumentException(
                        "mask must be boolean or " + dtype + ", got " + m.getDataType());
            }
            Shape ms = m.getShape();
            int r = ms.dimension();
            if (r < 2 || r > 4
                    || (ms.get(r - 1) != 1 && ms.get(r - 1) != tk)
                    || (ms.get(r - 2) != 1 && ms.get(r - 2) != tq)) {
                throw new IllegalArgumentException(
                        "mask " + ms + " does not broadcast to (B, heads, " + tq + ", " + tk + ")");
            }
        }
        try (NDManager scratch = q.getManager().newSubManager()) {
            boolean nativeCausal = false;
            if (causal && tq == tk && m == null) {
                nativeCausal = true; // torch's top-left alignment equals bottom-right here
            } else if (causal && tq > 1) {
                // with Tq == 1 the single query sees every key: nothing to mask
                NDArray allowed = bottomRightCausal(scratch, tq, tk);
                if (m == null) {
                    m = (PtNDArray) allowed;
                } else if (m.getDataType() == DataType.BOOLEAN) {
                    m = (PtNDArray) m.logicalAnd(allowed);
                } else {
                    // DJL's where does not broadcast: full-size (Tq, Tk) operands
                    NDArray zero = scratch.zeros(allowed.getShape(), dtype);
                    NDArray blocked =
                            scratch.full(allowed.getShape(), Float.NEGATIVE_INFINITY, dtype);
                    m = (PtNDArray) m.add(NDArrays.where(allowed, zero, blocked));
                }
                m.attach(scratch);
            }
            long maskHandle = m == null ? 0L : m.getHandle();
            boolean isCausal = nativeCausal;
            long out =
                    call(
                            "scaled_dot_product_attention",
                            () ->
                                    NativeOpsBridge.sdpa(
                                            q.getHandle(),
                                            k.getHandle(),
                                            v.getHandle(),
                                            maskHandle,
                                            isCausal));
            return adopt(q.getManager(), out);
        }
    }

    /** Boolean (Tq, Tk), true where query i may attend key j, i.e. j <= Tk - Tq + i. */
    private static NDArray bottomRightCausal(NDManager manager, long tq, long tk) {
        NDArray rows = manager.arange(tk - tq, tk, 1, DataType.INT64).reshape(tq, 1);
        NDArray cols = manager.arange(0, tk, 1, DataType.INT64).reshape(1, tk);
        return cols.lte(rows);
    }

    /**
     * Transposed 1-D convolution, like {@code torch.nn.functional.conv_transpose1d}.
     *
     * @param input (B, Cin, T)
     * @param weight (Cin, Cout / groups, K)
     * @param bias (Cout) or {@code null}
     * @return (B, Cout, (T - 1) * stride - 2 * padding + dilation * (K - 1) + outputPadding + 1),
     *     attached to the input's manager
     */
    public static NDArray convTranspose1d(
            NDArray input,
            NDArray weight,
            NDArray bias,
            int stride,
            int padding,
            int outputPadding,
            int groups,
            int dilation) {
        requireAvailable();
        PtNDArray x = pt(input, "input");
        PtNDArray w = pt(weight, "weight");
        requireRank(x, 3, "input", "(B, Cin, T)");
        requireRank(w, 3, "weight", "(Cin, Cout / groups, K)");
        DataType dtype = x.getDataType();
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException("conv_transpose1d needs floating-point input, got " + dtype);
        }
        requireSameType(dtype, w, "weight");
        PtNDArray b = null;
        if (bias != null) {
            b = pt(bias, "bias");
            requireRank(b, 1, "bias", "(Cout)");
            requireSameType(dtype, b, "bias");
        }
        requireSameDevice(x, w, b == null ? w : b);
        if (stride < 1 || dilation < 1 || groups < 1) {
            throw new IllegalArgumentException(
                    "stride, dilation and groups must be >= 1, got stride=" + stride
                            + ", dilation=" + dilation + ", groups=" + groups);
        }
        if (padding < 0 || outputPadding < 0) {
            throw new IllegalArgumentException(
                    "padding and outputPadding must be >= 0, got padding=" + padding
                            + ", outputPadding=" + outputPadding);
        }
        if (outputPadding >= Math.max(stride, dilation)) {
            throw new IllegalArgumentException(
                    "outputPadding must be smaller than stride or dilation, got outputPadding="
                            + outputPadding + ", stride=" + stride + ", dilation=" + dilation);
        }
        Shape xs = x.getShape();
        Shape ws = w.getShape();
        if (xs.get(1) != ws.get(0)) {
            throw new IllegalArgumentException(
                    "input channels " + xs.get(1) + " do not match weight " + ws);
        }
        if (ws.get(0) % groups != 0) {
            throw new IllegalArgumentException(
                    "input channels " + ws.get(0) + " not divisible by groups=" + groups);
        }
        long cout = ws.get(1) * groups;
        if (b != null && b.getShape().get(0) != cout) {
            throw new IllegalArgumentException(
                    "bias " + b.getShape() + " does not match " + cout + " output channels");
        }
        long length = (xs.get(2) - 1) * stride - 2L * padding + (long) dilation * (ws.get(2) - 1)
                + outputPadding + 1;
        if (length < 1) {
            throw new IllegalArgumentException(
                    "conv_transpose1d output would be empty for input " + xs + ", weight " + ws);
        }
        long biasHandle = b == null ? 0L : b.getHandle();
        long out =
                call(
                        "conv_transpose1d",
                        () ->
                                NativeOpsBridge.convTranspose1d(
                                        x.getHandle(),
                                        w.getHandle(),
                                        biasHandle,
                                        stride,
                                        padding,
                                        outputPadding,
                                        groups,
                                        dilation));
        return adopt(x.getManager(), out);
    }

    /**
     * A bridge-owned bfloat16 copy of a float32 tensor, as a raw {@code at::Tensor*} handle: DJL
     * aborts the JVM on bfloat16 tensors, so it is never wrapped in an NDArray. Free it with {@link
     * #freeTensor}.
     */
    public static long toBf16Tensor(NDArray weight) {
        requireAvailable();
        PtNDArray w = pt(weight, "weight");
        if (w.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("bfloat16 copies are rounded from float32, got " + w.getDataType());
        }
        return call("_to_copy(bfloat16)", () -> NativeOpsBridge.toBf16Tensor(w.getHandle()));
    }

    /** Address of the data of a tensor made by {@link #toBf16Tensor}. */
    public static long bf16Address(long bf16Tensor) {
        requireAvailable();
        return NativeOpsBridge.bf16Address(bf16Tensor);
    }

    /**
     * Returns the C heap's free pages to the system (glibc's {@code malloc_trim}); nothing where the
     * bridge is unavailable. libtorch frees large activations into malloc's arenas, where glibc's
     * adaptive mmap threshold keeps them resident: called between the stages of a generation and
     * between EnCodec's upsampling blocks, it keeps one stage's freed activations from adding to
     * the next stage's peak (about 150 MB per EnCodec block for 15 s of audio). It only releases
     * memory that is already free; a few milliseconds each.
     */
    public static void releaseFreeMemory() {
        if (NativeLibrary.isAvailable()) {
            NativeOpsBridge.releaseFreeMemory();
        }
    }

    /** Frees a tensor handle the bridge returned and no NDArray owns (DJL's own deleter). */
    public static void freeTensor(long handle) {
        if (handle != 0L) {
            JniUtils.deleteNDArray(handle);
        }
    }

    /**
     * {@code x · Wᵀ} with libtorch's bfloat16 GEMM: float32 x (..., in) is rounded to bfloat16, W
     * (out, in) is a tensor from {@link #toBf16Tensor}, and the bfloat16 product (FP32
     * accumulation inside oneDNN) comes back widened to float32 (..., out), attached to x's manager.
     */
    public static NDArray linearBf16(NDArray x, long bf16Weight) {
        requireAvailable();
        PtNDArray input = pt(x, "x");
        if (input.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("x must be float32, got " + input.getDataType());
        }
        long xb = call("_to_copy(bfloat16)", () -> NativeOpsBridge.toBf16Tensor(input.getHandle()));
        long yb = 0L;
        try {
            yb = call("linear(bfloat16)", () -> NativeOpsBridge.linearRaw(xb, bf16Weight));
            long product = yb;
            return adopt(input.getManager(), call("_to_copy(float32)",
                    () -> NativeOpsBridge.toFloatTensor(product)));
        } finally {
            freeTensor(xb);
            freeTensor(yb);
        }
    }

    /**
     * {@code x · Wᵀ} with libtorch's bfloat16 GEMM on two bridge bfloat16 tensors (from {@link
     * #toBf16Tensor}), as a BF16 pass calls it where bark4j's own GEMM cannot run: no casts. Returns
     * the bfloat16 product's handle, which the caller frees ({@link #freeTensor}); for benchmarks.
     */
    public static long linearBf16Tensors(long bf16X, long bf16Weight) {
        requireAvailable();
        return call("linear(bfloat16)", () -> NativeOpsBridge.linearRaw(bf16X, bf16Weight));
    }

    /**
     * Wraps a tensor the bridge returned, owned by {@code manager} and, like every array DJL's own
     * ops make, by the innermost {@link NDScope}: DJL's {@code PtNDArray(manager, handle)}
     * constructor skips the scope, so these arrays outlived the per-layer scopes until their
     * request ended (about 0.4 GB for the fine passes of 15 s of speech).
     */
    private static NDArray adopt(NDManager manager, long handle) {
        PtNDArray array = new PtNDArray((ai.djl.pytorch.engine.PtNDManager) manager, handle);
        NDScope.register(array);
        return array;
    }

    private interface NativeCall {
        long run();
    }

    private static long call(String op, NativeCall nativeCall) {
        try {
            long handle = nativeCall.run();
            if (handle == 0L) {
                throw new EngineException("ATen " + op + " returned no tensor");
            }
            return handle;
        } catch (EngineException e) {
            throw e;
        } catch (RuntimeException e) { // JavaCPP's translation of a C++ exception (c10::Error)
            // c10::Error::what() appends a C++ backtrace; keep it on the cause only
            String message = String.valueOf(e.getMessage());
            int trace = message.indexOf("\nException raised from");
            throw new EngineException(
                    "ATen " + op + " failed: " + (trace < 0 ? message : message.substring(0, trace)),
                    e);
        }
    }

    private static void requireAvailable() {
        NativeLibrary.requireAvailable();
    }

    private static PtNDArray pt(NDArray array, String name) {
        if (array == null) {
            throw new IllegalArgumentException(name + " must not be null");
        }
        if (!(array instanceof PtNDArray)) {
            throw new IllegalArgumentException(
                    name + " must be a PyTorch engine array, got " + array.getClass().getName());
        }
        return (PtNDArray) array;
    }

    private static void requireRank(NDArray array, int rank, String name, String layout) {
        if (array.getShape().dimension() != rank) {
            throw new IllegalArgumentException(
                    name + " must have rank " + rank + " " + layout + ", got " + array.getShape());
        }
    }

    private static void requireSameType(DataType expected, NDArray array, String name) {
        if (array.getDataType() != expected) {
            throw new IllegalArgumentException(
                    name + " must be " + expected + " like the first input, got "
                            + array.getDataType());
        }
    }

    private static void requireCpu(NDArray array, String name) {
        if (!Device.Type.CPU.equals(array.getDevice().getDeviceType())) {
            throw new IllegalArgumentException(
                    name + " must be on the CPU, got " + array.getDevice());
        }
    }

    private static void requireSameDevice(NDArray a, NDArray b, NDArray c) {
        requireCpu(a, "first input");
        requireOneDevice(a, b, c);
    }

    /** All on one device, whichever: ATen's dispatcher picks the CPU or CUDA kernel itself. */
    private static void requireOneDevice(NDArray a, NDArray b, NDArray c) {
        if (!a.getDevice().equals(b.getDevice()) || !a.getDevice().equals(c.getDevice())) {
            throw new IllegalArgumentException(
                    "inputs are on different devices: " + a.getDevice() + ", " + b.getDevice()
                            + ", " + c.getDevice());
        }
    }
}

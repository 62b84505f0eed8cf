package io.github.bark4j.internal.nativ;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;

import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * The bridge's small-batch matmul kernels ({@code bark4j_kernels.h}) on DJL tensors, for decode
 * steps of 1 to 16 rows: {@code y = x · Wᵀ + b} with W in PyTorch's (out, in) layout read in place,
 * FP32 or FP64, or rounded once into a bridge-owned bfloat16 copy ({@link Bf16Weights}; DJL aborts
 * on bfloat16 tensors, so bfloat16 never becomes an NDArray). Threads: libtorch's own intra-op pool.
 *
 * <p>{@code NativeGpt} uses the kernels inside one native call per step; this class exposes them
 * alone for tests and benchmarks, and resolves tensor addresses for both.
 */
public final class NativeKernels {
    /** Weight element types, as {@code bark4j::WeightType}. */
    public static final int F32 = 0;
    public static final int BF16 = 1;
    public static final int F64 = 2;

    /** Instruction sets, as {@code bark4j::Isa}. */
    public static final int PORTABLE = 0;
    public static final int AVX2 = 1;
    public static final int AVX512 = 2;

    private NativeKernels() {}

    /**
     * Address of a tensor's data, for the bridge to read (or, for KV caches, write) in place: the
     * tensor must be a contiguous float32 or float64 CPU tensor of the PyTorch engine.
     */
    public static long address(NDArray array, String name) {
        NativeLibrary.requireAvailable();
        PtNDArray pt = cpuFloat(array, name);
        if (!Contiguity.isContiguous(pt)) {
            throw new IllegalArgumentException(name + " must be contiguous to be read in place");
        }
        return NativeOpsBridge.tensorAddress(pt.getHandle(), pt.getDataType() == DataType.FLOAT64);
    }

    static PtNDArray cpuFloat(NDArray array, String name) {
        if (!(array instanceof PtNDArray)) {
            throw new IllegalArgumentException(name + " must be a PyTorch engine array, got "
                    + (array == null ? "null" : array.getClass().getName()));
        }
        if (!Device.Type.CPU.equals(array.getDevice().getDeviceType())) {
            throw new IllegalArgumentException(name + " must be on the CPU, got " + array.getDevice());
        }
        DataType t = array.getDataType();
        if (t != DataType.FLOAT32 && t != DataType.FLOAT64) {
            throw new IllegalArgumentException(name + " must be float32 or float64, got " + t);
        }
        return (PtNDArray) array;
    }

    /** {@code y ← x · Wᵀ + bias} (bias may be null) with the kernels; all FP32 or all FP64. */
    public static void linear(NDArray x, NDArray weight, NDArray bias, NDArray y) {
        Shape ws = weight.getShape();
        requireMatrix(ws, "weight");
        boolean f64 = weight.getDataType() == DataType.FLOAT64;
        long w = address(weight, "weight");
        run(x, ws.get(0), ws.get(1), w, f64 ? F64 : F32, f64 ? DataType.FLOAT64 : DataType.FLOAT32, bias, y);
    }

    /** {@code y ← x · Wᵀ + bias} with bfloat16 weights; x, bias and y FP32. */
    public static void linear(NDArray x, Bf16Weights weight, NDArray bias, NDArray y) {
        run(x, weight.out, weight.in, weight.address(), BF16, DataType.FLOAT32, bias, y);
    }

    /** {@code y ← x · Wᵀ + bias} with bfloat16 weights (out, in) at {@code address}; x, bias and y FP32. */
    public static void linearBf16(NDArray x, long address, long out, long in, NDArray bias, NDArray y) {
        run(x, out, in, address, BF16, DataType.FLOAT32, bias, y);
    }

    /**
     * {@code y ← x · Wᵀ} with the full passes' FP32 GEMM ({@code bark4j_gemm.h}); all FP32. Returns
     * false, leaving y as it was, where the passes use libtorch's GEMM instead (no AVX-512).
     */
    public static boolean gemmF32(NDArray x, NDArray weight, NDArray y) {
        Shape xs = x.getShape();
        Shape ws = weight.getShape();
        requireMatrix(xs, "x");
        requireMatrix(ws, "weight");
        if (xs.get(1) != ws.get(1) || !y.getShape().equals(new Shape(xs.get(0), ws.get(0)))) {
            throw new IllegalArgumentException("gemm shapes x " + xs + ", weight " + ws + ", y " + y.getShape());
        }
        for (NDArray a : new NDArray[] {x, weight, y}) {
            if (a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("gemm operands must be float32, got " + a.getDataType());
            }
        }
        return NativeOpsBridge.gemmF32(address(x, "x"), xs.get(0), Math.toIntExact(xs.get(1)),
                address(weight, "weight"), Math.toIntExact(ws.get(0)), address(y, "y"));
    }

    /**
     * {@code y ← bf16(x) · Wᵀ + bias} with the BF16 passes' GEMM ({@code bark4j_gemm.h}): x (m, in)
     * FP32, rounded to bfloat16 (nearest even) as a pass's operands are; products summed in FP32;
     * y (m, out) and bias (out, or null) FP32. Returns false, leaving y as it was, where the passes
     * use libtorch's bfloat16 GEMM instead (no AVX-512 BF16).
     */
    public static boolean gemmBf16(NDArray x, Bf16Weights weight, NDArray bias, NDArray y) {
        Shape xs = x.getShape();
        requireMatrix(xs, "x");
        if (xs.get(1) != weight.in || !y.getShape().equals(new Shape(xs.get(0), weight.out))) {
            throw new IllegalArgumentException("gemm shapes x " + xs + ", weight (" + weight.out + ", " + weight.in
                    + "), y " + y.getShape());
        }
        if (bias != null && !bias.getShape().equals(new Shape(weight.out))) {
            throw new IllegalArgumentException("bias must be (" + weight.out + "), got " + bias.getShape());
        }
        for (NDArray a : new NDArray[] {x, y, bias}) {
            if (a != null && a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("gemm operands must be float32, got " + a.getDataType());
            }
        }
        return NativeOpsBridge.gemmBf16(address(x, "x"), false, xs.get(0), Math.toIntExact(weight.in),
                weight.address(), Math.toIntExact(weight.out), bias == null ? 0L : address(bias, "bias"),
                address(y, "y"));
    }

    /**
     * {@code y ← x · Wᵀ} with the BF16 passes' GEMM on bfloat16 operands already in native memory, as
     * a pass calls it (benchmarks): x (m, in) and W (out, in) bfloat16 at {@code bf16X} and {@code
     * bf16Weight} (e.g. {@link NativeOps#bf16Address}), y FP32 (m, out). Returns false, leaving y as
     * it was, without AVX-512 BF16.
     */
    public static boolean gemmBf16(long bf16X, long m, long bf16Weight, long out, long in, NDArray y) {
        if (m < 1 || out < 1 || in < 1 || bf16X == 0 || bf16Weight == 0) {
            throw new IllegalArgumentException("gemm needs operands and m, out, in >= 1, got " + m + ", " + out
                    + ", " + in);
        }
        if (!y.getShape().equals(new Shape(m, out)) || y.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("y must be float32 (" + m + ", " + out + "), got " + y.getDataType()
                    + " " + y.getShape());
        }
        return NativeOpsBridge.gemmBf16(bf16X, true, m, Math.toIntExact(in), bf16Weight, Math.toIntExact(out), 0L,
                address(y, "y"));
    }

    /**
     * Whether BF16 passes multiply with bark4j's bfloat16 GEMM ({@code true}, the default where the
     * CPU has AVX-512 BF16) or with libtorch's, for benchmarks that compare the two in one process.
     * Returns the setting now in use (false where the CPU lacks AVX-512 BF16).
     */
    public static boolean useBf16Gemm(boolean on) {
        NativeLibrary.requireAvailable();
        return NativeOpsBridge.useBf16Gemm(on);
    }

    /**
     * The CPU's peak rate, for benchmarks: runs {@code rounds} rounds of 16 independent {@code
     * vfmadd231ps} (or, with {@code bf16}, {@code vdpbf16ps}) chains on zmm registers on each of
     * {@code threads} threads at once, and returns the FLOPs done (2 per multiply-add), or -1 where
     * the CPU lacks the instruction (AVX-512, AVX-512 BF16).
     */
    public static double peakChains(boolean bf16, int threads, long rounds) {
        NativeLibrary.requireAvailable();
        return NativeOpsBridge.peakChains(bf16, threads, rounds);
    }

    private static void run(NDArray x, long out, long in, long w, int type, DataType dtype, NDArray bias,
            NDArray y) {
        Shape xs = x.getShape();
        requireMatrix(xs, "x");
        if (xs.get(1) != in) {
            throw new IllegalArgumentException("x " + xs + " does not match weight (" + out + ", " + in + ")");
        }
        if (!y.getShape().equals(new Shape(xs.get(0), out))) {
            throw new IllegalArgumentException("y must be (" + xs.get(0) + ", " + out + "), got " + y.getShape());
        }
        if (bias != null && !bias.getShape().equals(new Shape(out))) {
            throw new IllegalArgumentException("bias must be (" + out + "), got " + bias.getShape());
        }
        for (NDArray a : new NDArray[] {x, y, bias}) {
            if (a != null && a.getDataType() != dtype) {
                throw new IllegalArgumentException("kernel operands must be " + dtype + ", got " + a.getDataType());
            }
        }
        long b = bias == null ? 0L : address(bias, "bias");
        NativeOpsBridge.linear(address(x, "x"), Math.toIntExact(xs.get(0)), Math.toIntExact(in), w, type, b,
                address(y, "y"), out);
    }

    private static void requireMatrix(Shape s, String name) {
        if (s.dimension() != 2 || s.get(0) < 1 || s.get(1) < 1) {
            throw new IllegalArgumentException(name + " must be a non-empty matrix, got " + s);
        }
    }

    /** Caps the kernels' instruction set (tests force the fallbacks); returns the one now in use. */
    public static int useIsa(int isa) {
        NativeLibrary.requireAvailable();
        return NativeOpsBridge.setIsa(isa);
    }

    /** Row operations of the native step and passes ({@code bark4j_rows.h}'s RowOp), for tests. */
    static final int ROW_GELU = 0;
    static final int ROW_GELU_BF16 = 1;
    static final int ROW_SOFTMAX = 2;
    static final int ROW_NORM = 3;
    static final int ROW_NORM_BF16 = 4;
    static final int ROW_WIDEN_ADD_BF16 = 5;

    /**
     * Runs one of the native step's and passes' row loops on the instruction set in use: {@code
     * y = op(x, w, b)} (see {@code bark4j_row_op}); {@code w} and {@code b} may be null where the
     * op takes none.
     */
    static float[] rowOp(int op, float[] x, float[] w, float[] b) {
        NativeLibrary.requireAvailable();
        float[] y = new float[x.length];
        NativeOpsBridge.rowOp(op, x, w, b, x.length, y);
        return y;
    }

    /**
     * Whether BF16 passes attend in bfloat16 ({@code bark4j_attention.h}): where the CPU has
     * AVX-512 BF16; elsewhere they use libtorch's FP32 SDPA.
     */
    public static boolean bf16Attention() {
        NativeLibrary.requireAvailable();
        return NativeOpsBridge.bf16Attention();
    }

    /**
     * The BF16 passes' attention ({@code bark4j_attention.h}) on q, k, v of shape (bh, len, hd),
     * row-major: softmax(q kᵀ / √hd, causal or not) v with q, k, v and the probabilities rounded
     * to bfloat16. Runs the AVX-512 BF16 kernel where passes use it, else the portable loops;
     * {@code kernel[0]} says which (may be null).
     */
    static float[] attendBf16(float[] q, float[] k, float[] v, int bh, int len, int hd, boolean causal,
            boolean[] kernel) {
        NativeLibrary.requireAvailable();
        float[] y = new float[bh * len * hd];
        int used = NativeOpsBridge.attendBf16(q, k, v, bh, len, hd, causal, y);
        if (kernel != null) {
            kernel[0] = used == 1;
        }
        return y;
    }

    /**
     * {@code y ← softmax(q kᵀ / √hd, causal or not) v} in FP32 with the FP32 passes' attention
     * kernel ({@code bark4j_attention.h}); q, k, v, y contiguous FP32 of one shape (…, len, hd).
     * Returns false, leaving y as it was, where FP32 passes use libtorch's SDPA instead (no
     * AVX-512, or hd not a multiple of 16).
     */
    public static boolean attendF32(NDArray q, NDArray k, NDArray v, NDArray y, boolean causal) {
        Shape s = q.getShape();
        if (s.dimension() < 2 || s.size() == 0) {
            throw new IllegalArgumentException("attention needs (…, len, hd), got " + s);
        }
        for (NDArray a : new NDArray[] {q, k, v, y}) {
            if (!a.getShape().equals(s) || a.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("attention operands must be float32 " + s + ", got "
                        + a.getDataType() + " " + a.getShape());
            }
        }
        int hd = Math.toIntExact(s.get(s.dimension() - 1));
        int len = Math.toIntExact(s.get(s.dimension() - 2));
        int bh = Math.toIntExact(s.size() / ((long) len * hd));
        return NativeOpsBridge.attendF32(address(q, "q"), address(k, "k"), address(v, "v"), bh, len, hd, causal,
                address(y, "y"));
    }

    /** The threads the kernels split work over: libtorch's intra-op setting. */
    static int threads() {
        NativeLibrary.requireAvailable();
        return NativeOpsBridge.poolThreads();
    }

    /** A bridge-owned bfloat16 copy (round to nearest even) of an FP32 (out, in) weight matrix. */
    public static final class Bf16Weights implements AutoCloseable {
        final long out;
        final long in;
        private long address;

        public Bf16Weights(NDArray weight) {
            Shape s = weight.getShape();
            requireMatrix(s, "weight");
            if (weight.getDataType() != DataType.FLOAT32) {
                throw new IllegalArgumentException("bf16 weights are rounded from float32, got "
                        + weight.getDataType());
            }
            this.out = s.get(0);
            this.in = s.get(1);
            this.address = NativeOpsBridge.toBf16(NativeKernels.address(weight, "weight"), out * in);
        }

        long address() {
            if (address == 0) {
                throw new IllegalStateException("bf16 weights closed");
            }
            return address;
        }

        @Override
        public void close() {
            if (address != 0) {
                NativeOpsBridge.free(address);
                address = 0;
            }
        }
    }

    /**
     * Whether a tensor is contiguous, asked of DJL's own JNI ({@code PyTorchLibrary.torchIsContiguous},
     * package-private in DJL 0.36, hence reflection). Where that is not reachable nothing counts as
     * contiguous, so the native paths are refused rather than reading the wrong elements.
     */
    public static final class Contiguity {
        private static final Object LIB;
        private static final Method IS_CONTIGUOUS;

        static {
            Object lib = null;
            Method m = null;
            try {
                Class<?> c = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
                Field f = c.getDeclaredField("LIB");
                f.setAccessible(true);
                m = c.getDeclaredMethod("torchIsContiguous", long.class);
                m.setAccessible(true);
                lib = f.get(null);
            } catch (ReflectiveOperationException | RuntimeException e) {
                m = null;
            }
            LIB = lib;
            IS_CONTIGUOUS = m;
        }

        private Contiguity() {}

        public static boolean isContiguous(PtNDArray array) {
            if (IS_CONTIGUOUS == null) {
                return false;
            }
            try {
                return (Boolean) IS_CONTIGUOUS.invoke(LIB, array.getHandle());
            } catch (ReflectiveOperationException e) {
                return false;
            }
        }
    }
}

package io.github.bark4j.jmh;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.internal.model.Ops;
import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeOps;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The full passes' two compute-bound parts alone, at bark-small's shapes: the GEMM {@code y = x ·
 * Wᵀ} at each weight shape and each pass length ({@code rows}: 257 the semantic prompt, 887 the
 * longest coarse re-prefill, 1024 a fine window), and attention over 12 heads of 64 (FP32, 1024
 * positions), through libtorch and through the bridge's own kernels.
 *
 * <ul>
 *   <li>FP32: TORCH is libtorch's {@code linear} via DJL (what the Java path calls, and the FP32
 *       passes before bark4j's GEMM), KERNEL {@code bark4j_gemm.h}'s FP32 GEMM; attention: fused
 *       SDPA vs {@code bark4j_attention.h}.
 *   <li>BF16: bfloat16 x and W already in native memory, as a BF16 pass holds them. TORCH is
 *       libtorch's bfloat16 {@code linear} on the two tensors (oneDNN; what BF16 passes ran before,
 *       and still run without AVX-512 BF16), KERNEL {@code bark4j_gemm.h}'s bfloat16 GEMM (FP32
 *       product).
 * </ul>
 *
 * FLOPs per call over the score give GFLOP/s ({@link #flops}); {@link PeakFlopsBenchmark} gives the
 * ceiling to compare them with.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class PassKernelBenchmark {
    static final int HEADS = 12;
    static final int HEAD_SIZE = 64;

    /** Multiply-adds × 2 of one call: GEMM 2·rows·out·in; attention 4·heads·rows²·hd (half when causal). */
    public static double flops(String op, int rows) {
        if (op.startsWith("attention")) {
            double full = 4.0 * HEADS * rows * (double) rows * HEAD_SIZE;
            return op.endsWith("causal") ? full / 2 : full;
        }
        String[] f = op.split("x");
        return 2.0 * rows * Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @State(Scope.Benchmark)
    public static class Inputs {
        /** out x in of bark-small's q|k|v, attention out, MLP in, MLP out; or attention (causal or not). */
        @Param({"2304x768", "768x768", "3072x768", "768x3072", "attention", "attention-causal"})
        public String op;

        /** Positions: 257 (semantic prompt), 887 (coarse re-prefill), 1024 (fine window). */
        @Param({"1024"})
        public int rows;

        /** FP32 or BF16 operands (attention: FP32 only). */
        @Param({"FP32"})
        public String precision;

        /** TORCH (libtorch) or KERNEL (the bridge's). */
        @Param({"TORCH", "KERNEL"})
        public String impl;

        NDManager manager;
        NDArray x;
        NDArray w;
        NDArray y;
        NDArray qT;
        NDArray kT;
        NDArray vT;
        /** BF16: bridge bfloat16 tensors of x and W (never DJL arrays), and their data addresses. */
        long xBf16;
        long wBf16;
        long xBf16Address;
        long wBf16Address;
        int out;
        int in;

        @Setup(Level.Trial)
        public void make() {
            if (!NativeOps.isAvailable()) {
                throw new IllegalStateException("native bridge unavailable: " + NativeOps.unavailableReason());
            }
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(9);
            boolean bf16 = precision.equals("BF16");
            if (op.startsWith("attention")) {
                if (bf16) {
                    throw new IllegalStateException("skip: attention rows are FP32");
                }
                SplittableRandom random = new SplittableRandom(9);
                int n = HEADS * rows * HEAD_SIZE;
                Shape shape = new Shape(1, HEADS, rows, HEAD_SIZE);
                qT = manager.create(normal(random, n), shape);
                kT = manager.create(normal(random, n), shape);
                vT = manager.create(normal(random, n), shape);
                y = manager.zeros(shape);
                if (impl.equals("KERNEL") && !NativeKernels.attendF32(qT, kT, vT, y, false)) {
                    throw new IllegalStateException("skip: the FP32 attention kernel needs AVX-512");
                }
                return;
            }
            String[] f = op.split("x");
            out = Integer.parseInt(f[0]);
            in = Integer.parseInt(f[1]);
            w = manager.randomNormal(0, (float) (1 / Math.sqrt(in)), new Shape(out, in), DataType.FLOAT32);
            x = manager.randomNormal(new Shape(rows, in));
            y = manager.zeros(new Shape(rows, out));
            if (bf16) {
                xBf16 = NativeOps.toBf16Tensor(x);
                wBf16 = NativeOps.toBf16Tensor(w);
                xBf16Address = NativeOps.bf16Address(xBf16);
                wBf16Address = NativeOps.bf16Address(wBf16);
                if (impl.equals("KERNEL") && !NativeKernels.gemmBf16(xBf16Address, rows, wBf16Address, out, in, y)) {
                    throw new IllegalStateException("skip: the BF16 GEMM needs AVX-512 BF16");
                }
            } else if (impl.equals("KERNEL") && !NativeKernels.gemmF32(x, w, y)) {
                throw new IllegalStateException("skip: the FP32 GEMM needs AVX-512");
            }
        }

        private static float[] normal(SplittableRandom random, int n) {
            float[] out = new float[n];
            for (int i = 0; i < n; i++) {
                out[i] = (float) (random.nextDouble() * 2 - 1);
            }
            return out;
        }

        @TearDown(Level.Trial)
        public void close() {
            NativeOps.freeTensor(xBf16);
            NativeOps.freeTensor(wBf16);
            manager.close();
        }
    }

    @Benchmark
    public long run(Inputs in) {
        boolean causal = in.op.endsWith("causal");
        boolean kernel = in.impl.equals("KERNEL");
        if (in.op.startsWith("attention")) {
            if (kernel) {
                NativeKernels.attendF32(in.qT, in.kT, in.vT, in.y, causal);
                return in.rows;
            }
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                return NativeOps.scaledDotProductAttention(in.qT, in.kT, in.vT, causal).getShape().get(2);
            }
        }
        if (in.precision.equals("BF16")) {
            if (kernel) {
                NativeKernels.gemmBf16(in.xBf16Address, in.rows, in.wBf16Address, in.out, in.in, in.y);
                return in.rows;
            }
            NativeOps.freeTensor(NativeOps.linearBf16Tensors(in.xBf16, in.wBf16));
            return in.rows;
        }
        if (kernel) {
            NativeKernels.gemmF32(in.x, in.w, in.y);
            return in.rows;
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return Ops.linear(in.x, in.w, null).getShape().get(1);
        }
    }
}

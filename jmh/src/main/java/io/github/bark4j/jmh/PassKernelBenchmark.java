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
 * The FP32 full passes' two compute-bound parts alone, at a fine window's 1024 positions of
 * bark-small: the GEMM {@code y = x · Wᵀ} at each weight shape, and attention over 12 heads of 64,
 * through libtorch (what the Java path calls: {@code linear}, fused SDPA) and through the bridge's
 * own kernels ({@code bark4j_gemm.h}, {@code bark4j_attention.h}). FLOPs per call over the score
 * give GFLOP/s: see {@link #flops}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class PassKernelBenchmark {
    static final int POSITIONS = 1024;
    static final int HEADS = 12;
    static final int HEAD_SIZE = 64;

    /** Multiply-adds × 2 of one call: GEMM 2·M·N·K; attention 4·heads·len²·hd (half when causal). */
    public static double flops(String op) {
        if (op.startsWith("attention")) {
            double full = 4.0 * HEADS * POSITIONS * (double) POSITIONS * HEAD_SIZE;
            return op.endsWith("causal") ? full / 2 : full;
        }
        String[] f = op.split("x");
        return 2.0 * POSITIONS * Long.parseLong(f[0]) * Long.parseLong(f[1]);
    }

    @State(Scope.Benchmark)
    public static class Inputs {
        /** out x in of bark-small's q|k|v, attention out, MLP in, MLP out; or attention (causal or not). */
        @Param({"2304x768", "768x768", "3072x768", "768x3072", "attention", "attention-causal"})
        public String op;

        /** TORCH (libtorch via DJL) or KERNEL (the bridge's). */
        @Param({"TORCH", "KERNEL"})
        public String impl;

        NDManager manager;
        NDArray x;
        NDArray w;
        NDArray y;
        NDArray qT;
        NDArray kT;
        NDArray vT;

        @Setup(Level.Trial)
        public void make() {
            if (!NativeOps.isAvailable()) {
                throw new IllegalStateException("native bridge unavailable: " + NativeOps.unavailableReason());
            }
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(9);
            if (op.startsWith("attention")) {
                SplittableRandom random = new SplittableRandom(9);
                int n = HEADS * POSITIONS * HEAD_SIZE;
                Shape shape = new Shape(1, HEADS, POSITIONS, HEAD_SIZE);
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
            int out = Integer.parseInt(f[0]);
            int in = Integer.parseInt(f[1]);
            w = manager.randomNormal(0, (float) (1 / Math.sqrt(in)), new Shape(out, in), DataType.FLOAT32);
            x = manager.randomNormal(new Shape(POSITIONS, in));
            y = manager.zeros(new Shape(POSITIONS, out));
            if (impl.equals("KERNEL") && !NativeKernels.gemmF32(x, w, y)) {
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
            manager.close();
        }
    }

    @Benchmark
    public long run(Inputs in) {
        boolean causal = in.op.endsWith("causal");
        if (in.op.startsWith("attention")) {
            if (in.impl.equals("KERNEL")) {
                NativeKernels.attendF32(in.qT, in.kT, in.vT, in.y, causal);
                return POSITIONS;
            }
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                return NativeOps.scaledDotProductAttention(in.qT, in.kT, in.vT, causal).getShape().get(2);
            }
        }
        if (in.impl.equals("KERNEL")) {
            NativeKernels.gemmF32(in.x, in.w, in.y);
            return POSITIONS;
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return Ops.linear(in.x, in.w, null).getShape().get(1);
        }
    }
}

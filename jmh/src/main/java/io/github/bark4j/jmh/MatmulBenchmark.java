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

import java.util.concurrent.TimeUnit;

/**
 * Decode-step matmuls alone: {@code y = x · Wᵀ} for 1, 4, 8 or 16 rows of x at the weight shapes
 * of bark-small and bark, through libtorch's {@code linear} (what the Java path calls) and through
 * the bridge's small-batch kernels ({@link NativeKernels}), FP32 and BF16 weights. The weights
 * (bytes read per call) divided by the score give GB/s: see {@link #weightBytes}.
 *
 * <p>Weights are 1/√in-scaled normals made once per trial; x is made once, y preallocated for
 * the kernels (libtorch allocates its output, released per call as in the library).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 300, timeUnit = TimeUnit.MILLISECONDS)
@Measurement(iterations = 5, time = 300, timeUnit = TimeUnit.MILLISECONDS)
public class MatmulBenchmark {

    /** Bytes of weights one call reads: out × in × 4 (FP32) or × 2 (BF16). */
    public static long weightBytes(String shape, String weights) {
        String[] f = shape.split("x");
        return Long.parseLong(f[0]) * Long.parseLong(f[1]) * ("BF16".equals(weights) ? 2 : 4);
    }

    @State(Scope.Benchmark)
    public static class Inputs {
        /** out x in: bark-small's q|k|v, MLP in, MLP out, semantic head; bark's q|k|v, MLP in, MLP out. */
        @Param({"2304x768", "3072x768", "768x3072", "10048x768", "3072x1024", "4096x1024", "1024x4096"})
        public String shape;

        @Param({"1", "4", "8", "16"})
        public int rows;

        /** TORCH (libtorch linear via DJL, FP32 only) or KERNEL (the bridge's kernels). */
        @Param({"TORCH", "KERNEL"})
        public String impl;

        /** FP32 or BF16 weights (BF16: KERNEL only). */
        @Param({"FP32", "BF16"})
        public String weights;

        NDManager manager;
        NDArray x;
        NDArray w;
        NDArray y;
        NativeKernels.Bf16Weights bf16;

        @Setup(Level.Trial)
        public void make() {
            if (!NativeOps.isAvailable()) {
                throw new IllegalStateException("native bridge unavailable: " + NativeOps.unavailableReason());
            }
            if (impl.equals("TORCH") && weights.equals("BF16")) {
                // DJL aborts the JVM on bfloat16 tensors: there is no libtorch BF16 row to measure here
                throw new IllegalStateException("skip: libtorch BF16 linear is not reachable through DJL");
            }
            String[] f = shape.split("x");
            int out = Integer.parseInt(f[0]);
            int in = Integer.parseInt(f[1]);
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(9);
            w = manager.randomNormal(0, (float) (1 / Math.sqrt(in)), new Shape(out, in), DataType.FLOAT32);
            x = manager.randomNormal(new Shape(rows, in));
            y = manager.zeros(new Shape(rows, out));
            if (weights.equals("BF16")) {
                bf16 = new NativeKernels.Bf16Weights(w);
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            if (bf16 != null) {
                bf16.close();
            }
            manager.close();
        }
    }

    @Benchmark
    public long linear(Inputs in) {
        if (in.impl.equals("TORCH")) {
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                return Ops.linear(in.x, in.w, null).getShape().get(1);
            }
        }
        if (in.bf16 != null) {
            NativeKernels.linear(in.x, in.bf16, null, in.y);
        } else {
            NativeKernels.linear(in.x, in.w, null, in.y);
        }
        return in.rows;
    }
}

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

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The passes' GEMM, bark4j's against libtorch's, A/B in one process: each call runs one {@code y =
 * x · Wᵀ} of a pass shape with libtorch and one with {@code bark4j_gemm.h}, the order alternating
 * from call to call. BF16: libtorch's bfloat16 {@code linear} (oneDNN) and bark4j's bfloat16 GEMM
 * on the same bfloat16 operands in native memory; FP32: libtorch's {@code linear} through DJL (MKL)
 * and bark4j's FP32 GEMM. W cycles through copies that together exceed the L3, so it comes from
 * DRAM as in a pass (48 different weights per fine pass). {@link PassKernelBenchmark} times each
 * alone; this one is for a shared host, where only times taken side by side compare.
 *
 * <p>Secondary results, each the median over the iteration's calls: {@code libtorch-ms}, {@code
 * bark4j-ms} and {@code ratio} (bark4j / libtorch of one call pair). Threads: libtorch's ({@code
 * -jvmArgsAppend -Dai.djl.pytorch.num_threads=N}). Run with {@code -prof io.github.bark4j.jmh.StageTimes}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 1, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
public class GemmAbBenchmark {
    /** Bytes of weight copies to cycle through: past a 32 MB L3. */
    static final long WEIGHT_BYTES = 48L << 20;

    @State(Scope.Benchmark)
    public static class Inputs {
        /** out x in of bark-small's q|k|v, attention out, MLP in, MLP out. */
        @Param({"2304x768", "768x768", "3072x768", "768x3072"})
        public String op;

        /** Positions: 257 (semantic prompt), 887 (coarse re-prefill), 1024 (fine window). */
        @Param({"257", "887", "1024"})
        public int rows;

        /** BF16 or FP32 operands. */
        @Param({"BF16"})
        public String precision;

        NDManager manager;
        NDArray y;
        /** FP32: x and the weight copies. */
        NDArray xF32;
        NDArray[] weightsF32;
        long x;
        long xAddress;
        long[] weights;
        long[] weightAddresses;
        int out;
        int in;
        int calls;
        double[] torchMs = new double[1 << 16];
        double[] bark4jMs = new double[1 << 16];
        int timed;

        @Setup(Level.Trial)
        public void make() {
            if (!NativeOps.isAvailable()) {
                throw new IllegalStateException("native bridge unavailable: " + NativeOps.unavailableReason());
            }
            manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
            manager.getEngine().setRandomSeed(9);
            String[] f = op.split("x");
            out = Integer.parseInt(f[0]);
            in = Integer.parseInt(f[1]);
            y = manager.zeros(new Shape(rows, out));
            if (precision.equals("FP32")) {
                int copies = (int) (WEIGHT_BYTES / (4L * out * in)) + 1;
                weightsF32 = new NDArray[copies];
                for (int c = 0; c < copies; c++) {
                    weightsF32[c] = manager.randomNormal(0, (float) (1 / Math.sqrt(in)), new Shape(out, in),
                            DataType.FLOAT32);
                }
                xF32 = manager.randomNormal(new Shape(rows, in));
                if (!NativeKernels.gemmF32(xF32, weightsF32[0], y)) {
                    throw new IllegalStateException("skip: the FP32 GEMM needs AVX-512");
                }
                return;
            }
            int copies = (int) (WEIGHT_BYTES / (2L * out * in)) + 1;
            weights = new long[copies];
            weightAddresses = new long[copies];
            for (int c = 0; c < copies; c++) {
                try (NDArray w = manager.randomNormal(0, (float) (1 / Math.sqrt(in)), new Shape(out, in),
                        DataType.FLOAT32)) {
                    weights[c] = NativeOps.toBf16Tensor(w);
                    weightAddresses[c] = NativeOps.bf16Address(weights[c]);
                }
            }
            try (NDArray input = manager.randomNormal(new Shape(rows, in))) {
                x = NativeOps.toBf16Tensor(input);
                xAddress = NativeOps.bf16Address(x);
            }
            if (!NativeKernels.gemmBf16(xAddress, rows, weightAddresses[0], out, in, y)) {
                throw new IllegalStateException("skip: the BF16 GEMM needs AVX-512 BF16");
            }
        }

        @Setup(Level.Iteration)
        public void startIteration() {
            timed = 0;
        }

        @TearDown(Level.Iteration)
        public void report() {
            if (timed == 0) {
                return;
            }
            double[] ratio = new double[timed];
            for (int i = 0; i < timed; i++) {
                ratio[i] = bark4jMs[i] / torchMs[i];
            }
            StageTimes.record("libtorch-ms", median(torchMs, timed), "ms");
            StageTimes.record("bark4j-ms", median(bark4jMs, timed), "ms");
            StageTimes.record("ratio", median(ratio, timed), "bark4j/libtorch");
        }

        private static double median(double[] values, int n) {
            double[] sorted = Arrays.copyOf(values, n);
            Arrays.sort(sorted);
            return sorted[n / 2];
        }

        @TearDown(Level.Trial)
        public void close() {
            for (long w : weights == null ? new long[0] : weights) {
                NativeOps.freeTensor(w);
            }
            NativeOps.freeTensor(x);
            manager.close();
        }
    }

    @Benchmark
    public void ab(Inputs in) {
        int c = in.calls++;
        int w = c % (in.weightsF32 != null ? in.weightsF32.length : in.weights.length);
        boolean bark4jFirst = c % 2 == 0;
        double first = timed(in, w, bark4jFirst);
        double second = timed(in, w, !bark4jFirst);
        if (in.timed < in.torchMs.length) {
            in.bark4jMs[in.timed] = bark4jFirst ? first : second;
            in.torchMs[in.timed] = bark4jFirst ? second : first;
            in.timed++;
        }
    }

    private static double timed(Inputs in, int w, boolean bark4j) {
        long start = System.nanoTime();
        if (in.weightsF32 != null) {
            if (bark4j) {
                NativeKernels.gemmF32(in.xF32, in.weightsF32[w], in.y);
            } else {
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    Ops.linear(in.xF32, in.weightsF32[w], null);
                }
            }
        } else if (bark4j) {
            NativeKernels.gemmBf16(in.xAddress, in.rows, in.weightAddresses[w], in.out, in.in, in.y);
        } else {
            NativeOps.freeTensor(NativeOps.linearBf16Tensors(in.x, in.weights[w]));
        }
        return (System.nanoTime() - start) / 1e6;
    }
}

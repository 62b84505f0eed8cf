package io.github.bark4j.jmh;

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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The CPU's compute peak, the ceiling of {@link PassKernelBenchmark}'s GEMM rows: independent
 * chains of one zmm instruction ({@code vfmadd231ps} for FP32, {@code vdpbf16ps} for BF16; 16
 * chains, more than latency × throughput) on 1 or 2 threads at once, nothing else in the loop
 * (the bridge's {@code bark4j_peak_chains}). GFLOP/s = {@link #flops} / score; a multiply-add counts 2,
 * a {@code vdpbf16ps} does 32 of them, a {@code vfmadd231ps} 16.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 1, timeUnit = TimeUnit.SECONDS)
public class PeakFlopsBenchmark {
    /** Rounds of 16 chained instructions per thread and call: about 25 ms on a Zen 5 core. */
    static final long ROUNDS = 10_000_000;

    /** FLOPs of one call. */
    public static double flops(String precision, int threads) {
        return threads * (double) ROUNDS * 16 * (precision.equals("BF16") ? 64 : 32);
    }

    @State(Scope.Benchmark)
    public static class Chains {
        /** FP32 (vfmadd231ps) or BF16 (vdpbf16ps). */
        @Param({"FP32", "BF16"})
        public String precision;

        /** Threads running chains at once. */
        @Param({"1", "2"})
        public int threads;

        @Setup(Level.Trial)
        public void check() {
            if (!NativeOps.isAvailable()) {
                throw new IllegalStateException("native bridge unavailable: " + NativeOps.unavailableReason());
            }
            double done = NativeKernels.peakChains(precision.equals("BF16"), threads, 1);
            if (done < 0) {
                throw new IllegalStateException("skip: this CPU lacks the instruction for " + precision);
            }
            if (done != flops(precision, threads) / ROUNDS) {
                throw new IllegalStateException("OpenMP ran fewer than " + threads + " threads");
            }
        }
    }

    @Benchmark
    public double chains(Chains c) {
        return NativeKernels.peakChains(c.precision.equals("BF16"), c.threads, ROUNDS);
    }
}

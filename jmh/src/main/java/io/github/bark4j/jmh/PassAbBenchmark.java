package io.github.bark4j.jmh;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.KvCache;
import io.github.bark4j.internal.nativ.NativeKernels;

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
 * The BF16 passes with bark4j's bfloat16 GEMM against the same passes with libtorch's, A/B in one
 * process: a fine window (the six 1024-position passes of codebooks 2..7, each with its FP32 head)
 * or a coarse re-prefill (one causal 887-position pass into an empty KV cache, the head on the last
 * position), on the native passes of bark-small's random weights. Run it with {@code -p
 * precision=BF16 -p step=NATIVE -p attention=SDPA -prof io.github.bark4j.jmh.StageTimes}.
 *
 * <p>Each call runs the pass once with each GEMM ({@link NativeKernels#useBf16Gemm}), the order
 * alternating from call to call, so that on a shared host both see the same load. The two times are
 * secondary results ({@code bark4j-ms}, {@code libtorch-ms}, averaged over the calls); the score is
 * the call, both passes.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 2)
@Measurement(iterations = 10)
public class PassAbBenchmark {
    /** Positions of the longest coarse re-prefill (a voice-sized history plus the window). */
    static final int COARSE_PREFILL = 887;

    @State(Scope.Benchmark)
    public static class Inputs {
        /** fine-window or coarse-prefill. */
        @Param({"fine-window", "coarse-prefill"})
        public String pass;

        NDManager manager;
        long[] fineCodes;
        long[] coarseIds;
        int calls;

        @Setup(Level.Trial)
        public void make(BarkState s) {
            if (!s.precision.equals("BF16") || !s.step.equals("NATIVE") || !s.attention.equals("SDPA")) {
                throw new IllegalStateException("run with -p precision=BF16 -p step=NATIVE -p attention=SDPA");
            }
            if (!NativeKernels.useBf16Gemm(true)) {
                throw new IllegalStateException("skip: no AVX-512 BF16, so BF16 passes use libtorch's GEMM only");
            }
            manager = s.bark().manager().newSubManager();
            SplittableRandom r = new SplittableRandom(13);
            Gpt fine = s.bark().fine;
            int codebooks = fine.config().nCodesTotal();
            fineCodes = r.longs((long) Workload.FINE_FRAMES * codebooks, 0, fine.config().inputVocabSize()).toArray();
            coarseIds = r.longs(COARSE_PREFILL, 0, s.bark().coarse.config().inputVocabSize()).toArray();
        }

        @TearDown(Level.Trial)
        public void close() {
            NativeKernels.useBf16Gemm(true);
            if (manager != null) {
                manager.close();
            }
        }
    }

    @Benchmark
    public void ab(BarkState s, Inputs in) {
        boolean bark4jFirst = in.calls++ % 2 == 0;
        double first = timed(s, in, bark4jFirst);
        double second = timed(s, in, !bark4jFirst);
        StageTimes.record("bark4j-ms", bark4jFirst ? first : second, "ms");
        StageTimes.record("libtorch-ms", bark4jFirst ? second : first, "ms");
    }

    /** Milliseconds of one pass with bark4j's bfloat16 GEMM or libtorch's. */
    private static double timed(BarkState s, Inputs in, boolean bark4j) {
        if (NativeKernels.useBf16Gemm(bark4j) != bark4j) {
            throw new IllegalStateException("could not switch the BF16 GEMM");
        }
        long start = System.nanoTime();
        // everything a pass makes hangs off its inputs' manager, closed at the end of the pass
        try (NDManager m = in.manager.newSubManager()) {
            if (in.pass.equals("fine-window")) {
                Gpt fine = s.bark().fine;
                NDArray codes = m.create(in.fineCodes, new Shape(1, Workload.FINE_FRAMES, fine.config().nCodesTotal()));
                for (int k = fine.config().nCodesGiven(); k < fine.config().nCodesTotal(); k++) {
                    fine.forwardFine(codes, k).close();
                }
            } else {
                Gpt coarse = s.bark().coarse;
                try (KvCache cache = coarse.newCache(m, 1, COARSE_PREFILL)) {
                    NDArray ids = m.create(in.coarseIds, new Shape(1, COARSE_PREFILL));
                    coarse.forwardCausal(coarse.embed(ids), cache, true).close();
                }
            }
        } finally {
            NativeKernels.useBf16Gemm(true);
        }
        return (System.nanoTime() - start) / 1e6;
    }
}

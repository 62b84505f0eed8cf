package io.github.bark4j.jmh;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.pipeline.Coarse;
import io.github.bark4j.internal.pipeline.Fine;
import io.github.bark4j.internal.pipeline.Sampler;
import io.github.bark4j.internal.pipeline.Semantic;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Each stage alone, on fixed inputs, through the same stage code the Synthesizer runs. Scores are
 * milliseconds per unit of work: per semantic token (the one 257-position prompt pass included,
 * amortised), per coarse token (its two window re-prefills of about 887 positions included), per 1024-frame
 * fine window (six passes, codebooks 2..7), per second of audio decoded by EnCodec.
 *
 * <p>Iteration counts here are the quick matrix's (one warm-up call, then one or two measured calls);
 * {@code Matrix.FULL} overrides them.
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class StageBenchmark {

    /** The stage inputs, made once per trial. */
    @State(Scope.Benchmark)
    public static class Inputs {
        long[] textIds;
        VoicePreset voice;
        GenerationOptions options;
        int[] semantic;
        int[][] coarseWindow;
        int[][] fineCodes;

        @Setup(Level.Trial)
        public void make(BarkState s) {
            textIds = s.pipeline().tokenize(Workload.TEXT, new java.util.ArrayList<>());
            voice = Workload.voice();
            options = Workload.options(voice);
            semantic = Workload.semanticTokens();
            SplittableRandom r = new SplittableRandom(11);
            coarseWindow = Workload.codes(r, Coarse.CODEBOOKS, Workload.FINE_FRAMES);
            fineCodes = Workload.codes(r, s.bark().config.fine().nCodesTotal(), Workload.CODEC_FRAMES);
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 2)
    @OperationsPerInvocation(Workload.SEMANTIC_TOKENS)
    public int[] semantic(BarkState s, Inputs in) {
        try (NDManager request = s.bark().manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            int[] out = Semantic.generate(s.bark().semantic, request, new long[][] {in.textIds}, in.voice, in.options,
                    new Sampler[] {new Sampler(0)})[0];
            expect(out.length, Workload.SEMANTIC_TOKENS, "semantic tokens");
            return out;
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    @OperationsPerInvocation(Workload.COARSE_TOKENS)
    public int[][] coarse(BarkState s, Inputs in) {
        try (NDManager request = s.bark().manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            int[][] out = Coarse.generate(s.bark().coarse, request, new int[][] {in.semantic}, in.voice, in.options,
                    new Sampler[] {new Sampler(0)})[0];
            expect(out[0].length * Coarse.CODEBOOKS, Workload.COARSE_TOKENS, "coarse tokens");
            return out;
        }
    }

    /** One 1024-frame window: no voice history, so exactly one window of six passes (codebooks 2..7). */
    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public int[][] fine(BarkState s, Inputs in) {
        try (NDManager request = s.bark().manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            return Fine.generate(s.bark().fine, request, new int[][][] {in.coarseWindow}, null, in.options,
                    new Sampler[] {new Sampler(0)})[0];
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 2)
    @OperationsPerInvocation(Workload.CODEC_SECONDS)
    public float[] codec(BarkState s, Inputs in) {
        try (NDManager request = s.bark().manager().newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            float[] audio = s.pipeline().decode(request, in.fineCodes);
            expect(audio.length, Workload.CODEC_SECONDS * s.pipeline().sampleRate(), "audio samples");
            return audio;
        }
    }

    static void expect(int actual, int expected, String what) {
        if (actual != expected) {
            throw new IllegalStateException("Expected " + expected + " " + what + ", got " + actual);
        }
    }
}

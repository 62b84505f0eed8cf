package io.github.bark4j.jmh;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.internal.ApiAccess;
import io.github.bark4j.internal.pipeline.Coarse;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The issue-9 workload, end to end in one {@code Synthesizer.generate} call: bark-small's random
 * weights, greedy, EOS off, no voice, one segment of {@link #SEMANTIC_TOKENS} semantic tokens →
 * {@link #COARSE_TOKENS} coarse tokens (39 window re-prefills) → {@link #FRAMES} frames (two fine
 * windows) → {@link #AUDIO_SECONDS} s of audio. The score is the call's wall time; the stage
 * times come from the progress callbacks (a stage ends at its last callback, the next starts
 * there) and are reported by {@link StageTimes} as secondary results: semantic and coarse in ms
 * per token (prompt pass and re-prefills included), fine and EnCodec in seconds.
 *
 * <p>One measured call without warm-up: the work is minutes long and runs in native code, so the
 * JIT's share is small; the first call also pays for first-touching the KV caches.
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LongWorkloadBenchmark {
    static final int SEMANTIC_TOKENS = 768;
    static final int COARSE_TOKENS = 2308;
    static final int FRAMES = COARSE_TOKENS / Coarse.CODEBOOKS;
    static final double AUDIO_SECONDS = FRAMES * 320 / 24000.0;

    /** Loads the Synthesizer before the timed call. */
    @State(Scope.Benchmark)
    public static class Loaded {
        @Setup(Level.Trial)
        public void load(BarkState s) {
            s.synth();
        }
    }

    @Benchmark
    @Warmup(iterations = 0)
    @Measurement(iterations = 1)
    public Speech generate(BarkState s, Loaded loaded) {
        if (Coarse.steps(SEMANTIC_TOKENS) != COARSE_TOKENS) {
            throw new IllegalStateException("Coarse.steps(" + SEMANTIC_TOKENS + ") is " + Coarse.steps(SEMANTIC_TOKENS));
        }
        Map<Stage, Long> lastCallback = new EnumMap<>(Stage.class);
        GenerationOptions options = ApiAccess.get().fixedSemanticTokens(GenerationOptions.builder().greedy(),
                SEMANTIC_TOKENS).noVoice().longForm(false)
                .progress((stage, done, total) -> lastCallback.put(stage, System.nanoTime())).build();
        long start = System.nanoTime();
        Speech speech = s.synth().generate(Workload.TEXT, options);
        long end = System.nanoTime();
        StageBenchmark.expect(speech.semanticTokens().length, SEMANTIC_TOKENS, "semantic tokens");
        StageBenchmark.expect(speech.coarseTokens()[0].length, FRAMES, "frames");
        long semantic = lastCallback.get(Stage.SEMANTIC);
        long coarse = lastCallback.get(Stage.COARSE);
        long fine = lastCallback.get(Stage.FINE);
        StageTimes.record("semantic-ms-per-token", (semantic - start) / 1e6 / SEMANTIC_TOKENS, "ms/token");
        StageTimes.record("coarse-ms-per-token", (coarse - semantic) / 1e6 / COARSE_TOKENS, "ms/token");
        StageTimes.record("fine-s", (fine - coarse) / 1e9, "s");
        StageTimes.record("codec-s", (end - fine) / 1e9, "s");
        return speech;
    }
}

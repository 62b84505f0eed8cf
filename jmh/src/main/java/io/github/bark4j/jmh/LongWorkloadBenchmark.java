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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The long workload, end to end in one {@code Synthesizer.generate} call: bark-small's random
 * weights, greedy, EOS off, no voice, for each of {@code rows} texts (one batch) one segment of
 * {@link #SEMANTIC_TOKENS} semantic tokens →
 * {@link #COARSE_TOKENS} coarse tokens (39 window re-prefills) → {@link #FRAMES} frames (two fine
 * windows) → {@link #AUDIO_SECONDS} s of audio. The score is the call's wall time; the stage
 * times come from the progress callbacks (a stage ends at its last callback, the next starts
 * there) and are reported by {@link StageTimes} as secondary results: semantic and coarse in ms
 * per token of a row (prompt pass and re-prefills included; the rows decode in lockstep), fine and
 * EnCodec in seconds, and the aggregate real-time factor (wall time over the audio of all rows).
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

    /** Loads the Synthesizer before the timed call; {@code rows} texts generated as one batch. */
    @State(Scope.Benchmark)
    public static class Loaded {
        /** Texts generated together, each the whole workload: 1 is the single-utterance latency. */
        @Param({"1"})
        public int rows;

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
                SEMANTIC_TOKENS).noVoice().longForm(false).maxBatch(loaded.rows)
                .progress((stage, done, total) -> lastCallback.put(stage, System.nanoTime())).build();
        long start = System.nanoTime();
        List<Speech> speech = s.synth().generate(Workload.texts(loaded.rows), options);
        long end = System.nanoTime();
        for (Speech row : speech) {
            StageBenchmark.expect(row.semanticTokens().length, SEMANTIC_TOKENS, "semantic tokens");
            StageBenchmark.expect(row.coarseTokens()[0].length, FRAMES, "frames");
        }
        long semantic = lastCallback.get(Stage.SEMANTIC);
        long coarse = lastCallback.get(Stage.COARSE);
        long fine = lastCallback.get(Stage.FINE);
        StageTimes.record("semantic-ms-per-token", (semantic - start) / 1e6 / SEMANTIC_TOKENS, "ms/token");
        StageTimes.record("coarse-ms-per-token", (coarse - semantic) / 1e6 / COARSE_TOKENS, "ms/token");
        StageTimes.record("fine-s", (fine - coarse) / 1e9, "s");
        StageTimes.record("codec-s", (end - fine) / 1e9, "s");
        StageTimes.record("rtf-aggregate", (end - start) / 1e9 / (loaded.rows * AUDIO_SECONDS), "x");
        return speech.get(0);
    }
}

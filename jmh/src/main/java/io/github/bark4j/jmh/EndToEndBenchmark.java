package io.github.bark4j.jmh;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;

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

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Text to audio through the public batched {@link Synthesizer#generate(List, GenerationOptions)} call:
 * tokenizer, the three GPTs, EnCodec, for {@code batch} texts at once (batch 1 is exactly what
 * {@code generate(String, GenerationOptions)} does). One call makes {@code batch} utterances of
 * {@link Workload#UTTERANCE_SECONDS} each; the score is the wall time of the call, and the report
 * derives a real-time factor (wall time / audio seconds of one utterance) and a throughput (batch ×
 * audio seconds / wall time).
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class EndToEndBenchmark {

    @State(Scope.Benchmark)
    public static class Request {
        /** Texts per call, through the batched API. */
        @Param({"1"})
        public int batch;

        List<String> texts;
        GenerationOptions options;

        @Setup(Level.Trial)
        public void make(BarkState s) {
            s.synth(); // loaded here, not in the timed calls
            texts = Workload.texts(batch);
            options = Workload.options(Workload.voice());
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public List<Speech> generate(BarkState s, Request r) {
        List<Speech> speech = s.synth().generate(r.texts, r.options);
        if (speech.size() != r.batch) {
            throw new IllegalStateException("Expected " + r.batch + " results, got " + speech.size());
        }
        for (Speech one : speech) {
            if (Math.abs(one.durationSeconds() - Workload.UTTERANCE_SECONDS) > 1e-9) {
                throw new IllegalStateException("Expected " + Workload.UTTERANCE_SECONDS + " s of audio, got "
                        + one.durationSeconds());
            }
        }
        return speech;
    }
}

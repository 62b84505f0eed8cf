package io.github.bark4j;

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

import java.util.concurrent.TimeUnit;

/**
 * Text to audio through the public {@link Synthesizer#generate} call: tokenizer, the three GPTs,
 * EnCodec. One call makes {@link Workload#UTTERANCE_SECONDS} of audio; the report turns the score
 * into a real-time factor (wall time / audio seconds) and a throughput (audio seconds per second,
 * times the batch size once batched generation exists).
 *
 * <p>Batching plugs in here: a {@code @Param({"1"}) public int batch;} field, {@code batch} texts per
 * call through the batched API, and the values 1, 4, 8 in {@code Matrix}.
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class EndToEndBenchmark {

    @State(Scope.Benchmark)
    public static class Request {
        GenerationOptions options;

        @Setup(Level.Trial)
        public void make() {
            options = Workload.options(Workload.voice());
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public Speech generate(BarkState s, Request r) {
        Speech speech = s.synth.generate(Workload.TEXT, r.options);
        if (Math.abs(speech.durationSeconds() - Workload.UTTERANCE_SECONDS) > 1e-9) {
            throw new IllegalStateException("Expected " + Workload.UTTERANCE_SECONDS + " s of audio, got "
                    + speech.durationSeconds());
        }
        return speech;
    }
}

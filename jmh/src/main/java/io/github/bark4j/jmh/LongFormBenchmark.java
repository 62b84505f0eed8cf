package io.github.bark4j.jmh;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Speech;
import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.internal.pipeline.Segmenter;

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

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;
import java.util.stream.Stream;

/**
 * Long-form speech of a five-sentence paragraph ({@link Workload#texts} 0..4, one segment each, with
 * the benchmark voice, so all five are independent): {@code total} is {@code generate(paragraph)},
 * {@code streamAll} consumes the whole {@code stream(paragraph)}, {@code firstAudio} takes the
 * stream's first element and closes it (the time to first audio; the rest is cancelled).
 * {@code maxBatch} 1 generates the segments one after another, 5 batches them (the stream always
 * runs its first segment alone). Each segment does the fixed work of {@link Workload}: 40 semantic
 * tokens, 0.8 s of audio.
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class LongFormBenchmark {
    static final int SENTENCES = 5;

    @State(Scope.Benchmark)
    public static class Paragraph {
        /** Segments per batch: 1 = sequential, 5 = the whole paragraph in one batch. */
        @Param({"1", "5"})
        public int maxBatch;

        String text;
        GenerationOptions options;

        @Setup(Level.Trial)
        public void make(BarkState s) {
            text = paragraph();
            int budget;
            List<String> segments;
            // the model's tokenizer alone: the Synthesizer counts tokens the same way
            try (TextTokenizer tokenizer = TextTokenizer.load(RandomBarkModel.folder(s.model).resolve("tokenizer.json"))) {
                ToIntFunction<String> tokens = t -> tokenizer.encode(TextTokenizer.normalizeWhitespace(t)).length;
                budget = budget(tokens);
                segments = new Segmenter(tokens, budget).split(text);
            }
            s.synth(); // loaded here, not in the timed calls
            options = Workload.options(Workload.voice()).toBuilder().longForm(true).maxBatch(maxBatch)
                    .maxSegmentTokens(budget)
                    .build();
            if (segments.size() != SENTENCES) {
                throw new IllegalStateException("Expected " + SENTENCES + " segments, got " + segments);
            }
        }
    }

    static String paragraph() {
        return String.join(" ", Workload.texts(SENTENCES));
    }

    /** A segment budget that holds the longest sentence and no two of them: one segment per sentence. */
    static int budget(ToIntFunction<String> tokens) {
        int longest = 0;
        for (String sentence : Workload.texts(SENTENCES)) {
            longest = Math.max(longest, tokens.applyAsInt(sentence));
        }
        return longest;
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public Speech total(BarkState s, Paragraph p) {
        Speech speech = s.synth().generate(p.text, p.options);
        check(speech.segments().size(), SENTENCES);
        return speech;
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public int streamAll(BarkState s, Paragraph p) {
        try (Stream<Speech> stream = s.synth().stream(p.text, p.options)) {
            int n = 0;
            for (Iterator<Speech> it = stream.iterator(); it.hasNext(); n++) {
                it.next();
            }
            check(n, SENTENCES);
            return n;
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 1)
    public Speech firstAudio(BarkState s, Paragraph p) {
        try (Stream<Speech> stream = s.synth().stream(p.text, p.options)) {
            Speech first = stream.iterator().next();
            if (Math.abs(first.durationSeconds() - Workload.UTTERANCE_SECONDS) > 1e-9) {
                throw new IllegalStateException("Expected " + Workload.UTTERANCE_SECONDS + " s of audio, got "
                        + first.durationSeconds());
            }
            return first;
        }
    }

    private static void check(int segments, int expected) {
        if (segments != expected) {
            throw new IllegalStateException("Expected " + expected + " segments, got " + segments);
        }
    }
}

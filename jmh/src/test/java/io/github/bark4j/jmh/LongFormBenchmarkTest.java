package io.github.bark4j.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.internal.pipeline.Segmenter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The benchmark's paragraph is five segments, one per sentence, with the benchmark models' tokenizer. */
class LongFormBenchmarkTest {
    @TempDir
    Path tmp;

    @Test
    void paragraphIsOneSegmentPerSentence() throws Exception {
        Path json = Files.writeString(tmp.resolve("tokenizer.json"), RandomBarkModel.tokenizerJson());
        try (TextTokenizer tokenizer = TextTokenizer.load(json)) {
            int budget = LongFormBenchmark.budget(t -> tokenizer.encode(t).length);
            List<String> segments = new Segmenter(t -> tokenizer.encode(t).length, budget)
                    .split(LongFormBenchmark.paragraph());
            assertEquals(Workload.texts(LongFormBenchmark.SENTENCES), segments);
        }
    }
}

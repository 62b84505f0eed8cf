package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.github.bark4j.internal.model.FirstPassLogitsTest;
import io.github.bark4j.internal.nativ.NativeLibrary;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;

/**
 * The tiny-bark golden cases, end to end through the public API in greedy FP64: text ids, every
 * semantic, coarse and fine token, and every audio sample within 1e-6 of the original Bark. With the
 * builder's defaults, i.e. through the native decode step and SDPA where the bridge loads.
 */
class ConformanceTest {
    private static Synthesizer synth;

    @BeforeAll
    static void load() {
        synth = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).precision(Precision.FP64).build();
        assertEquals(NativeLibrary.isAvailable(), synth.nativeStep(), "the native step is the default");
    }

    @AfterAll
    static void close() {
        synth.close();
    }

    static List<Golden.Case> cases() throws IOException {
        return Golden.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void greedyFp64MatchesOriginal(Golden.Case c) {
        assertArrayEquals(c.textIds(), synth.tokenize(c.text(), new java.util.ArrayList<>()), "text ids");
        // each golden case is one Bark generation (the long one would otherwise be spoken in segments)
        GenerationOptions.Builder o = GenerationOptions.builder().greedy().longForm(false)
                .maxSemanticSeconds(c.maxSemanticSeconds());
        if (c.voice() != null) {
            o.voice(SharedFiles.voice(c.voice()));
        }
        Speech s = synth.generate(c.text(), o.build());
        assertArrayEquals(c.semantic(), s.semanticTokens(), "semantic tokens");
        assertArrayEquals(c.coarse(), s.coarseTokens(), "coarse tokens");
        assertArrayEquals(c.fine(), s.fineTokens(), "fine tokens");
        assertFalse(s.textTruncated());
        assertEquals(24000, s.sampleRate());
        double[] expected = Golden.npyDoubles(c.audioFile().getFileName().toString());
        assertEquals(c.audioSamples(), expected.length);
        float[] actual = s.samples();
        double[] widened = new double[actual.length];
        for (int i = 0; i < actual.length; i++) {
            widened[i] = actual[i];
        }
        FirstPassLogitsTest.assertClose(expected, widened, 1e-6, "audio of " + c.name());
    }
}

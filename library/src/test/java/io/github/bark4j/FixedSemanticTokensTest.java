package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.bark4j.internal.pipeline.Coarse;
import io.github.bark4j.internal.pipeline.Semantic;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

/** The package-private fixed-length semantic mode that benchmarks rely on for constant work per run. */
class FixedSemanticTokensTest {

    @Test
    void generatesExactlyNTokensIgnoringEosAndDurationCap() {
        try (Synthesizer synth = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build()) {
            for (int n : new int[] {1, 7, 40}) {
                GenerationOptions o = GenerationOptions.builder().greedy().maxSemanticSeconds(0.05)
                        .fixedSemanticTokens(n).build();
                Speech s = synth.generate("Hello there.", o);
                assertEquals(n, s.semanticTokens().length, "semantic tokens for n=" + n);
                assertEquals(Coarse.steps(n) / Coarse.CODEBOOKS, s.coarseTokens()[0].length);
                for (int t : s.semanticTokens()) {
                    assertEquals(true, t >= 0 && t < Semantic.EOS, "token " + t + " is a semantic id");
                }
            }
            GenerationOptions sampled = GenerationOptions.builder().seed(3).fixedSemanticTokens(5).build();
            assertEquals(5, synth.generate("Hello there.", sampled).semanticTokens().length);
            assertEquals(5, sampled.toBuilder().build().fixedSemanticTokens());
        }
        assertThrows(InvalidInputException.class, () -> GenerationOptions.builder().fixedSemanticTokens(-1));
        assertThrows(InvalidInputException.class,
                () -> GenerationOptions.builder().fixedSemanticTokens(Semantic.MAX_NEW_TOKENS + 1));
    }
}

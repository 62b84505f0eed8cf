package io.github.bark4j;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Run in a second JVM by {@link SynthesizerTest}: one sampling generation, printing its tokens as
 * {@code SEMANTIC [..]} and {@code COARSE [[..], [..]]}.
 *
 * <p>Arguments: model folder, text, seed, max semantic seconds.
 */
final class SynthesizerChild {
    private SynthesizerChild() {}

    public static void main(String[] args) {
        try (Synthesizer s = Synthesizer.builder().modelDir(Path.of(args[0])).build()) {
            Speech speech = s.generate(args[1], GenerationOptions.builder().seed(Long.parseLong(args[2]))
                    .maxSemanticSeconds(Double.parseDouble(args[3])).build());
            System.out.println("SEMANTIC " + Arrays.toString(speech.semanticTokens()));
            System.out.println("COARSE " + Arrays.deepToString(speech.coarseTokens()));
        }
        System.exit(0);
    }
}

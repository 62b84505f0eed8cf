package io.github.bark4j.jmh;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link SmallHeapLoadTest}: loads a model folder and speaks a few tokens,
 * printing the JVM's direct-memory limit and the number of samples.
 */
final class SmallHeapLoad {
    private SmallHeapLoad() {}

    public static void main(String[] args) {
        try (Synthesizer s = Synthesizer.builder().modelDir(Path.of(args[0])).build()) {
            System.out.println("LOADED maxHeap=" + Runtime.getRuntime().maxMemory());
            Speech speech = s.generate("Hello world", GenerationOptions.builder().greedy()
                    .maxSemanticSeconds(0.2).build());
            System.out.println("SPOKE " + speech.samples().length);
        }
        System.exit(0);
    }
}

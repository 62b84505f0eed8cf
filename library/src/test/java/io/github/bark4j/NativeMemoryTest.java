package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * Generations leave no native arrays behind: every array a call creates belongs to its request
 * manager or a step scope, so the model's manager holds exactly its weights before and after, in
 * every residency mode, for single and batched calls, and also after a call that fails mid-way.
 */
class NativeMemoryTest {

    @Test
    void generationsLeaveOnlyTheWeights() {
        for (Offload offload : Offload.values()) {
            try (Synthesizer s = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).offload(offload)
                    .attention(Attention.SDPA).build()) {
                NDManager m = s.model().manager();
                int weights = m.getManagedArrays().size();
                GenerationOptions o = GenerationOptions.builder().seed(3).maxSemanticSeconds(0.3).build();
                for (int i = 0; i < 2; i++) {
                    s.generate("Hello world, this is a speech test.", o);
                    s.generate(List.of("One.", "Two and three."), o);
                    assertEquals(weights, m.getManagedArrays().size(), offload + " call " + i);
                }
                // a voice whose fine prompt does not fit the model fails in the fine stage
                int[][] fine = new int[3][40];
                VoicePreset bad = VoicePreset.of(new int[] {1, 2, 3}, new int[2][40], fine);
                try {
                    s.generate("Hello.", o.toBuilder().voice(bad).build());
                } catch (InvalidVoiceException expected) {
                    // the failure itself is tested elsewhere; here only what it leaves behind
                }
                assertEquals(weights, m.getManagedArrays().size(), offload + " after a failed call");
            }
        }
    }
}

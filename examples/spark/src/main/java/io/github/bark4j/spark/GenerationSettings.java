package io.github.bark4j.spark;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;

import java.io.Serializable;

/**
 * The job-wide sampling settings (each row adds its own voice and seed).
 *
 * @param greedy      argmax decoding at every stage
 * @param temperature semantic and coarse temperature, or null for the library default
 * @param maxSeconds  cap on each row's speech length, or null for none
 */
public record GenerationSettings(boolean greedy, Double temperature, Double maxSeconds) implements Serializable {

    /**
     * Options for a batch of rows sharing {@code voice} (null for none), run {@code batchSize} rows at a
     * time; seeds are given per row. The batch size is no part of a row's result (each row equals its
     * single call), so it is not a setting of this record.
     */
    GenerationOptions options(VoicePreset voice, int batchSize) {
        GenerationOptions.Builder b = GenerationOptions.builder().maxBatch(batchSize);
        if (greedy) {
            b.greedy();
        }
        if (temperature != null) {
            b.temperature(temperature);
        }
        if (maxSeconds != null) {
            b.maxSemanticSeconds(maxSeconds);
        }
        if (voice != null) {
            b.voice(voice);
        }
        return b.build();
    }

    /** Checks the values the way the library will, so a bad setting fails on the driver. */
    void validate() {
        options(null, 1);
    }
}

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

    /** Options for a batch of rows sharing {@code voice} (null for none); seeds are given per row. */
    GenerationOptions options(VoicePreset voice) {
        GenerationOptions.Builder b = GenerationOptions.builder();
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
        options(null);
    }
}

package io.github.bark4j.spark;

import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;

import java.io.Serializable;
import java.nio.file.Path;

/**
 * Which model an executor loads and how: a local folder (on storage every executor sees) or a
 * manifest model id downloaded into each executor's cache. Small and serializable: it travels with
 * every task and keys the per-JVM synthesizer, so equal specs share one loaded model.
 *
 * @param modelDir absolute model folder, or null when {@code modelId} is set
 * @param modelId  manifest id such as "suno/bark-small", or null
 * @param cacheDir download cache for {@code modelId} (null: the library's default)
 * @param offline  forbid downloads (the cache must already hold the model)
 * @param precision weight and compute precision
 * @param device   DJL device name, or null for the engine's default
 */
public record ModelSpec(String modelDir, String modelId, String cacheDir, boolean offline, Precision precision,
        String device) implements Serializable {

    public ModelSpec {
        if ((modelDir == null) == (modelId == null)) {
            throw new IllegalArgumentException("give exactly one of --model-dir and --model");
        }
        if (modelDir != null) {
            modelDir = Path.of(modelDir).toAbsolutePath().normalize().toString();
        }
        if (cacheDir != null) {
            cacheDir = Path.of(cacheDir).toAbsolutePath().normalize().toString();
        }
    }

    /** Loads the model this spec names (minutes for a real model; done once per JVM by {@link ExecutorSynthesizer}). */
    Synthesizer load() {
        Synthesizer.Builder b = Synthesizer.builder().precision(precision);
        if (modelDir != null) {
            b.modelDir(Path.of(modelDir));
        } else {
            b.model(modelId);
            if (cacheDir != null) {
                b.cacheDir(Path.of(cacheDir));
            }
            if (offline) {
                b.offline(true);
            }
        }
        if (device != null) {
            b.device(device);
        }
        return b.build();
    }

    @Override
    public String toString() {
        return (modelDir != null ? modelDir : modelId) + " " + precision + (device != null ? " " + device : "");
    }
}

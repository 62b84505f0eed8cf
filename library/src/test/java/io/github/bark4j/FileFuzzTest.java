package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Map;

/**
 * Mutation fuzzing of every file bark4j reads, seeded from the fixture's real files (read in place):
 * safetensors (header and offsets), pytorch_model.bin (zip container and its pickle), the pickle alone,
 * .npz voice presets and the .npy arrays inside them, config.json, tokenizer.json, the models manifest,
 * and request text with control characters and unpaired surrogates. {@link FuzzHarness#RUNS} inputs
 * per format (1,000 by default) from a seeded random source, each held to the contract of
 * {@link FuzzHarness}; every 100th weights input (and the first config inputs that parse) also goes
 * through a whole model load. The same targets run under Jazzer in {@link JazzerFuzzTest}.
 */
class FileFuzzTest {
    @AfterAll
    static void closeSynthesizer() {
        FuzzTargets.close();
    }

    @Test
    void safetensors() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("safetensors", 11, FuzzTargets.safetensors());
        assertTrue(out.getOrDefault("ModelLoadException", 0) > 0, out.toString());
    }

    @Test
    void pytorchCheckpoint() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("pytorch_model.bin", 12, FuzzTargets.pytorchCheckpoint());
        assertTrue(out.getOrDefault("ModelLoadException", 0) > 0, out.toString());
    }

    @Test
    void pickle() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("pickle", 13, FuzzTargets.pickle());
        assertTrue(out.size() > 1, out.toString());
    }

    @Test
    void npz() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("npz", 14, FuzzTargets.npz());
        assertTrue(out.getOrDefault("InvalidVoiceException", 0) > 0, out.toString());
    }

    @Test
    void npy() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("npy", 15, FuzzTargets.npy());
        assertTrue(out.getOrDefault("InvalidVoiceException", 0) > 0, out.toString());
    }

    @Test
    void config() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("config.json", 16, FuzzTargets.config());
        assertTrue(out.getOrDefault("ModelLoadException", 0) > 0, out.toString());
    }

    @Test
    void tokenizer() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("tokenizer.json", 17, FuzzTargets.tokenizer());
        assertTrue(out.getOrDefault("ModelLoadException", 0) > 0, out.toString());
    }

    @Test
    void modelsManifest() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("models-manifest.json", 18, FuzzTargets.modelsManifest());
        assertTrue(out.getOrDefault("ModelDownloadException", 0) > 0, out.toString());
    }

    @Test
    void requestText() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("request-text", 19, FuzzTargets.requestText());
        assertTrue(out.getOrDefault("loaded", 0) > 0, out.toString());
    }

    /** WAV recordings for voice cloning (the tiny-clone recordings and one file of each encoding). */
    @Test
    void wav() throws Exception {
        Map<String, Integer> out = FuzzHarness.run("wav", 20, FuzzTargets.wav());
        assertTrue(out.getOrDefault("InvalidAudioException", 0) > 0, out.toString());
        assertTrue(out.getOrDefault("loaded", 0) > 0, out.toString());
    }
}

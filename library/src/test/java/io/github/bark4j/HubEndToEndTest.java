package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.hub.ModelManifest;
import io.github.bark4j.internal.model.Voices;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The whole real-model path through the public API: a loopback fake Hub serves the tiny-bark fixture
 * (PyTorch checkpoint only, no safetensors) and one voice preset in the Hugging Face layout; the
 * Synthesizer resolves the model by id, downloads and verifies it, and reproduces the golden "voice"
 * case with the voice named; a second Synthesizer then runs offline from the cache alone.
 */
class HubEndToEndTest {
    private static final String MODEL = "test/tiny-bark";
    private static final String REV = "89abcdef0123456789abcdef0123456789abcdef";
    private static final String VOICE = "v2/en_speaker_6";

    @TempDir
    Path tmp;

    @Test
    void downloadsVerifiesAndSpeaksThenWorksOffline() throws Exception {
        Golden.Case c = Golden.byName("voice");
        Map<String, byte[]> files = new LinkedHashMap<>();
        Path fixture = SharedFiles.tinyBark();
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin")) {
            files.put(f, Files.readAllBytes(fixture.resolve(f)));
        }
        VoicePreset preset = VoicePreset.load(SharedFiles.voice(VOICE));
        JsonObject index = new JsonObject();
        index.addProperty("repo_or_path", MODEL);
        JsonObject entry = new JsonObject();
        for (String part : List.of("semantic_prompt", "coarse_prompt", "fine_prompt")) {
            String path = "speaker_embeddings/" + VOICE + "_" + part + ".npy";
            entry.addProperty(part, path);
            int[][] rows = part.equals("semantic_prompt") ? new int[][] {preset.semanticPrompt()}
                    : part.equals("coarse_prompt") ? preset.coarsePrompt() : preset.finePrompt();
            long[] shape = part.equals("semantic_prompt") ? new long[] {rows[0].length}
                    : new long[] {rows.length, rows[0].length};
            files.put(path, npy(rows, shape));
        }
        index.add(VOICE, entry);
        files.put(Voices.INDEX, index.toString().getBytes(StandardCharsets.UTF_8));

        ModelManifest manifest = ModelManifest.parse(manifest(files).toString(), "end-to-end test manifest");
        Path cache = tmp.resolve("cache");
        try (FakeHubServer server = new FakeHubServer()) {
            files.forEach((path, bytes) -> server.serve("/" + MODEL + "/resolve/" + REV + "/" + path, bytes));
            ModelHub hub = ModelHub.builder().cacheDir(cache).endpoint(server.endpoint()).offline(false)
                    .retries(2, Duration.ofMillis(5), Duration.ofMillis(20)).manifest(manifest).build();
            try (Synthesizer synth = Synthesizer.builder().hub(hub).model(MODEL).precision(Precision.FP64).build()) {
                assertEquals(List.of(VOICE), synth.availableVoices());
                Speech s = synth.generate(c.text(), GenerationOptions.builder().greedy().voice(VOICE)
                        .maxSemanticSeconds(c.maxSemanticSeconds()).build());
                assertArrayEquals(c.semantic(), s.semanticTokens());
                assertArrayEquals(c.coarse(), s.coarseTokens());
                assertArrayEquals(c.fine(), s.fineTokens());
                assertEquals(c.audioSamples(), s.samples().length);
            }
        }
        Path modelDir = cache.resolve("test").resolve("tiny-bark").resolve(REV);
        assertFalse(Files.exists(modelDir.resolve("model.safetensors")), "the checkpoint was read as is");
        assertTrue(Files.isRegularFile(modelDir.resolve("speaker_embeddings/" + VOICE + "_fine_prompt.npy")));

        // server gone: offline from the cache, same answer
        ModelHub offline = ModelHub.builder().cacheDir(cache).endpoint("http://127.0.0.1:9").offline(true)
                .manifest(manifest).build();
        try (Synthesizer synth = Synthesizer.builder().hub(offline).model(MODEL).precision(Precision.FP64).build()) {
            Speech s = synth.generate(c.text(), GenerationOptions.builder().greedy().voice(VOICE)
                    .maxSemanticSeconds(c.maxSemanticSeconds()).build());
            assertArrayEquals(c.fine(), s.fineTokens());
            InvalidVoiceException e = assertThrows(InvalidVoiceException.class,
                    () -> synth.voice("v2/en_speaker_9"));
            assertTrue(e.getMessage().contains("en_speaker_9"), e.getMessage());
        }
    }

    private static JsonObject manifest(Map<String, byte[]> files) throws Exception {
        JsonArray list = new JsonArray();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            JsonObject e = FakeHubServer.fileEntry(f.getKey(), f.getValue());
            e.addProperty("lazy", f.getKey().startsWith("speaker_embeddings/"));
            list.add(e);
        }
        return FakeHubServer.manifest(MODEL, REV, list);
    }

    private static byte[] npy(int[][] rows, long[] shape) {
        ByteBuffer data = ByteBuffer.allocate(rows.length * rows[0].length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] r : rows) {
            for (int v : r) {
                data.putLong(v);
            }
        }
        data.flip();
        return Npy.write(shape, DType.I64, data);
    }
}

package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.internal.hub.ModelManifest;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Voice cloning with models of the manifest, through the public API: a loopback fake Hub serves the
 * tiny-clone fixture's Bark (with its encoder), HuBERT and quantizer under the manifest's cloning ids;
 * nothing of cloning is fetched until the first clone, which downloads and verifies HuBERT and the
 * quantizer and gives the golden preset; a second synthesizer then clones offline from the cache.
 */
class HubVoiceCloningTest {
    private static final String BARK = "test/tiny-clone-bark";
    private static final String HUBERT_REPO = "test/tiny-hubert";
    private static final String QUANTIZER = "test/tiny-quantizer";
    private static final String REV = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path tmp;

    @Test
    void cloningModelsComeFromTheHubOnFirstUseThenFromTheCache() throws Exception {
        Path fixture = SharedFiles.tinyClone();
        Map<String, Map<String, byte[]>> repos = new LinkedHashMap<>();
        repos.put(BARK, files(fixture.resolve("bark"), "config.json", "tokenizer.json", "model.safetensors"));
        repos.put(HUBERT_REPO, files(fixture.resolve("hubert"), "config.json", "pytorch_model.bin"));
        repos.put(QUANTIZER, files(fixture.resolve("quantizer"), "tiny_quantizer_v0.pth"));
        JsonObject models = new JsonObject();
        models.add(BARK, model("bark", BARK, repos.get(BARK)));
        models.add(Synthesizer.CLONING_HUBERT, model("hubert", HUBERT_REPO, repos.get(HUBERT_REPO)));
        models.add(QUANTIZER, model("semantic-quantizer", QUANTIZER, repos.get(QUANTIZER)));
        ModelManifest manifest = ModelManifest.parse(FakeHubServer.manifest(models).toString(), "cloning test manifest");

        VoicePreset golden = VoicePreset.load(fixture.resolve("rec_b_v0.npz"));
        Path recording = fixture.resolve("audio/rec_b_16k_mono_s16.wav");
        Path cache = tmp.resolve("cache");
        try (FakeHubServer server = new FakeHubServer()) {
            repos.forEach((repo, files) -> files.forEach((path, bytes) ->
                    server.serve("/" + repo + "/resolve/" + REV + "/" + path, bytes)));
            ModelHub hub = ModelHub.builder().cacheDir(cache).endpoint(server.endpoint()).offline(false)
                    .retries(2, Duration.ofMillis(5), Duration.ofMillis(20)).manifest(manifest).build();
            try (Synthesizer synth = Synthesizer.builder().hub(hub).model(BARK).precision(Precision.FP64)
                    .voiceCloning(QUANTIZER).build()) {
                assertTrue(synth.canCloneVoices());
                assertTrue(server.requests().stream().noneMatch(r -> r.path().contains(HUBERT_REPO)
                        || r.path().contains(QUANTIZER)), "cloning models wait for the first clone");
                VoicePreset cloned = synth.cloneVoice(recording);
                assertArrayEquals(golden.semanticPrompt(), cloned.semanticPrompt());
                assertArrayEquals(golden.finePrompt(), cloned.finePrompt());
                for (String path : List.of("/" + HUBERT_REPO + "/resolve/" + REV + "/pytorch_model.bin",
                        "/" + QUANTIZER + "/resolve/" + REV + "/tiny_quantizer_v0.pth")) {
                    assertEquals(1, server.requests(path).size(), path + " downloaded once");
                }
                synth.cloneVoice(recording); // loaded once, kept
                assertEquals(1, server.requests("/" + QUANTIZER + "/resolve/" + REV + "/tiny_quantizer_v0.pth").size());
            }
        }
        ModelHub offline = ModelHub.builder().cacheDir(cache).endpoint("http://127.0.0.1:9").offline(true)
                .manifest(manifest).build();
        try (Synthesizer synth = Synthesizer.builder().hub(offline).model(BARK).precision(Precision.FP64)
                .voiceCloning(QUANTIZER).build()) {
            assertArrayEquals(golden.coarsePrompt(), synth.cloneVoice(recording).coarsePrompt());
        }
        ModelHub empty = ModelHub.builder().cacheDir(tmp.resolve("empty")).endpoint("http://127.0.0.1:9")
                .offline(true).manifest(manifest).build();
        // the Bark model is not cached either: building fails first, naming the file
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(ModelDownloadException.class,
                () -> Synthesizer.builder().hub(empty).model(BARK).voiceCloning(QUANTIZER).build())
                .getMessage().contains("config.json"));
    }

    private static Map<String, byte[]> files(Path dir, String... names) throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String n : names) {
            out.put(n, Files.readAllBytes(dir.resolve(n)));
        }
        return out;
    }

    private static JsonObject model(String kind, String repo, Map<String, byte[]> files) {
        JsonArray list = new JsonArray();
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            list.add(FakeHubServer.fileEntry(f.getKey(), f.getValue()));
        }
        JsonObject m = new JsonObject();
        m.addProperty("kind", kind);
        m.addProperty("repo", repo);
        m.addProperty("revision", REV);
        m.add("files", list);
        return m;
    }
}

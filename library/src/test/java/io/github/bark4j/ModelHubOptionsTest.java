package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.internal.hub.FileDownloader;
import io.github.bark4j.internal.hub.HubOptions;
import io.github.bark4j.internal.hub.ModelManifest;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

class ModelHubOptionsTest {
    private final Map<String, String> props = new HashMap<>(Map.of("user.home", "/home/u"));
    private final Map<String, String> env = new HashMap<>();

    private HubOptions resolve(Path cacheDir, String endpoint, Boolean offline) {
        return HubOptions.resolve(cacheDir, endpoint, offline, null, 3, Duration.ZERO, Duration.ZERO,
                Duration.ofSeconds(1), Duration.ofSeconds(1), props::get, env::get);
    }

    @Test
    void cacheDirPrecedence() {
        assertEquals(Path.of("/home/u/.cache/bark4j"), resolve(null, null, null).cacheDir());
        env.put("XDG_CACHE_HOME", "/xdg");
        assertEquals(Path.of("/xdg/bark4j"), resolve(null, null, null).cacheDir());
        env.put("BARK4J_CACHE_DIR", "/env/cache");
        assertEquals(Path.of("/env/cache"), resolve(null, null, null).cacheDir());
        props.put("bark4j.cache.dir", "/prop/cache");
        assertEquals(Path.of("/prop/cache"), resolve(null, null, null).cacheDir());
        assertEquals(Path.of("/given"), resolve(Path.of("/given"), null, null).cacheDir());
    }

    @Test
    void relativeXdgCacheHomeIsIgnored() {
        env.put("XDG_CACHE_HOME", "relative");
        assertEquals(Path.of("/home/u/.cache/bark4j"), resolve(null, null, null).cacheDir());
    }

    @Test
    void endpointPrecedenceAndValidation() {
        assertEquals("https://huggingface.co", resolve(null, null, null).endpoint());
        env.put("HF_ENDPOINT", "https://hf-mirror.example");
        assertEquals("https://hf-mirror.example", resolve(null, null, null).endpoint());
        env.put("BARK4J_HUB_ENDPOINT", "http://127.0.0.1:9/");
        assertEquals("http://127.0.0.1:9", resolve(null, null, null).endpoint());
        props.put("bark4j.hub.endpoint", "https://prop.example/base//");
        assertEquals("https://prop.example/base", resolve(null, null, null).endpoint());
        assertEquals("https://given.example", resolve(null, "https://given.example", null).endpoint());
        for (String bad : new String[] {"ftp://x", "not a url", "https://x/?q=1", "/relative"}) {
            assertThrows(IllegalArgumentException.class, () -> resolve(null, bad, null), bad);
            assertThrows(IllegalArgumentException.class, () -> ModelHub.builder().endpoint(bad), bad);
        }
    }

    @Test
    void offlineSwitches() {
        assertFalse(resolve(null, null, null).offline());
        for (String[] kv : new String[][] {{"p", "bark4j.offline", "TRUE"}, {"e", "BARK4J_OFFLINE", "1"},
                {"e", "HF_HUB_OFFLINE", "yes"}}) {
            props.keySet().removeIf(k -> !k.equals("user.home"));
            env.clear();
            (kv[0].equals("p") ? props : env).put(kv[1], kv[2]);
            assertTrue(resolve(null, null, null).offline(), kv[1]);
            assertFalse(resolve(null, null, false).offline(), "an explicit option wins over " + kv[1]);
        }
        env.clear();
        props.put("bark4j.offline", "false");
        assertFalse(resolve(null, null, null).offline());
        assertTrue(resolve(null, null, true).offline());
    }

    @Test
    void djlsOfflineSwitchLeavesModelDownloadsOn() {
        // DJL's switch stops native-library downloads (the CLI always sets it); it must not stop models
        props.put("ai.djl.offline", "true");
        env.put("DJL_OFFLINE", "true");
        assertFalse(resolve(null, null, null).offline());
    }

    @Test
    void bark4jOfflineExtendsToDjlUnlessDjlIsSetExplicitly() {
        String saved = System.getProperty("ai.djl.offline");
        try {
            System.clearProperty("ai.djl.offline");
            HubOptions.extendOfflineToDjl(Map.of("DJL_OFFLINE", "false")::get);
            assertEquals(null, System.getProperty("ai.djl.offline"), "DJL_OFFLINE given: left alone");
            HubOptions.extendOfflineToDjl(k -> null);
            assertEquals("true", System.getProperty("ai.djl.offline"));
            System.setProperty("ai.djl.offline", "false");
            HubOptions.extendOfflineToDjl(k -> null);
            assertEquals("false", System.getProperty("ai.djl.offline"), "an explicit DJL setting wins");
        } finally {
            if (saved == null) {
                System.clearProperty("ai.djl.offline");
            } else {
                System.setProperty("ai.djl.offline", saved);
            }
        }
    }

    @Test
    void manifestOverride() {
        assertEquals(null, HubOptions.manifestOverride(props::get, env::get));
        env.put("BARK4J_MANIFEST", "/env/manifest.json");
        assertEquals(Path.of("/env/manifest.json"), HubOptions.manifestOverride(props::get, env::get));
        props.put("bark4j.manifest", "/prop/manifest.json");
        assertEquals(Path.of("/prop/manifest.json"), HubOptions.manifestOverride(props::get, env::get));
    }

    @Test
    void invalidNumbersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new HubOptions(Path.of("/c"), "https://h", false, null, 0,
                Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new HubOptions(Path.of("/c"), "https://h", false, null, 3,
                Duration.ofMillis(-1), Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new HubOptions(Path.of("/c"), "https://h", false, null, 3,
                Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ofSeconds(1)));
    }

    @Test
    void urlAndCacheLayoutFollowTheHubConventions() {
        ModelManifest m = ModelManifest.parse("{\"schemaVersion\":1,\"urlPattern\":\"{endpoint}/{repo}/resolve/"
                + "{revision}/{path}\",\"models\":{\"suno/bark-small\":{\"repo\":\"suno/bark-small\",\"revision\":"
                + "\"refs/pr/5\",\"files\":[{\"path\":\"config.json\",\"size\":null,\"sha256\":null,\"unpinned\":"
                + "\"t\"}]}}}", "t");
        ModelHub hub = new ModelHub(resolve(Path.of("/c"), "https://huggingface.co/", null), m);
        ModelManifest.Model model = m.model("suno/bark-small").orElseThrow();
        assertEquals("https://huggingface.co/suno/bark-small/resolve/refs%2Fpr%2F5/speaker_embeddings/v2/a_b.npy",
                hub.url(model, "speaker_embeddings/v2/a_b.npy").toString());
        assertEquals(Path.of("/c/suno/bark-small/refs%2Fpr%2F5"), hub.modelDir(model));
        FileDownloader.Spec spec = hub.spec(model, new ModelManifest.FileEntry("speaker_embeddings/v2/x.npy", null,
                null, true, "t"));
        assertEquals(Path.of("/c/suno/bark-small/refs%2Fpr%2F5/speaker_embeddings/v2/x.npy"), spec.target());
        assertEquals(Path.of("/c/suno/bark-small/refs%2Fpr%2F5/.bark4j/speaker_embeddings/v2/x.npy.sha256.json"),
                spec.record());
        assertEquals("suno/bark-small/speaker_embeddings/v2/x.npy", spec.display());
    }

    @Test
    void bundledModelsUseTheRealHubUrls() {
        ModelHub hub = new ModelHub(resolve(Path.of("/c"), null, null), ModelManifest.bundled());
        ModelManifest.Model small = hub.manifest().model("suno/bark-small").orElseThrow();
        assertEquals("https://huggingface.co/suno/bark-small/resolve/1dbd7a128513b8ae4a4e2130fed57b7ac9da5bcd/"
                + "pytorch_model.bin", hub.url(small, "pytorch_model.bin").toString());
    }
}

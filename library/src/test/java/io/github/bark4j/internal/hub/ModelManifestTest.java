package io.github.bark4j.internal.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelDownloadException;
import io.github.bark4j.ModelDownloadException.Reason;
import io.github.bark4j.ModelHub;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

class ModelManifestTest {
    private static final Set<String> CORE =
            Set.of("config.json", "pytorch_model.bin", "tokenizer.json", "speaker_embeddings_path.json");

    private static final String HUBERT = "facebook/hubert-base-ls960";
    private static final Set<String> QUANTIZERS = Set.of("GitMylo/bark-voice-cloning",
            "CountFloyd/bark-voice-cloning-german-HuBERT-quantizer", "Hobis/bark-voice-cloning-polish-HuBERT-quantizer");

    @Test
    void bundledManifestCoversBothModelsAndPinsOrExplainsEveryFile() {
        ModelManifest m = ModelManifest.bundled();
        Set<String> all = new java.util.HashSet<>(Set.of("suno/bark-small", "suno/bark", HUBERT));
        all.addAll(QUANTIZERS);
        assertEquals(all, m.models().keySet());
        assertEquals(m.models().keySet(), ModelHub.knownModels());
        for (ModelManifest.Model model : m.models().values()) {
            if (model.kind() != ModelManifest.Kind.BARK) {
                continue;
            }
            assertEquals(model.id(), model.repo());
            assertTrue(model.revision().matches("[0-9a-f]{40}"), model.revision());
            Set<String> eager = model.eagerFiles().stream().map(ModelManifest.FileEntry::path).collect(Collectors.toSet());
            assertEquals(CORE, eager, model.id());
            List<ModelManifest.FileEntry> presets = model.files().values().stream()
                    .filter(f -> f.path().startsWith("speaker_embeddings/")).toList();
            assertEquals(30, presets.size(), model.id());
            for (int speaker = 0; speaker < 10; speaker++) {
                for (String kind : List.of("semantic", "coarse", "fine")) {
                    String path = "speaker_embeddings/v2/en_speaker_" + speaker + "_" + kind + "_prompt.npy";
                    ModelManifest.FileEntry f = model.file(path).orElseThrow(() -> new AssertionError(path));
                    assertTrue(f.lazy() && f.pinned() && f.size() != null, path);
                }
            }
            for (ModelManifest.FileEntry f : model.files().values()) {
                assertTrue(f.sha256() != null && f.size() != null || f.unpinned() != null, f.path());
            }
            ModelManifest.FileEntry weights = model.file("pytorch_model.bin").orElseThrow();
            assertTrue(weights.pinned() && weights.size() > 1_000_000_000L, model.id());
        }
    }

    /** The voice-cloning models: every file pinned, one eager file each, the kind each one is. */
    @Test
    void bundledManifestHasTheCloningModels() {
        ModelManifest m = ModelManifest.bundled();
        ModelManifest.Model hubert = m.model(HUBERT).orElseThrow();
        assertEquals(ModelManifest.Kind.HUBERT, hubert.kind());
        assertEquals(List.of("config.json", "pytorch_model.bin"),
                hubert.eagerFiles().stream().map(ModelManifest.FileEntry::path).toList());
        for (String id : QUANTIZERS) {
            ModelManifest.Model q = m.model(id).orElseThrow();
            assertEquals(ModelManifest.Kind.SEMANTIC_QUANTIZER, q.kind(), id);
            assertEquals(1, q.eagerFiles().size(), id + ": the eager file is the quantizer");
            assertTrue(q.eagerFiles().get(0).path().endsWith(".pth"), id);
            assertTrue(q.files().values().stream().allMatch(ModelManifest.FileEntry::pinned), id);
        }
        assertEquals("quantifier_hubert_base_ls960_14.pth",
                m.model("GitMylo/bark-voice-cloning").orElseThrow().eagerFiles().get(0).path(), "the English default");
        assertEquals(ModelManifest.Kind.BARK, m.model("suno/bark-small").orElseThrow().kind());
    }

    /**
     * Every pinned value must come from the gathered Hub notes: a row naming the path, size and sha256
     * (the Bark models' notes in ../shared, the voice-cloning models' in docs/hub-files-cloning.md).
     */
    @Test
    void bundledManifestValuesAppearInTheHubNotes() throws IOException {
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(SharedFiles.shared().resolve(
                "docs/hub-files.md")));
        lines.addAll(Files.readAllLines(Path.of("..", "docs", "hub-files-cloning.md")));
        String all = String.join("\n", lines);
        int checked = 0;
        for (ModelManifest.Model model : ModelManifest.bundled().models().values()) {
            assertTrue(all.contains(model.revision()), model.revision());
            for (ModelManifest.FileEntry f : model.files().values()) {
                if (!f.pinned()) {
                    continue;
                }
                boolean found = lines.stream().anyMatch(l -> l.startsWith("|") && l.contains(f.path())
                        && l.contains(f.sha256()) && l.contains(String.valueOf(f.size())));
                assertTrue(found, model.id() + " " + f.path() + " " + f.size() + " " + f.sha256());
                checked++;
            }
        }
        assertEquals(2 * 32 + 2 + 3 + 1 + 1, checked);
    }

    @Test
    void jarResourceIsTheRepositoryRootFile() throws IOException {
        Path root = Path.of("..", "models-manifest.json");
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(ModelManifest.RESOURCE)) {
            assertNotNull(in);
            assertArrayEquals(Files.readAllBytes(root), in.readAllBytes());
        }
    }

    private static final String GOOD_FILE =
            "{\"path\":\"config.json\",\"size\":3,\"sha256\":\"" + "a".repeat(64) + "\"}";

    private static String manifest(String version, String pattern, String files) {
        return "{\"schemaVersion\":" + version + ",\"urlPattern\":\"" + pattern + "\",\"models\":{\"a/b\":"
                + "{\"repo\":\"a/b\",\"revision\":\"main\",\"files\":[" + files + "]}}}";
    }

    private static final String PATTERN = "{endpoint}/{repo}/resolve/{revision}/{path}";

    @Test
    void minimalManifestParses() {
        ModelManifest m = ModelManifest.parse(manifest("1", PATTERN, GOOD_FILE + ",{\"path\":\"speaker_embeddings/"
                + "x.npy\",\"size\":null,\"sha256\":null,\"unpinned\":\"why\",\"lazy\":true}"), "t");
        ModelManifest.Model model = m.model("a/b").orElseThrow();
        assertEquals(List.of("config.json"), model.eagerFiles().stream().map(ModelManifest.FileEntry::path).toList());
        assertEquals("why", model.file("speaker_embeddings/x.npy").orElseThrow().unpinned());
    }

    @Test
    void invalidManifestsAreRejectedWithTheProblemNamed() {
        String sha = "\"sha256\":\"" + "a".repeat(64) + "\"";
        List<List<String>> cases = List.of(
                List.of("{not json", "not valid JSON"),
                List.of("[]", "top level"),
                List.of(manifest("2", PATTERN, GOOD_FILE), "schemaVersion 2"),
                List.of(manifest("\"1\"", PATTERN, GOOD_FILE), "schemaVersion"),
                List.of(manifest("1", "{endpoint}/{repo}/{revision}", GOOD_FILE), "{path}"),
                List.of(manifest("1", PATTERN, ""), "'files'"),
                List.of(manifest("1", PATTERN, "{\"path\":\"config.json\",\"size\":3,\"sha256\":null}"), "unpinned"),
                List.of(manifest("1", PATTERN, "{\"path\":\"config.json\",\"size\":3,\"sha256\":\"ABC\"}"), "sha256"),
                List.of(manifest("1", PATTERN, "{\"path\":\"config.json\",\"size\":-1," + sha + "}"), "size"),
                List.of(manifest("1", PATTERN, "{\"path\":\"../x\",\"size\":1," + sha + "}"), "path"),
                List.of(manifest("1", PATTERN, "{\"path\":\"/etc/x\",\"size\":1," + sha + "}"), "path"),
                List.of(manifest("1", PATTERN, "{\"path\":\"a//b\",\"size\":1," + sha + "}"), "path"),
                List.of(manifest("1", PATTERN, GOOD_FILE + "," + GOOD_FILE), "listed twice"),
                List.of(manifest("1", PATTERN, "{\"path\":\"x.npy\",\"size\":1," + sha + ",\"lazy\":true}"),
                        "every file is lazy"),
                List.of(manifest("1", PATTERN, GOOD_FILE).replace("\"revision\":\"main\"", "\"revision\":\"a b\""),
                        "revision"),
                List.of(manifest("1", PATTERN, GOOD_FILE).replace("\"revision\":\"main\"",
                        "\"revision\":\"main\",\"kind\":\"whisper\""), "kind must be one of [bark, hubert, semantic-quantizer]"));
        for (List<String> c : cases) {
            ModelDownloadException e = assertThrows(ModelDownloadException.class,
                    () -> ModelManifest.parse(c.get(0), "case"), c.get(0));
            assertEquals(Reason.INVALID_MANIFEST, e.reason(), c.get(0));
            assertTrue(e.getMessage().contains(c.get(1)), e.getMessage() + " should mention " + c.get(1));
        }
    }
}

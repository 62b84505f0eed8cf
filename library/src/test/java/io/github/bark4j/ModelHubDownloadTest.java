package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.ModelDownloadException.Reason;
import io.github.bark4j.internal.hub.FileDownloader;
import io.github.bark4j.internal.hub.ModelManifest;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Downloads from a loopback fake Hub serving the tiny-bark fixture as model {@code test/tiny-bark},
 * with a manifest built here from the fixture's real SHA-256 values.
 */
class ModelHubDownloadTest {
    private static final String MODEL = "test/tiny-bark";
    private static final String REV = "0123456789abcdef0123456789abcdef01234567";
    private static final String PRESET_PINNED = "speaker_embeddings/v2/en_speaker_0_semantic_prompt.npy";
    private static final String PRESET_UNPINNED = "speaker_embeddings/v2/en_speaker_1_semantic_prompt.npy";
    private static final String PRESET_UNLISTED = "speaker_embeddings/v2/de_speaker_3_fine_prompt.npy";
    private static final String EMBEDDINGS_JSON = "speaker_embeddings_path.json";

    @TempDir
    Path tmp;

    private FakeHubServer server;
    private final Map<String, byte[]> content = new LinkedHashMap<>();
    private ModelManifest manifest;
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());

    private final DownloadListener recorder = new DownloadListener() {
        @Override
        public void onStart(String file, long totalBytes) {
            events.add("start " + file + " " + totalBytes);
        }

        @Override
        public void onProgress(String file, long bytesDone, long totalBytes) {
            events.add("progress " + file + " " + bytesDone);
        }

        @Override
        public void onComplete(String file, String sha256) {
            events.add("complete " + file + " " + sha256);
        }

        @Override
        public void onNotice(String message) {
            events.add("notice " + message);
        }
    };

    @BeforeEach
    void setUp() throws IOException {
        Path fixture = SharedFiles.tinyBark();
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin")) {
            content.put(f, Files.readAllBytes(fixture.resolve(f)));
        }
        content.put(EMBEDDINGS_JSON, ("{\"repo_or_path\": \"" + MODEL + "\", \"v2/en_speaker_0\": {}}")
                .getBytes(StandardCharsets.UTF_8));
        content.put(PRESET_PINNED, randomBytes(2856, 1));
        content.put(PRESET_UNPINNED, randomBytes(2568, 2));
        content.put(PRESET_UNLISTED, randomBytes(4000, 3));
        server = new FakeHubServer();
        content.forEach((path, bytes) -> server.serve(urlPath(path), bytes));
        manifest = ModelManifest.parse(testManifest().toString(), "test manifest");
    }

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
    }

    /** config, tokenizer and weights pinned; the embeddings index unpinned; two lazy presets. */
    private JsonObject testManifest() {
        JsonArray files = new JsonArray();
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin")) {
            files.add(entry(f, true, false));
        }
        files.add(entry(EMBEDDINGS_JSON, false, false));
        files.add(entry(PRESET_PINNED, true, true));
        files.add(entry(PRESET_UNPINNED, false, true));
        return FakeHubServer.manifest(MODEL, REV, files);
    }

    private JsonObject entry(String path, boolean pinned, boolean lazy) {
        JsonObject e = new JsonObject();
        e.addProperty("path", path);
        if (pinned) {
            e.addProperty("size", content.get(path).length);
            e.addProperty("sha256", sha(content.get(path)));
        } else {
            e.add("size", null);
            e.add("sha256", null);
            e.addProperty("unpinned", "not known in this test");
        }
        e.addProperty("lazy", lazy);
        return e;
    }

    private ModelHub.Builder hubBuilder() {
        return ModelHub.builder()
                .cacheDir(tmp.resolve("cache"))
                .endpoint(server.endpoint())
                .offline(false)
                .retries(4, Duration.ofMillis(5), Duration.ofMillis(40))
                .timeouts(Duration.ofSeconds(5), Duration.ofSeconds(10))
                .manifest(manifest)
                .listener(recorder);
    }

    private ModelHub hub() {
        return hubBuilder().build();
    }

    private static String urlPath(String file) {
        return "/" + MODEL + "/resolve/" + REV + "/" + file;
    }

    private Path modelDir() {
        return tmp.resolve("cache").resolve("test").resolve("tiny-bark").resolve(REV);
    }

    private Path meta(String file) {
        return modelDir().resolve(ModelHub.META_DIR).resolve(file);
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static String sha(byte[] b) {
        return HexFormat.of().formatHex(FileDownloader.sha256().digest(b));
    }

    private static String recordedSha(Path record) throws IOException {
        return com.google.gson.JsonParser.parseString(Files.readString(record)).getAsJsonObject()
                .get("sha256").getAsString();
    }

    private static void deleteCachedFile(Path p) throws IOException {
        p.toFile().setWritable(true);
        Files.delete(p);
    }

    private static List<Path> partFiles(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
        }
    }

    // ---------------------------------------------------------------- tests

    @Test
    void freshDownloadGivesVerifiedHuggingFaceLayoutAndFetchesPresetsLazily() throws IOException {
        ModelHub hub = hub();
        Path dir = hub.resolve(MODEL);
        assertEquals(modelDir(), dir);
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin", EMBEDDINGS_JSON)) {
            Path p = dir.resolve(f);
            assertArrayEquals(content.get(f), Files.readAllBytes(p), f);
            assertFalse(Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OWNER_WRITE),
                    f + " should be read-only in the cache");
            assertEquals(sha(content.get(f)), recordedSha(meta(f + ".sha256.json")), f);
            assertTrue(events.contains("complete " + MODEL + "/" + f + " " + sha(content.get(f))), f);
        }
        assertTrue(events.contains("start " + MODEL + "/pytorch_model.bin " + content.get("pytorch_model.bin").length));
        List<Long> progress = events.stream().filter(e -> e.startsWith("progress " + MODEL + "/pytorch_model.bin "))
                .map(e -> Long.parseLong(e.substring(e.lastIndexOf(' ') + 1))).toList();
        assertTrue(progress.size() > 1, "progress reported while streaming");
        for (int i = 1; i < progress.size(); i++) {
            assertTrue(progress.get(i) >= progress.get(i - 1));
        }
        assertEquals(content.get("pytorch_model.bin").length, progress.get(progress.size() - 1));
        // presets are not fetched by resolve(); no .part files remain
        assertEquals(4, server.requests().size());
        assertFalse(Files.exists(dir.resolve(PRESET_PINNED)));
        assertEquals(List.of(), partFiles(dir));

        // a second hub on the same cache makes no request at all
        hub().resolve(MODEL);
        assertEquals(4, server.requests().size());

        Path preset = hub.resolveFile(MODEL, PRESET_PINNED);
        assertEquals(dir.resolve(PRESET_PINNED), preset);
        assertArrayEquals(content.get(PRESET_PINNED), Files.readAllBytes(preset));
        assertEquals(1, server.requests(urlPath(PRESET_PINNED)).size());
        assertEquals(5, server.requests().size());
    }

    @Test
    void cutConnectionIsResumedWithRangeRequest() throws IOException {
        byte[] tok = content.get("tokenizer.json");
        int half = tok.length / 2;
        server.script(urlPath("tokenizer.json"), FakeHubServer.cutAfter(half));
        Path p = hub().resolveFile(MODEL, "tokenizer.json");

        assertArrayEquals(tok, Files.readAllBytes(p));
        List<FakeHubServer.Request> reqs = server.requests(urlPath("tokenizer.json"));
        assertEquals(2, reqs.size());
        assertEquals(null, reqs.get(0).range());
        String range = reqs.get(1).range();
        assertTrue(range != null && range.matches("bytes=\\d+-"), "second attempt must resume: " + range);
        long from = Long.parseLong(range.substring(6, range.length() - 1));
        assertTrue(from > 0 && from <= half, "resumed from " + from + ", server sent " + half);
        assertTrue(events.stream().anyMatch(e -> e.startsWith("notice Resuming " + MODEL + "/tokenizer.json")));
        assertEquals(sha(tok), recordedSha(meta("tokenizer.json.sha256.json")));
        assertFalse(Files.exists(meta("tokenizer.json.part")));
    }

    @Test
    void partFileFromEarlierRunIsHashedAndResumed() throws IOException {
        byte[] weights = content.get("pytorch_model.bin");
        int have = 1_000_003;
        Files.createDirectories(meta(""));
        Files.write(meta("pytorch_model.bin.part"), java.util.Arrays.copyOf(weights, have));

        Path p = hub().resolveFile(MODEL, "pytorch_model.bin");

        assertArrayEquals(weights, Files.readAllBytes(p));
        List<FakeHubServer.Request> reqs = server.requests(urlPath("pytorch_model.bin"));
        assertEquals(List.of(new FakeHubServer.Request(urlPath("pytorch_model.bin"), "bytes=" + have + "-")), reqs);
    }

    @Test
    void serverIgnoringRangeRestartsFromZero() throws IOException {
        byte[] tok = content.get("tokenizer.json");
        Files.createDirectories(meta(""));
        Files.write(meta("tokenizer.json.part"), java.util.Arrays.copyOf(tok, 5000));
        server.script(urlPath("tokenizer.json"), FakeHubServer.ignoringRange());

        Path p = hub().resolveFile(MODEL, "tokenizer.json");

        assertArrayEquals(tok, Files.readAllBytes(p));
        List<FakeHubServer.Request> reqs = server.requests(urlPath("tokenizer.json"));
        assertEquals(1, reqs.size());
        assertEquals("bytes=5000-", reqs.get(0).range());
    }

    @Test
    void stalePartThatBreaksTheHashIsDiscardedAndDownloadedAgain() throws IOException {
        byte[] tok = content.get("tokenizer.json");
        Files.createDirectories(meta(""));
        Files.write(meta("tokenizer.json.part"), randomBytes(7000, 99)); // not the file's first bytes

        Path p = hub().resolveFile(MODEL, "tokenizer.json");

        assertArrayEquals(tok, Files.readAllBytes(p));
        List<FakeHubServer.Request> reqs = server.requests(urlPath("tokenizer.json"));
        assertEquals(2, reqs.size());
        assertEquals("bytes=7000-", reqs.get(0).range());
        assertEquals(null, reqs.get(1).range());
    }

    @Test
    void checksumMismatchIsRejectedAndNothingIsCached() throws IOException {
        byte[] tok = content.get("tokenizer.json").clone();
        tok[tok.length / 3] ^= 1; // same size, one bit off
        server.script(urlPath("tokenizer.json"), FakeHubServer.serving(tok));

        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub().resolveFile(MODEL, "tokenizer.json"));

        assertEquals(Reason.CHECKSUM_MISMATCH, e.reason());
        assertEquals(MODEL + "/tokenizer.json", e.file());
        assertTrue(e.getMessage().contains(sha(tok)) && e.getMessage().contains(sha(content.get("tokenizer.json"))),
                e.getMessage());
        assertEquals(1, server.requests(urlPath("tokenizer.json")).size(), "a fresh mismatch is not retried");
        assertFalse(Files.exists(modelDir().resolve("tokenizer.json")));
        assertFalse(Files.exists(meta("tokenizer.json.sha256.json")));
        assertEquals(List.of(), partFiles(tmp));
        assertTrue(events.stream().noneMatch(ev -> ev.startsWith("complete")));

        // the good file is fetched on the next call
        assertArrayEquals(content.get("tokenizer.json"),
                Files.readAllBytes(hub().resolveFile(MODEL, "tokenizer.json")));
    }

    @Test
    void wrongSizeIsRejected() {
        server.script(urlPath("config.json"), FakeHubServer.serving(randomBytes(content.get("config.json").length + 7, 5)));
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub().resolveFile(MODEL, "config.json"));
        assertEquals(Reason.SIZE_MISMATCH, e.reason());
        assertFalse(Files.exists(modelDir().resolve("config.json")));
        assertFalse(Files.exists(meta("config.json.part")));
    }

    @Test
    void notFoundAndForbiddenAreNotRetried() {
        server.script(urlPath("config.json"), FakeHubServer.status(404));
        ModelDownloadException e = assertThrows(ModelDownloadException.class, () -> hub().resolve(MODEL));
        assertEquals(Reason.NOT_FOUND, e.reason());
        assertEquals(server.endpoint() + urlPath("config.json"), e.url());
        assertTrue(e.getMessage().contains(e.url()), e.getMessage());
        assertEquals(1, server.requests().size());

        server.script(urlPath("config.json"), FakeHubServer.status(403));
        ModelDownloadException denied = assertThrows(ModelDownloadException.class, () -> hub().resolve(MODEL));
        assertEquals(Reason.ACCESS_DENIED, denied.reason());
        assertEquals(2, server.requests().size());
        assertFalse(Files.exists(modelDir().resolve("config.json")));
    }

    @Test
    void serverErrorsAndRateLimitsAreRetriedWithBackoff() throws IOException {
        server.script(urlPath("config.json"), FakeHubServer.status(503), FakeHubServer.status(429),
                FakeHubServer.status(500));
        Path p = hub().resolveFile(MODEL, "config.json");
        assertArrayEquals(content.get("config.json"), Files.readAllBytes(p));
        assertEquals(4, server.requests(urlPath("config.json")).size());
        assertEquals(3, events.stream().filter(e -> e.startsWith("notice Download of " + MODEL + "/config.json failed"))
                .count());
    }

    @Test
    void retriesAreBounded() {
        for (int i = 0; i < 10; i++) {
            server.script(urlPath("config.json"), FakeHubServer.status(502));
        }
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hubBuilder().retries(3, Duration.ofMillis(1), Duration.ofMillis(5)).build()
                        .resolveFile(MODEL, "config.json"));
        assertEquals(Reason.HTTP_ERROR, e.reason());
        assertTrue(e.getMessage().contains("HTTP 502") && e.getMessage().contains("3 attempt"), e.getMessage());
        assertEquals(3, server.requests().size());
    }

    @Test
    void stalledBodyTimesOutAndIsResumed() throws IOException {
        byte[] tok = content.get("tokenizer.json");
        server.script(urlPath("tokenizer.json"), FakeHubServer.stallAfter(100_000, 3_000));
        long t0 = System.nanoTime();
        Path p = hubBuilder().timeouts(Duration.ofSeconds(2), Duration.ofMillis(300)).build()
                .resolveFile(MODEL, "tokenizer.json");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertArrayEquals(tok, Files.readAllBytes(p));
        assertTrue(ms < 2_500, "stall should be cut after the read timeout, took " + ms + " ms");
        List<FakeHubServer.Request> reqs = server.requests(urlPath("tokenizer.json"));
        assertEquals(2, reqs.size());
        assertTrue(reqs.get(1).range() != null, "resumed after the stall");
    }

    @Test
    void offlineModeNeverTouchesTheNetworkAndNamesTheMissingFile() {
        ModelHub hub = hubBuilder().offline(true).build();
        assertTrue(hub.isOffline());
        ModelDownloadException e = assertThrows(ModelDownloadException.class, () -> hub.resolve(MODEL));
        assertEquals(Reason.OFFLINE, e.reason());
        String url = server.endpoint() + urlPath("config.json");
        assertTrue(e.getMessage().contains(MODEL + "/config.json"), e.getMessage());
        assertTrue(e.getMessage().contains(url), e.getMessage());
        assertTrue(e.getMessage().contains(modelDir().resolve("config.json").toString()), e.getMessage());
        assertThrows(ModelDownloadException.class, () -> hub.resolveFile(MODEL, PRESET_PINNED));
        assertEquals(List.of(), server.requests());
    }

    @Test
    void cachedFilesAndRecordsGetTheUmasksPermissions() throws IOException {
        // a file made the ordinary way shows what the process's umask allows (0644 under umask 022)
        Set<PosixFilePermission> usual = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("reference")));
        Set<PosixFilePermission> readOnly = EnumSet.copyOf(usual);
        readOnly.removeAll(EnumSet.of(PosixFilePermission.OWNER_WRITE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.OTHERS_WRITE));
        Path dir = hub().resolve(MODEL);
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin", EMBEDDINGS_JSON)) {
            assertEquals(readOnly, Files.getPosixFilePermissions(dir.resolve(f)), f);
            assertEquals(usual, Files.getPosixFilePermissions(meta(f + ".sha256.json")), f + " record");
        }
    }

    @Test
    void offlineDefaultsFollowSystemProperties() {
        String saved = System.getProperty("bark4j.offline");
        try {
            System.setProperty("bark4j.offline", "true");
            ModelHub hub = ModelHub.builder().cacheDir(tmp).endpoint(server.endpoint()).manifest(manifest).build();
            assertTrue(hub.isOffline());
            assertEquals(Reason.OFFLINE,
                    assertThrows(ModelDownloadException.class, () -> hub.resolve(MODEL)).reason());
            assertEquals(List.of(), server.requests());
        } finally {
            if (saved == null) {
                System.clearProperty("bark4j.offline");
            } else {
                System.setProperty("bark4j.offline", saved);
            }
        }
        // DJL's switch (set for every test run by the pom) leaves model downloads on
        assertEquals("true", System.getProperty("ai.djl.offline"));
        ModelHub online = ModelHub.builder().cacheDir(tmp).endpoint(server.endpoint()).manifest(manifest).build();
        assertFalse(online.isOffline());
    }

    @Test
    void offlineModeUsesFilesPlacedByHandAfterVerifyingThem() throws IOException {
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin", EMBEDDINGS_JSON)) {
            Files.createDirectories(modelDir());
            Files.write(modelDir().resolve(f), content.get(f));
        }
        ModelHub offline = hubBuilder().offline(true).build();
        assertEquals(modelDir(), offline.resolve(MODEL));
        assertEquals(sha(content.get("pytorch_model.bin")), recordedSha(meta("pytorch_model.bin.sha256.json")));
        assertTrue(events.stream().anyMatch(e -> e.startsWith("notice Model file " + MODEL + "/" + EMBEDDINGS_JSON)
                && e.contains("trusting it on first use")));

        // a corrupted hand-placed file is deleted and reported, still without network
        byte[] bad = content.get(PRESET_PINNED).clone();
        bad[0] ^= 1;
        Files.createDirectories(modelDir().resolve(PRESET_PINNED).getParent());
        Files.write(modelDir().resolve(PRESET_PINNED), bad);
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> offline.resolveFile(MODEL, PRESET_PINNED));
        assertEquals(Reason.CHECKSUM_MISMATCH, e.reason());
        assertFalse(Files.exists(modelDir().resolve(PRESET_PINNED)));
        assertEquals(List.of(), server.requests());
    }

    @Test
    void trustOnFirstUseRecordsTheHashAndRefusesALaterDifferentFile() throws IOException {
        ModelHub hub = hub();
        Path p = hub.resolveFile(MODEL, PRESET_UNPINNED);
        String first = sha(content.get(PRESET_UNPINNED));
        Path record = meta(PRESET_UNPINNED + ".sha256.json");
        assertEquals(first, recordedSha(record));
        assertTrue(Files.readString(record).contains("\"trust\":\"first-use\""));
        assertTrue(events.stream().anyMatch(e -> e.startsWith("notice Model file " + MODEL + "/" + PRESET_UNPINNED)
                && e.contains("recorded sha256 " + first)), String.valueOf(events));

        // the file disappears from the cache and upstream now serves different bytes
        deleteCachedFile(p);
        byte[] changed = randomBytes(content.get(PRESET_UNPINNED).length, 77);
        server.serve(urlPath(PRESET_UNPINNED), changed);
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub.resolveFile(MODEL, PRESET_UNPINNED));
        assertEquals(Reason.CHECKSUM_MISMATCH, e.reason());
        assertTrue(e.getMessage().contains("first downloaded with sha256 " + first), e.getMessage());
        assertFalse(Files.exists(p));
        assertEquals(List.of(), partFiles(tmp));
        assertEquals(first, recordedSha(record), "the first-use record is kept");

        // the original bytes are accepted again
        server.serve(urlPath(PRESET_UNPINNED), content.get(PRESET_UNPINNED));
        assertArrayEquals(content.get(PRESET_UNPINNED), Files.readAllBytes(hub.resolveFile(MODEL, PRESET_UNPINNED)));
    }

    @Test
    void unlistedVoicePresetsAreFetchedOnDemandButOtherFilesAreRefused() throws IOException {
        ModelHub hub = hub();
        assertArrayEquals(content.get(PRESET_UNLISTED), Files.readAllBytes(hub.resolveFile(MODEL, PRESET_UNLISTED)));
        assertEquals(sha(content.get(PRESET_UNLISTED)), recordedSha(meta(PRESET_UNLISTED + ".sha256.json")));

        for (String bad : List.of("model.safetensors", "speaker_embeddings/../config.json", "/etc/passwd",
                "speaker_embeddings/x.txt")) {
            ModelDownloadException e = assertThrows(ModelDownloadException.class, () -> hub.resolveFile(MODEL, bad));
            assertEquals(Reason.UNKNOWN_FILE, e.reason(), bad);
        }
        ModelDownloadException unknown = assertThrows(ModelDownloadException.class, () -> hub.resolve("suno/bark-xl"));
        assertEquals(Reason.UNKNOWN_MODEL, unknown.reason());
        assertTrue(unknown.getMessage().contains(MODEL));
        assertEquals(1, server.requests().size());
    }

    @Test
    void concurrentThreadsDownloadTheFileOnce() throws Exception {
        server.slowDown(5); // ~45 pieces: the download lasts long enough for everyone to pile up
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                ModelHub hub = hub(); // separate hubs, as separate components would have
                Callable<Path> task = () -> {
                    go.await();
                    return hub.resolveFile(MODEL, "tokenizer.json");
                };
                results.add(pool.submit(task));
            }
            go.countDown();
            for (Future<Path> f : results) {
                Path p = f.get(60, TimeUnit.SECONDS);
                assertArrayEquals(content.get("tokenizer.json"), Files.readAllBytes(p));
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(30, TimeUnit.SECONDS));
        }
        assertEquals(1, server.requests(urlPath("tokenizer.json")).size());
    }

    @Test
    void secondProcessWaitsForTheFirstAndFindsTheVerifiedFile() throws Exception {
        server.slowDown(30); // ~1.4 s for the tokenizer
        Path manifestFile = tmp.resolve("manifest.json");
        Files.writeString(manifestFile, testManifest().toString());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                HubDownloadChild.class.getName(), tmp.resolve("cache").toString(), server.endpoint(),
                manifestFile.toString(), MODEL, "tokenizer.json");
        pb.redirectErrorStream(true);
        pb.redirectOutput(tmp.resolve("child.log").toFile());
        Process child = pb.start();
        try {
            // wait (bounded) until the child's download has begun, then race it from this JVM
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (server.requests(urlPath("tokenizer.json")).isEmpty() && child.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(1, server.requests(urlPath("tokenizer.json")).size(),
                    "child did not start downloading: " + Files.readString(tmp.resolve("child.log")));
            Path p = hub().resolveFile(MODEL, "tokenizer.json");
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not finish");
            String log = Files.readString(tmp.resolve("child.log"));
            assertEquals(0, child.exitValue(), log);
            assertTrue(log.contains("OK " + sha(content.get("tokenizer.json"))), log);
            assertArrayEquals(content.get("tokenizer.json"), Files.readAllBytes(p));
            assertEquals(1, server.requests(urlPath("tokenizer.json")).size(), "downloaded once in all");
            assertTrue(events.stream().noneMatch(e -> e.startsWith("start")), "this JVM found the child's file");
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
    }
}

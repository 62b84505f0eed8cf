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
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Faults in the model cache, each ending in a typed {@link ModelDownloadException} or healing itself,
 * and never in a cached file that passes verification while being wrong: a read-only cache folder,
 * a full disk, a file truncated after it was verified, and a download whose process was killed.
 * Read-only folders and full disks are real file systems (a read-only and a 256 KiB tmpfs) where this
 * process may mount them (root), else a read-only folder by permissions and a {@code .part} file
 * that is {@code /dev/full} (every write fails with ENOSPC).
 */
class ModelCacheFaultTest {
    private static final String MODEL = "test/tiny-bark";
    private static final String REV = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    Path tmp;

    private FakeHubServer server;
    private final Map<String, byte[]> content = new LinkedHashMap<>();
    private ModelManifest manifest;
    private final List<Path> mounts = new java.util.ArrayList<>();

    @BeforeEach
    void setUp() throws IOException {
        for (String f : List.of("config.json", "tokenizer.json", "pytorch_model.bin")) {
            content.put(f, Files.readAllBytes(SharedFiles.tinyBark().resolve(f)));
        }
        server = new FakeHubServer();
        content.forEach((path, bytes) -> server.serve("/" + MODEL + "/resolve/" + REV + "/" + path, bytes));
        manifest = ModelManifest.parse(manifestJson(), "fault manifest");
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        for (Path m : mounts) {
            run("umount", m.toString());
        }
    }

    private ModelHub hub(Path cache, boolean offline) {
        return ModelHub.builder().cacheDir(cache).endpoint(server.endpoint()).offline(offline)
                .retries(2, Duration.ofMillis(5), Duration.ofMillis(20))
                .timeouts(Duration.ofSeconds(5), Duration.ofSeconds(10)).manifest(manifest).build();
    }

    private static Path cached(Path cache, String file) {
        return cache.resolve("test").resolve("tiny-bark").resolve(REV).resolve(file);
    }

    private static int run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }

    /** Mounts a tmpfs with these options at {@code dir}; false where this process may not mount. */
    private boolean mountTmpfs(Path dir, String options) throws Exception {
        Files.createDirectories(dir);
        if (run("mount", "-t", "tmpfs", "-o", options, "tmpfs", dir.toString()) != 0) {
            return false;
        }
        mounts.add(0, dir);
        return true;
    }

    @Test
    void readOnlyCacheFolderGivesATypedErrorAndAFilledOneWorksOffline() throws Exception {
        Path cache = tmp.resolve("ro-cache");
        boolean mounted = mountTmpfs(cache, "ro,size=1m");
        if (!mounted) {
            Files.createDirectories(cache);
            cache.toFile().setWritable(false, false);
        }
        boolean reallyReadOnly = !Files.isWritable(cache) || mounted;
        org.junit.jupiter.api.Assumptions.assumeTrue(reallyReadOnly, "cannot make a read-only folder here");
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub(cache, false).resolveFile(MODEL, "tokenizer.json"));
        assertEquals(Reason.IO_ERROR, e.reason());
        assertTrue(e.getMessage().contains(cache.toString()), e.getMessage());

        // a cache filled earlier and then made read-only still serves verified files, offline
        Path filled = tmp.resolve("filled");
        Path tok = hub(filled, false).resolveFile(MODEL, "tokenizer.json");
        if (mounted) {
            assertEquals(0, run("mount", "--bind", filled.toString(), filled.toString()));
            mounts.add(0, filled);
            assertEquals(0, run("mount", "-o", "remount,ro,bind", filled.toString()));
        } else {
            makeTreeReadOnly(filled);
        }
        assertArrayEquals(content.get("tokenizer.json"), Files.readAllBytes(hub(filled, true)
                .resolveFile(MODEL, "tokenizer.json")));
        assertEquals(tok, cached(filled, "tokenizer.json"));
    }

    private static void makeTreeReadOnly(Path root) throws IOException {
        try (var s = Files.walk(root)) {
            s.forEach(p -> p.toFile().setWritable(false, false));
        }
    }

    @Test
    void fullDiskGivesATypedErrorLeavesNothingVerifiableAndHealsWhenThereIsRoom() throws Exception {
        Path cache = tmp.resolve("small-cache");
        boolean mounted = mountTmpfs(cache, "size=256k");
        Path part = cached(cache, ".bark4j/tokenizer.json.part");
        if (!mounted) {
            // no mount: the partial file is /dev/full, where every write fails with "No space left"
            Files.createDirectories(part.getParent());
            Files.createSymbolicLink(part, Path.of("/dev/full"));
        }
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub(cache, false).resolveFile(MODEL, "tokenizer.json"));
        assertEquals(Reason.IO_ERROR, e.reason());
        assertFalse(Files.exists(cached(cache, "tokenizer.json")), "no file in place after a failed download");
        // offline, the partial state is not taken for the file
        assertEquals(Reason.OFFLINE, assertThrows(ModelDownloadException.class,
                () -> hub(cache, true).resolveFile(MODEL, "tokenizer.json")).reason());
        // room again: the download completes (resuming what fit) and verifies
        if (mounted) {
            assertEquals(0, run("mount", "-o", "remount,size=64m", cache.toString()));
        } else {
            Files.delete(part);
        }
        Path p = hub(cache, false).resolveFile(MODEL, "tokenizer.json");
        assertArrayEquals(content.get("tokenizer.json"), Files.readAllBytes(p));
    }

    @Test
    void fileTruncatedOrRewrittenAfterVerificationIsDetectedAndHealed() throws Exception {
        Path cache = tmp.resolve("cache");
        Path p = hub(cache, false).resolveFile(MODEL, "tokenizer.json");
        byte[] good = content.get("tokenizer.json");
        p.toFile().setWritable(true);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(good.length / 3);
        }
        // offline: detected, deleted, and reported (it cannot be fetched again)
        ModelDownloadException e = assertThrows(ModelDownloadException.class,
                () -> hub(cache, true).resolveFile(MODEL, "tokenizer.json"));
        assertEquals(Reason.SIZE_MISMATCH, e.reason());
        assertFalse(Files.exists(p));
        // online: downloaded again
        assertArrayEquals(good, Files.readAllBytes(hub(cache, false).resolveFile(MODEL, "tokenizer.json")));
        // rewritten with other bytes of the same size: the fast check (size, mtime) sends it to be hashed
        p.toFile().setWritable(true);
        Thread.sleep(20);
        byte[] other = good.clone();
        other[other.length / 2] ^= 1;
        Files.write(p, other);
        assertArrayEquals(good, Files.readAllBytes(hub(cache, false).resolveFile(MODEL, "tokenizer.json")));
        // truncated online: healed in one call
        p.toFile().setWritable(true);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(100);
        }
        assertArrayEquals(good, Files.readAllBytes(hub(cache, false).resolveFile(MODEL, "tokenizer.json")));
    }

    @Test
    void killedDownloadIsResumedAndVerified() throws Exception {
        Path cache = tmp.resolve("cache");
        String path = "/" + MODEL + "/resolve/" + REV + "/pytorch_model.bin";
        server.slowDown(20); // 64 KiB per 20 ms: about 10 s for the weights
        Path manifestFile = tmp.resolve("manifest.json");
        Files.writeString(manifestFile, manifestJson());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                HubDownloadChild.class.getName(), cache.toString(), server.endpoint(), manifestFile.toString(), MODEL,
                "pytorch_model.bin").redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        Path part = cached(cache, ".bark4j/pytorch_model.bin.part");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while ((!Files.exists(part) || Files.size(part) < (1 << 20)) && child.isAlive()
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(child.isAlive(), "child ended early: " + Files.readString(tmp.resolve("child.log")));
            child.destroyForcibly(); // SIGKILL: no cleanup runs
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        long have = Files.size(part);
        assertTrue(have > 0 && have < content.get("pytorch_model.bin").length, "partial: " + have);
        assertFalse(Files.exists(cached(cache, "pytorch_model.bin")), "killed download left a file in place");
        server.slowDown(0);
        Path p = hub(cache, false).resolveFile(MODEL, "pytorch_model.bin");
        assertArrayEquals(content.get("pytorch_model.bin"), Files.readAllBytes(p));
        List<FakeHubServer.Request> reqs = server.requests(path);
        String range = reqs.get(reqs.size() - 1).range();
        assertTrue(range != null && Long.parseLong(range.substring(6, range.length() - 1)) > 0,
                "the second process resumed: " + reqs);
        assertFalse(Files.exists(part));
    }

    private String manifestJson() {
        JsonArray files = new JsonArray();
        content.forEach((path, bytes) -> {
            JsonObject e = new JsonObject();
            e.addProperty("path", path);
            e.addProperty("size", bytes.length);
            e.addProperty("sha256", HexFormat.of().formatHex(FileDownloader.sha256().digest(bytes)));
            e.addProperty("lazy", false);
            files.add(e);
        });
        return FakeHubServer.manifest(MODEL, REV, files).toString();
    }
}

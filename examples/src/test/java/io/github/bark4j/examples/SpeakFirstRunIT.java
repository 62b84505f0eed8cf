package io.github.bark4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The README's real-model command as a new user runs it: {@code java -jar bark4j-speak.jar --model
 * suno/bark-small ...} in a fresh process under umask 022, against a loopback Hub that serves the
 * tiny-bark fixture as suno/bark-small under a test manifest ({@code BARK4J_MANIFEST}). The first run
 * downloads, verifies and caches the model and writes speech; a second run with {@code --offline}
 * uses the cache alone.
 */
class SpeakFirstRunIT {
    private static final String REPO = "suno/bark-small";
    private static final String REV = "feedfacefeedfacefeedfacefeedfacefeedface";
    private static final List<String> FILES = List.of("config.json", "tokenizer.json", "model.safetensors");

    @TempDir
    Path tmp;

    private HttpServer hub;
    private final List<String> requests = Collections.synchronizedList(new ArrayList<>());

    private static Path fixture() {
        return Path.of(System.getProperty("bark4j.shared", "../../shared")).resolve("fixtures/tiny-bark");
    }

    private static Path jar() {
        return Path.of(System.getProperty("bark4j.speak.jar", "target/bark4j-speak.jar"));
    }

    @BeforeEach
    void startHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        String prefix = "/" + REPO + "/resolve/" + REV + "/";
        hub.createContext("/", ex -> {
            try (ex) {
                String path = ex.getRequestURI().getPath();
                requests.add(path);
                String name = path.startsWith(prefix) ? path.substring(prefix.length()) : null;
                if (name == null || !FILES.contains(name)) {
                    ex.sendResponseHeaders(404, -1);
                    return;
                }
                send(ex, Files.readAllBytes(fixture().resolve(name)));
            }
        });
        hub.start();
    }

    private static void send(HttpExchange ex, byte[] body) throws IOException {
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(body);
        }
    }

    @AfterEach
    void stopHub() {
        hub.stop(0);
    }

    private Path writeManifest() throws Exception {
        StringBuilder files = new StringBuilder();
        for (String f : FILES) {
            byte[] bytes = Files.readAllBytes(fixture().resolve(f));
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
            files.append(files.length() == 0 ? "" : ",").append(String.format(
                    "{\"path\":\"%s\",\"size\":%d,\"sha256\":\"%s\"}", f, bytes.length, sha));
        }
        String json = "{\"schemaVersion\":1,\"urlPattern\":\"{endpoint}/{repo}/resolve/{revision}/{path}\","
                + "\"models\":{\"" + REPO + "\":{\"repo\":\"" + REPO + "\",\"revision\":\"" + REV + "\",\"files\":["
                + files + "]}}}";
        Path manifest = tmp.resolve("test-manifest.json");
        Files.writeString(manifest, json);
        return manifest;
    }

    private record Run(int code, String err) {}

    /** {@code java -jar bark4j-speak.jar args} under umask 022, as a user's shell would start it. */
    private Run speak(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("sh", "-c", "umask 022 && exec \"$@\"", "sh",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(tmp.toFile());
        for (String k : List.of("BARK4J_OFFLINE", "HF_HUB_OFFLINE", "DJL_OFFLINE", "BARK4J_CACHE_DIR",
                "BARK4J_HUB_ENDPOINT", "HF_ENDPOINT", "BARK4J_MANIFEST")) {
            pb.environment().remove(k);
        }
        pb.environment().putAll(env);
        Path errFile = Files.createTempFile(tmp, "stderr", ".txt");
        pb.redirectError(errFile.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("speak did not finish in 5 minutes");
        }
        return new Run(p.exitValue(), Files.readString(errFile, StandardCharsets.UTF_8));
    }

    private static void assertReadableByOthers(Path file) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        assertTrue(perms.contains(PosixFilePermission.GROUP_READ) && perms.contains(PosixFilePermission.OTHERS_READ),
                file + " has " + perms);
    }

    @Test
    void realModelCommandDownloadsThenRunsOfflineFromTheCache() throws Exception {
        assertTrue(Files.isRegularFile(jar()), "build the jar first: " + jar().toAbsolutePath());
        Path cache = tmp.resolve("cache");
        Map<String, String> env = Map.of("BARK4J_HUB_ENDPOINT", "http://127.0.0.1:" + hub.getAddress().getPort(),
                "BARK4J_MANIFEST", writeManifest().toString(), "BARK4J_CACHE_DIR", cache.toString());

        Path wav = tmp.resolve("hello.wav");
        Run first = speak(env, "--model", REPO, "--greedy", "--max-seconds", "0.5", "--out", wav.toString(),
                "Hello, this is Bark running on the JVM.");
        assertEquals(0, first.code(), first.err());
        for (String f : FILES) {
            assertTrue(requests.contains("/" + REPO + "/resolve/" + REV + "/" + f), f + " requested: " + requests);
            Path cached = cache.resolve(REPO).resolve(REV).resolve(f);
            assertEquals(Files.size(fixture().resolve(f)), Files.size(cached), f);
            assertReadableByOthers(cached);
        }
        assertTrue(first.err().contains("verified"), first.err());
        assertTrue(first.err().contains("wrote " + wav), first.err());
        assertTrue(Files.size(wav) > 44);
        assertEquals("RIFF", new String(Files.readAllBytes(wav), 0, 4, StandardCharsets.US_ASCII));
        assertReadableByOthers(wav);
        // quiet by default: progress and the result, no log lines, and no GPU warning on a CPU machine
        for (String line : first.err().split("\\R")) {
            assertFalse(line.contains("WARN") && (line.contains("GPU") || line.contains("CUDA")), line);
            assertFalse(line.contains(" INFO "), "INFO log line without --verbose: " + line);
            // libtorch's own warnings (e.g. "[W... NNPACK.cpp:57] Could not initialize NNPACK!")
            assertFalse(line.contains("NNPACK") || line.matches("^\\[[WE]\\d{4} .*"), "libtorch warning: " + line);
        }
        assertTrue(first.err().contains("semantic") && first.err().contains("/ 25 "),
                "semantic progress total follows the 0.5 s cap: " + first.err());

        int served = requests.size();
        Path again = tmp.resolve("again.wav");
        Run offline = speak(env, "--model", REPO, "--offline", "--verbose", "--greedy", "--max-seconds", "0.5",
                "--out", again.toString(), "Hello, this is Bark running on the JVM.");
        assertEquals(0, offline.code(), offline.err());
        assertEquals(served, requests.size(), "an offline run must not touch the hub: " + requests);
        assertTrue(offline.err().contains(" INFO "), "--verbose shows the log: " + offline.err());
        assertEquals(Files.size(wav), Files.size(again));
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "temporary files left");
        }
    }
}

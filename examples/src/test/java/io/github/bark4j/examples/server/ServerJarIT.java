package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The README's server command as a user runs it: {@code java -jar bark4j-server.jar --model-dir DIR}
 * (with the local voice-cloning models) in a child process answers a speech request and clones a voice,
 * then on SIGTERM finishes the request in flight and exits within its shutdown time.
 */
class ServerJarIT {
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)/");

    private static Path jar() {
        return Path.of(System.getProperty("bark4j.server.jar", "target/bark4j-server.jar"));
    }

    @Test
    void servesAndStopsGracefullyOnSigterm() throws Exception {
        Path clone = ServerTestSupport.cloneFixture();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar().toString(), "--model-dir", clone.resolve("bark").toString(), "--port", "0",
                "--max-seconds", "0.5", "--shutdown-seconds", "20", "--cloning-hubert", clone.resolve("hubert").toString(),
                "--cloning-quantizer", clone.resolve("quantizer/tiny_quantizer_v0.pth").toString(),
                "--max-upload-mb", "4").redirectErrorStream(true).start();
        List<String> log = java.util.Collections.synchronizedList(new ArrayList<>());
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            boolean ready = false;
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (!ready && System.nanoTime() < deadline) {
                String line = out.readLine();
                if (line == null) {
                    break;
                }
                log.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
                ready = line.contains("bark4j-server ready");
            }
            assertTrue(ready && port > 0, "server started: " + log);
            CompletableFuture<Void> drain = CompletableFuture.runAsync(() -> {
                try {
                    out.lines().forEach(log::add);
                } catch (java.io.UncheckedIOException closedAtExit) {
                    // the JVM closes a finished child's stream
                }
            });

            // started with no speed flags, the server runs the library's fast path
            JsonObject health = ServerTestSupport.json(ServerTestSupport.HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/healthcheck")).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            assertEquals("sdpa", health.get("attention").getAsString(), health.toString());
            assertTrue(health.get("native_step").getAsBoolean(), health.toString());
            assertEquals("fp32", health.get("precision").getAsString(), health.toString());

            URI speech = URI.create("http://127.0.0.1:" + port + "/v1/audio/speech");
            HttpRequest request = HttpRequest.newBuilder(speech).timeout(Duration.ofMinutes(2))
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tts-1\",\"input\":\"Hello from a child process.\",\"greedy\":true}")).build();
            HttpResponse<byte[]> first = ServerTestSupport.HTTP.send(request, HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, first.statusCode());
            assertTrue(ServerTestSupport.pcmOfStreamedWav(first.body()).length > 0);

            // the cloning flags reach the synthesizer: a raw WAV upload clones (FP32 gives the golden tokens)
            HttpResponse<String> cloned = ServerTestSupport.HTTP.send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + port + "/v1/voices?name=jar-voice")).header("Content-Type", "audio/wav")
                    .POST(HttpRequest.BodyPublishers.ofFile(clone.resolve("audio/rec_c_48k_mono_f32.wav"))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(201, cloned.statusCode(), cloned.body());
            assertFalse(ServerTestSupport.json(cloned.body()).get("persistent").getAsBoolean(), "no --voices: memory");
            JsonObject voices = ServerTestSupport.json(ServerTestSupport.HTTP.send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + port + "/v1/voices")).build(), HttpResponse.BodyHandlers.ofString()).body());
            assertEquals(4 << 20, voices.getAsJsonObject("cloning").get("max_upload_bytes").getAsInt());

            CompletableFuture<HttpResponse<byte[]>> inFlight = ServerTestSupport.HTTP.sendAsync(request,
                    HttpResponse.BodyHandlers.ofByteArray());
            Thread.sleep(100);
            long stopAt = System.nanoTime();
            p.destroy(); // SIGTERM
            assertTrue(p.waitFor(40, TimeUnit.SECONDS), "exited within the shutdown time");
            double seconds = (System.nanoTime() - stopAt) / 1e9;
            HttpResponse<byte[]> last = inFlight.get(10, TimeUnit.SECONDS);
            assertEquals(200, last.statusCode(), "the request in flight was finished");
            assertTrue(ServerTestSupport.pcmOfStreamedWav(last.body()).length > 0);
            drain.get(10, TimeUnit.SECONDS);
            assertEquals(143, p.exitValue(), "ended by SIGTERM after its shutdown hook: " + log);
            for (String line : new ArrayList<>(log)) {
                assertFalse(line.contains("NNPACK") || line.matches("^\\[[WE]\\d{4} .*"), "libtorch warning: " + line);
            }
            System.out.printf("server jar stopped %.1f s after SIGTERM%n", seconds);
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void usageErrorsExitWithTwo() throws Exception {
        String out = usageError("--port", "1");
        assertTrue(out.contains("--model-dir"), out);
        String model = ServerTestSupport.cloneFixture().resolve("bark").toString();
        String hubert = ServerTestSupport.cloneFixture().resolve("hubert").toString();
        out = usageError("--model-dir", model, "--voice-cloning", "--cloning-hubert", hubert, "--cloning-quantizer",
                hubert);
        assertTrue(out.contains("not both"), out);
        out = usageError("--model-dir", model, "--cloning-hubert", hubert);
        assertTrue(out.contains("go together"), out);
        out = usageError("--model-dir", model, "--max-upload-mb", "0");
        assertTrue(out.contains("--max-upload-mb"), out);
    }

    private static String usageError(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-jar", jar().toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        return out;
    }
}

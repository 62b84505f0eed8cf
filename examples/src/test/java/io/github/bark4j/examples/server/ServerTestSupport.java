package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/** Starts servers on the tiny-bark fixture (loopback, a free port) and talks to them. */
final class ServerTestSupport {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private ServerTestSupport() {}

    static Path shared() {
        return Path.of(System.getProperty("bark4j.shared", "../../shared"));
    }

    static Path fixture() {
        return shared().resolve("fixtures/tiny-bark");
    }

    static Path voices() {
        return shared().resolve("voices");
    }

    /** Test defaults: any free loopback port, the shared voices, utterances capped at 0.5 s. */
    static ServerSettings settings() {
        return ServerSettings.defaults("tiny-bark").withPort(0).withVoices(voices()).withMaxSeconds(0.5);
    }

    /** The fixture in FP64, where greedy results are exact whichever path (batched, streamed) runs them. */
    static Synthesizer loadFixture() {
        return Synthesizer.builder().modelDir(fixture()).precision(Precision.FP64).build();
    }

    static SpeechServer startReady(ServerSettings settings) throws InterruptedException {
        SpeechServer server = SpeechServer.start(settings, ServerTestSupport::loadFixture);
        assertTrue(server.awaitReady(Duration.ofMinutes(2)), "model ready: " + server.failure());
        return server;
    }

    static URI uri(SpeechServer server, String path) {
        return URI.create("http://127.0.0.1:" + server.port() + path);
    }

    static HttpResponse<byte[]> post(SpeechServer server, String path, String json) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(uri(server, path)).timeout(Duration.ofMinutes(3))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
        return HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
    }

    static HttpResponse<String> get(SpeechServer server, String path) throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(uri(server, path)).timeout(Duration.ofMinutes(1)).GET().build();
        return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
    }

    static JsonObject json(byte[] body) {
        return JsonParser.parseString(new String(body, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    static JsonObject json(String body) {
        return JsonParser.parseString(body).getAsJsonObject();
    }

    /** Checks a streamed WAV (open length) and returns its PCM bytes. */
    static byte[] pcmOfStreamedWav(byte[] wav) {
        ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
        assertTrue(wav.length >= 44, "a WAV header");
        assertEquals("RIFF", new String(wav, 0, 4, StandardCharsets.US_ASCII));
        assertEquals("WAVE", new String(wav, 8, 4, StandardCharsets.US_ASCII));
        assertEquals(1, b.getShort(20), "PCM");
        assertEquals(1, b.getShort(22), "mono");
        assertEquals(24_000, b.getInt(24), "24 kHz");
        assertEquals(16, b.getShort(34), "16 bit");
        assertEquals("data", new String(wav, 36, 4, StandardCharsets.US_ASCII));
        int data = b.getInt(40);
        assertTrue(data == -1 || data == wav.length - 44, "open length or exact length: " + data);
        return Arrays.copyOfRange(wav, 44, wav.length);
    }

    /** Resident set size of this JVM in KiB (Linux). */
    static long rssKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }
}

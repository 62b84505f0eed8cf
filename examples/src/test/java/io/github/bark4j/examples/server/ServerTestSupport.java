package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
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
import java.util.function.Supplier;

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

    /** The voice-cloning fixture: a Bark folder with its EnCodec encoder, HuBERT, quantizers, recordings. */
    static Path cloneFixture() {
        return shared().resolve("fixtures/tiny-clone");
    }

    /** Test defaults: any free loopback port, the shared voices, utterances capped at 0.5 s. */
    static ServerSettings settings() {
        return ServerSettings.defaults("tiny-bark").withPort(0).withVoices(voices()).withMaxSeconds(0.5);
    }

    /** The fixture in FP64, where greedy results are exact whichever path (batched, streamed) runs them. */
    static Synthesizer loadFixture() {
        return Synthesizer.builder().modelDir(fixture()).precision(Precision.FP64).build();
    }

    /**
     * The cloning fixture's Bark folder (tiny-bark's weights plus the EnCodec encoder) in FP64 with voice
     * cloning on its HuBERT and version-0 quantizer: a clone of rec_a is exactly {@code rec_a_v0.npz}.
     */
    static Synthesizer loadCloningFixture() {
        Path f = cloneFixture();
        return Synthesizer.builder().modelDir(f.resolve("bark")).precision(Precision.FP64)
                .voiceCloning(f.resolve("hubert"), f.resolve("quantizer/tiny_quantizer_v0.pth")).build();
    }

    static SpeechServer startReady(ServerSettings settings) throws InterruptedException {
        return startReady(settings, ServerTestSupport::loadFixture);
    }

    static SpeechServer startReady(ServerSettings settings, Supplier<Synthesizer> loader) throws InterruptedException {
        SpeechServer server = SpeechServer.start(settings, loader);
        assertTrue(server.awaitReady(Duration.ofMinutes(2)), "model ready: " + server.failure());
        return server;
    }

    /** A server that clones voices (see {@link #loadCloningFixture}). */
    static SpeechServer startCloning(ServerSettings settings) throws InterruptedException {
        return startReady(settings, ServerTestSupport::loadCloningFixture);
    }

    /** POSTs raw bytes with a content type. */
    static HttpResponse<byte[]> postBytes(SpeechServer server, String path, String contentType, byte[] body)
            throws IOException, InterruptedException {
        HttpRequest r = HttpRequest.newBuilder(uri(server, path)).timeout(Duration.ofMinutes(3))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return HTTP.send(r, HttpResponse.BodyHandlers.ofByteArray());
    }

    /** A multipart/form-data body: each part is {name, filename or null, bytes}. */
    record Multipart(String contentType, byte[] body) {
        static Multipart of(Object[]... parts) {
            String boundary = "----bark4jTestBoundary7MA4YWxkTrZu0gW";
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (Object[] p : parts) {
                String head = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p[0] + "\""
                        + (p[1] == null ? "" : "; filename=\"" + p[1] + "\"\r\nContent-Type: audio/wav") + "\r\n\r\n";
                out.writeBytes(head.getBytes(StandardCharsets.UTF_8));
                out.writeBytes(p[2] instanceof String str ? str.getBytes(StandardCharsets.UTF_8) : (byte[]) p[2]);
                out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            out.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.US_ASCII));
            return new Multipart("multipart/form-data; boundary=" + boundary, out.toByteArray());
        }
    }

    /** Clones with a form holding {@code wav} as 'file' and {@code name}. */
    static HttpResponse<byte[]> cloneMultipart(SpeechServer server, String name, byte[] wav)
            throws IOException, InterruptedException {
        Multipart m = Multipart.of(new Object[] {"name", null, name}, new Object[] {"file", "voice.wav", wav});
        return postBytes(server, "/v1/voices", m.contentType(), m.body());
    }

    /**
     * Sends {@code request} as is over a plain socket (for what HttpClient refuses to send) and returns
     * everything the server answers until it closes the connection or {@code timeout} passes.
     */
    static String rawExchange(SpeechServer server, byte[] request, Duration timeout) throws IOException {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout((int) timeout.toMillis());
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    got.write(buf, 0, n);
                }
            } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
                // the answer so far: a server that keeps the connection open, or resets it after answering
            }
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    /** The status code of a raw HTTP/1.1 answer. */
    static int rawStatus(String answer) {
        assertTrue(answer.startsWith("HTTP/1.1 "), "an HTTP answer: " + answer);
        return Integer.parseInt(answer.substring(9, 12));
    }

    /** The body of a raw HTTP/1.1 answer that is not chunked. */
    static String rawBody(String answer) {
        int at = answer.indexOf("\r\n\r\n");
        assertTrue(at > 0, "a header block: " + answer);
        return answer.substring(at + 4);
    }

    /** A 16-bit mono PCM WAV of {@code samples} at {@code rate}. */
    static byte[] wav(float[] samples, int rate) {
        ByteBuffer b = ByteBuffer.allocate(44 + 2 * samples.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * samples.length)
                .put("WAVE".getBytes(StandardCharsets.US_ASCII)).put("fmt ".getBytes(StandardCharsets.US_ASCII))
                .putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(2 * rate)
                .putShort((short) 2).putShort((short) 16).put("data".getBytes(StandardCharsets.US_ASCII))
                .putInt(2 * samples.length);
        for (float s : samples) {
            b.putShort((short) Math.round(Math.max(-1, Math.min(1, s)) * 32767));
        }
        return b.array();
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

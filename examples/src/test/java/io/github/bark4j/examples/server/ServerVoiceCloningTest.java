package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.cloneFixture;
import static io.github.bark4j.examples.server.ServerTestSupport.cloneMultipart;
import static io.github.bark4j.examples.server.ServerTestSupport.get;
import static io.github.bark4j.examples.server.ServerTestSupport.json;
import static io.github.bark4j.examples.server.ServerTestSupport.pcmOfStreamedWav;
import static io.github.bark4j.examples.server.ServerTestSupport.post;
import static io.github.bark4j.examples.server.ServerTestSupport.postBytes;
import static io.github.bark4j.examples.server.ServerTestSupport.rawBody;
import static io.github.bark4j.examples.server.ServerTestSupport.rawExchange;
import static io.github.bark4j.examples.server.ServerTestSupport.rawStatus;
import static io.github.bark4j.examples.server.SpeechServerTest.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Voice cloning over HTTP on the tiny-clone fixture (FP64, so a clone of rec_a is exactly the golden
 * {@code rec_a_v0.npz}): multipart and raw uploads, the cloned voice speaking, listing, download,
 * delete, persistence across a restart, name attacks, conflicts, upload caps, bad audio, a full queue,
 * a client that leaves mid-clone.
 */
class ServerVoiceCloningTest {
    private static final Path REC_A = cloneFixture().resolve("audio/rec_a_44k_stereo_s16.wav");
    private static final Path REC_B = cloneFixture().resolve("audio/rec_b_16k_mono_s16.wav");
    private static final Path REC_C = cloneFixture().resolve("audio/rec_c_48k_mono_f32.wav");
    private static final int MAX_UPLOAD = 2 << 20;
    private static final double MAX_SECONDS = 10;

    /** Runs on the cloning thread before each clone: lets a test hold a clone. */
    private static volatile Runnable cloneHook = () -> { };
    @TempDir
    static Path voicesDir;
    @TempDir
    Path tmp;
    private static SpeechServer server;
    private static Synthesizer reference;

    @BeforeAll
    static void start() throws Exception {
        server = ServerTestSupport.startCloning(settings(voicesDir));
        reference = Synthesizer.builder().modelDir(cloneFixture().resolve("bark")).precision(Precision.FP64).build();
    }

    /** 2 MB uploads, 10 s recordings, one clone running and one waiting. */
    private static ServerSettings settings(Path voices) {
        return ServerTestSupport.settings().withVoices(voices).withCloning(new ServerSettings.Cloning(MAX_UPLOAD,
                MAX_SECONDS, 1, () -> cloneHook.run()));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (reference != null) {
            reference.close();
        }
    }

    private static HttpResponse<byte[]> cloneRaw(SpeechServer s, String query, byte[] wav) throws Exception {
        return postBytes(s, "/v1/voices?" + query, "audio/wav", wav);
    }

    private static String nameQuery(String name) {
        return "name=" + URLEncoder.encode(name, StandardCharsets.UTF_8);
    }

    private VoicePreset download(SpeechServer s, String path) throws Exception {
        HttpResponse<byte[]> r = ServerTestSupport.HTTP.send(HttpRequest.newBuilder(ServerTestSupport.uri(s, path))
                .GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
        assertEquals("application/octet-stream", r.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(r.headers().firstValue("Content-Disposition").orElseThrow().contains(".npz\""));
        Path npz = Files.createTempFile(tmp, "download", ".npz");
        Files.write(npz, r.body());
        return VoicePreset.load(npz);
    }

    private static VoicePreset golden(String recording) {
        return VoicePreset.load(cloneFixture().resolve(recording + "_v0.npz"));
    }

    static void assertPreset(VoicePreset expected, VoicePreset actual, String what) {
        assertArrayEquals(expected.semanticPrompt(), actual.semanticPrompt(), what + " semantic_prompt");
        assertArrayEquals(expected.coarsePrompt(), actual.coarsePrompt(), what + " coarse_prompt");
        assertArrayEquals(expected.finePrompt(), actual.finePrompt(), what + " fine_prompt");
    }

    private static HttpResponse<byte[]> delete(SpeechServer s, String path) throws Exception {
        return ServerTestSupport.HTTP.send(HttpRequest.newBuilder(ServerTestSupport.uri(s, path)).DELETE().build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static String error(HttpResponse<byte[]> r) {
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void multipartAndRawUploadsCloneExactlyAsTheLibraryDoes() throws Exception {
        byte[] recA = Files.readAllBytes(REC_A);
        HttpResponse<byte[]> form = cloneMultipart(server, "rec-a", recA);
        assertEquals(201, form.statusCode(), error(form));
        assertEquals("/v1/voices/rec-a", form.headers().firstValue("Location").orElseThrow());
        JsonObject created = json(form.body());
        assertEquals("voice", created.get("object").getAsString());
        assertEquals("rec-a", created.get("name").getAsString());
        assertTrue(created.get("persistent").getAsBoolean());
        assertFalse(created.get("replaced").getAsBoolean());
        assertEquals(3.97, created.get("seconds").getAsDouble(), 0.01, "298 codec frames at 75 Hz");
        assertPreset(golden("rec_a"), download(server, created.get("download").getAsString()), "multipart");
        assertPreset(golden("rec_a"), VoicePreset.load(voicesDir.resolve("rec-a.npz")), "the saved file");

        HttpResponse<byte[]> raw = cloneRaw(server, "name=rec_a_raw", recA);
        assertEquals(201, raw.statusCode(), error(raw));
        assertPreset(golden("rec_a"), download(server, "/v1/voices/rec_a_raw"), "raw body");

        JsonObject list = json(get(server, "/v1/voices").body());
        for (String name : List.of("rec-a", "rec_a_raw")) {
            assertTrue(list.getAsJsonArray("voices").toString().contains("\"" + name + "\""), list.toString());
            assertTrue(list.getAsJsonArray("user_voices").toString().contains("\"" + name + "\""), list.toString());
        }
        JsonObject cloning = list.getAsJsonObject("cloning");
        assertTrue(cloning.get("enabled").getAsBoolean());
        assertTrue(cloning.get("persistent").getAsBoolean());
        assertEquals(MAX_UPLOAD, cloning.get("max_upload_bytes").getAsInt());

        String metrics = get(server, "/metrics").body();
        assertTrue(metric(metrics, "bark4j_voices_cloned_total") >= 2, metrics);
        assertTrue(metric(metrics, "bark4j_voice_clone_seconds_count") >= 2, metrics);
        JsonObject health = json(get(server, "/healthcheck").body());
        assertTrue(health.get("voice_cloning").getAsBoolean(), health.toString());
    }

    private static double metric(String scrape, String name) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + " in\n" + scrape);
    }

    @Test
    void aClonedVoiceSpeaksAsTheLibraryDoesWithItsPreset() throws Exception {
        HttpResponse<byte[]> made = cloneRaw(server, "name=speaker-c", Files.readAllBytes(REC_C));
        assertEquals(201, made.statusCode(), error(made));
        String text = "Hello, this is my voice.";
        Speech expected = reference.generate(text, GenerationOptions.builder().greedy().maxSemanticSeconds(0.5)
                .voice(golden("rec_c")).build());
        byte[] expectedPcm = AudioFormat.pcm16(expected.samples());
        assertTrue(expectedPcm.length > 0);
        HttpResponse<byte[]> spoken = post(server, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"" + text
                + "\",\"voice\":\"speaker-c\",\"greedy\":true}");
        assertEquals(200, spoken.statusCode(), error(spoken));
        assertArrayEquals(expectedPcm, pcmOfStreamedWav(spoken.body()), "sample for sample");
    }

    @Test
    void deleteRemovesAUserVoiceAndItsFileButNeverAPresetOrAlias() throws Exception {
        assertEquals(201, cloneRaw(server, "name=short-lived", Files.readAllBytes(REC_B)).statusCode());
        assertTrue(Files.isRegularFile(voicesDir.resolve("short-lived.npz")));
        HttpResponse<byte[]> gone = delete(server, "/v1/voices/short-lived");
        assertEquals(200, gone.statusCode(), error(gone));
        assertTrue(json(gone.body()).get("deleted").getAsBoolean());
        assertFalse(Files.exists(voicesDir.resolve("short-lived.npz")), "the file is deleted");
        assertFalse(get(server, "/v1/voices").body().contains("short-lived"));

        var again = delete(server, "/v1/voices/short-lived");
        assertEquals(404, again.statusCode());
        assertOpenAiError(again.body(), "invalid_request_error", null, "voice_not_found");
        var download = get(server, "/v1/voices/short-lived.npz");
        assertEquals(404, download.statusCode());
        var speak = post(server, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"Hi.\",\"voice\":\"short-lived\"}");
        assertEquals(400, speak.statusCode());
        assertOpenAiError(speak.body(), "invalid_request_error", "voice", "voice_not_found");

        var alias = delete(server, "/v1/voices/alloy");
        assertEquals(403, alias.statusCode());
        assertOpenAiError(alias.body(), "invalid_request_error", null, "voice_not_deletable");
    }

    @Test
    void namesThatCouldEscapeTheFolderOrClashAreRefused() throws Exception {
        byte[] recB = Files.readAllBytes(REC_B);
        List<String> bad = List.of("../x", "a/b", "..", ".hidden", "x.npz", "a b", "-lead", "_lead", "a\\b",
                "a\u0000b", "stimme-\u00e4", "\u540d\u524d", "x".repeat(65), "/etc/passwd", "%2e%2e", "C:x");
        for (String name : bad) {
            var r = cloneRaw(server, nameQuery(name), recB);
            assertEquals(400, r.statusCode(), name + ": " + error(r));
            assertOpenAiError(r.body(), "invalid_request_error", "name", "invalid_voice_name");
            // refused unread: the server closes the connection and says so, or the next request in this loop
            // would go out on a socket the server has closed ("header parser received no bytes")
            assertEquals("close", r.headers().firstValue("Connection").orElse(null), name);
            var form = cloneMultipart(server, name, recB);
            assertEquals(400, form.statusCode(), name + ": " + error(form));
            assertOpenAiError(form.body(), "invalid_request_error", "name", "invalid_voice_name");
        }
        // %2e%2e and %2F reach the routes decoded ("..", "x/../target"): names are looked up, never made
        // into paths, so they find no voice, and nothing is deleted or read outside the catalog
        var dots = cloneRaw(server, "name=%2e%2e", recB);
        assertEquals(400, dots.statusCode());
        assertEquals(201, cloneRaw(server, "name=target", recB).statusCode());
        for (String path : List.of("/v1/voices/%2e%2e", "/v1/voices/x%2F..%2Ftarget", "/v1/voices/..%2Ftarget",
                "/v1/voices/%2e%2e%2F..%2Fetc%2Fpasswd")) {
            for (String method : List.of("GET", "DELETE")) {
                String answer = rawExchange(server, (method + " " + path + " HTTP/1.1\r\nHost: x\r\n"
                        + "Connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII), Duration.ofSeconds(10));
                assertEquals(404, rawStatus(answer), method + " " + path + ": " + answer);
                assertOpenAiError(rawBody(answer).getBytes(StandardCharsets.UTF_8), "invalid_request_error", null,
                        "voice_not_found");
            }
        }
        assertTrue(Files.exists(voicesDir.resolve("target.npz")));
        var missing = cloneRaw(server, "name=", recB);
        assertOpenAiError(missing.body(), "invalid_request_error", "name", "missing_required_parameter");
        assertOpenAiError(cloneRaw(server, "", recB).body(), "invalid_request_error", "name",
                "missing_required_parameter");
        assertEquals(201, cloneRaw(server, nameQuery("x".repeat(64)), recB).statusCode(), "64 characters are fine");

        // nothing was written anywhere but the voices folder, and only the good names there
        try (Stream<Path> files = Files.list(voicesDir)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                assertTrue(n.endsWith(".npz") && VoiceCatalog.NAME.matcher(n.substring(0, n.length() - 4)).matches(), n);
            }
        }
        try (Stream<Path> files = Files.list(voicesDir.getParent())) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith("x.npz")));
        }
        assertFalse(Files.exists(voicesDir.resolve("../x.npz").normalize()));

        // reserved names and taken ones
        for (String reserved : List.of("alloy", "Shimmer")) {
            var r = cloneRaw(server, nameQuery(reserved), recB);
            assertEquals(409, r.statusCode(), error(r));
            assertOpenAiError(r.body(), "invalid_request_error", "name", "voice_name_reserved");
        }
        assertEquals(201, cloneRaw(server, "name=taken", recB).statusCode());
        var taken = cloneRaw(server, "name=taken", Files.readAllBytes(REC_C));
        assertEquals(409, taken.statusCode());
        assertOpenAiError(taken.body(), "invalid_request_error", "name", "voice_exists");
        assertTrue(error(taken).contains("overwrite=true"), error(taken));
        assertEquals(409, cloneRaw(server, "name=TAKEN", recB).statusCode(), "names differing in case clash");
        var replaced = cloneRaw(server, "name=taken&overwrite=true", Files.readAllBytes(REC_C));
        assertEquals(200, replaced.statusCode(), error(replaced));
        assertTrue(json(replaced.body()).get("replaced").getAsBoolean());
        assertPreset(golden("rec_c"), download(server, "/v1/voices/taken.npz"), "replaced by rec_c");
        var badFlag = cloneRaw(server, "name=other&overwrite=maybe", recB);
        assertEquals(400, badFlag.statusCode());
        assertOpenAiError(badFlag.body(), "invalid_request_error", "overwrite", "invalid_value");
    }

    @Test
    void aBadNameIsRefusedBeforeTheBodyIsRead() throws Exception {
        // a declared megabyte that is never sent: the answer comes anyway
        String answer = rawExchange(server, ("POST /v1/voices?name=..%2Fx HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: audio/wav\r\nContent-Length: 1000000\r\n\r\nRIFF").getBytes(StandardCharsets.US_ASCII),
                Duration.ofSeconds(20));
        assertEquals(400, rawStatus(answer), answer);
        assertTrue(answer.contains("invalid_voice_name"), answer);
    }

    @Test
    void oversizedUploadsGet413WithoutBeingReadWhole() throws Exception {
        // a declared gigabyte: refused at once, after a few bytes
        for (String type : List.of("audio/wav", "multipart/form-data; boundary=xyz")) {
            long start = System.nanoTime();
            String answer = rawExchange(server, ("POST /v1/voices?name=huge HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    + type + "\r\nContent-Length: 1000000000\r\n\r\nRIFF....WAVE").getBytes(StandardCharsets.US_ASCII),
                    Duration.ofSeconds(20));
            assertEquals(413, rawStatus(answer), answer);
            assertOpenAiError(rawBody(answer).getBytes(StandardCharsets.UTF_8), "invalid_request_error", null,
                    "request_too_large");
            assertTrue((System.nanoTime() - start) / 1e9 < 15, "answered without waiting for the body");
        }
        // no declared length (chunked): reading stops at the limit
        for (boolean multipart : new boolean[] {false, true}) {
            String answer = chunkedUpload(multipart, 3 * MAX_UPLOAD);
            assertEquals(413, rawStatus(answer), answer);
            assertTrue(answer.contains("request_too_large"), answer);
        }
        // with a declared length over the limit, through an ordinary client
        var big = cloneMultipart(server, "big", new byte[MAX_UPLOAD + 1]);
        assertEquals(413, big.statusCode());
        assertOpenAiError(big.body(), "invalid_request_error", null, "request_too_large");
        assertEquals(200, get(server, "/healthcheck").statusCode());
    }

    /** Sends {@code bytes} of a body in chunks from another thread and returns the server's answer. */
    private String chunkedUpload(boolean multipart, int bytes) throws Exception {
        try (Socket s = new Socket("127.0.0.1", server.port())) {
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            String type = multipart ? "multipart/form-data; boundary=xyz" : "audio/wav";
            out.write(("POST /v1/voices?name=chunked HTTP/1.1\r\nHost: x\r\nContent-Type: " + type
                    + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                byte[] chunk = new byte[64 * 1024];
                byte[] head = ("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII);
                try {
                    if (multipart) {
                        out.write((Integer.toHexString(head.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(head);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                    for (int sent = 0; sent < bytes; sent += chunk.length) {
                        out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(chunk);
                        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                    }
                    out.flush();
                } catch (IOException closedByServer) {
                    // the server answered and closed the connection: expected
                }
            });
            java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = s.getInputStream().read(buf)) >= 0; ) {
                    answer.write(buf, 0, n);
                }
            } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
                // what came before the server closed or reset the connection
            }
            sender.get(60, TimeUnit.SECONDS);
            return answer.toString(StandardCharsets.US_ASCII);
        }
    }

    @Test
    void recordingsTooLongNotWavTooShortOrSilentGetTheirMessages() throws Exception {
        Random random = new Random(5);
        float[] noise = new float[(int) (8_000 * (MAX_SECONDS + 2))];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) (0.3 * random.nextGaussian());
        }
        var tooLong = cloneRaw(server, "name=long", ServerTestSupport.wav(noise, 8_000));
        assertEquals(400, tooLong.statusCode(), error(tooLong));
        assertOpenAiError(tooLong.body(), "invalid_request_error", "file", "audio_too_long");
        assertTrue(error(tooLong).contains("12.0 s"), error(tooLong));

        byte[] mp3 = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        var notWav = cloneRaw(server, "name=mp3", mp3);
        assertEquals(400, notWav.statusCode(), error(notWav));
        assertOpenAiError(notWav.body(), "invalid_request_error", "file", "invalid_audio");
        assertTrue(error(notWav).contains("WAV"), error(notWav));

        var shortOne = cloneRaw(server, "name=short", ServerTestSupport.wav(java.util.Arrays.copyOf(noise, 4_000),
                8_000));
        assertEquals(400, shortOne.statusCode());
        assertTrue(json(shortOne.body()).getAsJsonObject("error").get("message").getAsString().contains("at least 1 s"),
                error(shortOne));

        var silent = cloneMultipart(server, "silent", ServerTestSupport.wav(new float[16_000], 8_000));
        assertEquals(400, silent.statusCode());
        assertOpenAiError(silent.body(), "invalid_request_error", "file", "invalid_audio");
        assertTrue(error(silent).contains("silent"), error(silent));

        var empty = cloneRaw(server, "name=empty", new byte[0]);
        assertEquals(400, empty.statusCode());
        assertOpenAiError(empty.body(), "invalid_request_error", "file", "invalid_audio");

        var text = postBytes(server, "/v1/voices?name=text", "text/plain", "hello".getBytes(StandardCharsets.UTF_8));
        assertEquals(415, text.statusCode());
        assertOpenAiError(text.body(), "invalid_request_error", null, "unsupported_media_type");

        var noFile = postBytes(server, "/v1/voices", ServerTestSupport.Multipart.of(new Object[] {"name", null, "x"})
                .contentType(), ServerTestSupport.Multipart.of(new Object[] {"name", null, "x"}).body());
        assertEquals(400, noFile.statusCode());
        assertOpenAiError(noFile.body(), "invalid_request_error", "file", "missing_required_parameter");

        var broken = postBytes(server, "/v1/voices?name=broken", "multipart/form-data; boundary=abc",
                "--abc\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nRIFF".getBytes(StandardCharsets.US_ASCII));
        assertEquals(400, broken.statusCode(), error(broken));
        assertOpenAiError(broken.body(), "invalid_request_error", null, "invalid_multipart");

        for (String name : List.of("long", "mp3", "short", "silent", "empty", "text", "broken")) {
            assertFalse(Files.exists(voicesDir.resolve(name + ".npz")), name);
        }
        assertEquals(200, get(server, "/healthcheck").statusCode());
    }

    @Test
    void aFullQueueGets429AndAClientThatLeavesCancelsItsClone() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        cloneHook = () -> {
            entered.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                interrupted.countDown();
                Thread.currentThread().interrupt(); // the library sees it and stops the clone
            }
        };
        byte[] recB = Files.readAllBytes(REC_B);
        double cancelledBefore = metric(get(server, "/metrics").body(), "bark4j_requests_cancelled_total");
        try (Socket leaving = new Socket("127.0.0.1", server.port())) {
            leaving.getOutputStream().write(("POST /v1/voices?name=left HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav"
                    + "\r\nContent-Length: " + recB.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            leaving.getOutputStream().write(recB);
            leaving.getOutputStream().flush();
            assertTrue(entered.await(30, TimeUnit.SECONDS), "the clone started");

            // one clone running, one waiting: a third upload is refused at once
            CompletableFuture<HttpResponse<byte[]>> waiting = CompletableFuture.supplyAsync(() -> {
                try {
                    return cloneRaw(server, "name=waited", recB);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (json(get(server, "/healthcheck").body()).get("clones_pending").getAsInt() < 2) {
                assertTrue(System.nanoTime() < deadline, "the second upload queued");
                Thread.sleep(20);
            }
            var refused = cloneRaw(server, "name=refused", recB);
            assertEquals(429, refused.statusCode(), error(refused));
            assertOpenAiError(refused.body(), "rate_limit_error", null, "clone_queue_full");
            assertTrue(Integer.parseInt(refused.headers().firstValue("Retry-After").orElseThrow()) >= 1);
            assertFalse(waiting.isDone(), "the second upload waits");

            leaving.close(); // the client of the running clone goes away
            assertTrue(interrupted.await(30, TimeUnit.SECONDS), "the running clone was interrupted");
            release.countDown(); // the next clone runs through the hook
            HttpResponse<byte[]> second = waiting.get(60, TimeUnit.SECONDS);
            assertEquals(201, second.statusCode(), "the waiting clone ran: " + error(second));
        } finally {
            release.countDown();
            cloneHook = () -> { };
        }
        assertEquals(404, get(server, "/v1/voices/left").statusCode(), "a cancelled clone registers nothing");
        assertFalse(Files.exists(voicesDir.resolve("left.npz")));
        assertTrue(metric(get(server, "/metrics").body(), "bark4j_requests_cancelled_total") > cancelledBefore);
    }

    @Test
    void clonedVoicesOutliveARestartOnTheSameFolderAndLiveInMemoryWithoutOne(@TempDir Path dir) throws Exception {
        try (SpeechServer first = ServerTestSupport.startCloning(settings(dir))) {
            assertEquals(201, cloneMultipart(first, "keeper", Files.readAllBytes(REC_C)).statusCode());
        }
        assertTrue(Files.isRegularFile(dir.resolve("keeper.npz")));
        try (SpeechServer second = ServerTestSupport.startCloning(settings(dir))) {
            JsonObject list = json(get(second, "/v1/voices").body());
            assertTrue(list.getAsJsonArray("user_voices").toString().contains("\"keeper\""), list.toString());
            assertPreset(golden("rec_c"), download(second, "/v1/voices/keeper.npz"), "after a restart");
            var spoken = post(second, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"Still me.\","
                    + "\"voice\":\"keeper\",\"greedy\":true}");
            assertEquals(200, spoken.statusCode());
            assertEquals(409, cloneRaw(second, "name=keeper", Files.readAllBytes(REC_B)).statusCode());
        }
        try (SpeechServer memoryOnly = ServerTestSupport.startCloning(settings(null))) {
            var made = cloneRaw(memoryOnly, "name=fleeting", Files.readAllBytes(REC_C));
            assertEquals(201, made.statusCode(), error(made));
            assertFalse(json(made.body()).get("persistent").getAsBoolean());
            JsonObject list = json(get(memoryOnly, "/v1/voices").body());
            assertFalse(list.getAsJsonObject("cloning").get("persistent").getAsBoolean());
            assertTrue(list.getAsJsonArray("user_voices").toString().contains("\"fleeting\""));
            assertPreset(golden("rec_c"), download(memoryOnly, "/v1/voices/fleeting.npz"), "in memory");
            assertEquals(200, delete(memoryOnly, "/v1/voices/fleeting").statusCode());
            assertEquals(404, get(memoryOnly, "/v1/voices/fleeting").statusCode());
        }
    }

    @Test
    void downloadsAnswerByNameWithOrWithoutNpzAnd404ForUnknownVoices() throws Exception {
        var missing = get(server, "/v1/voices/nobody.npz");
        assertEquals(404, missing.statusCode());
        assertOpenAiError(missing.body().getBytes(StandardCharsets.UTF_8), "invalid_request_error", null,
                "voice_not_found");
        assertEquals(201, cloneRaw(server, "name=fetched", Files.readAllBytes(REC_B)).statusCode());
        assertPreset(golden("rec_b"), download(server, "/v1/voices/fetched"), "rec_b");
        assertPreset(golden("rec_b"), download(server, "/v1/voices/fetched.npz"), "rec_b as .npz");
    }
}

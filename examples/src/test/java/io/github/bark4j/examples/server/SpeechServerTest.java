package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.get;
import static io.github.bark4j.examples.server.ServerTestSupport.json;
import static io.github.bark4j.examples.server.ServerTestSupport.pcmOfStreamedWav;
import static io.github.bark4j.examples.server.ServerTestSupport.post;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.HttpResponse;
import com.openai.errors.BadRequestException;
import com.openai.models.audio.speech.SpeechCreateParams;
import com.openai.models.audio.speech.SpeechModel;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.ProgressListener;
import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The server on the tiny-bark fixture: the OpenAI SDK, batching, errors, disconnects, metrics. */
class SpeechServerTest {
    /** Lets one test watch or hold the generating thread. */
    private static volatile ProgressListener hook = ProgressListener.NONE;
    private static SpeechServer server;
    private static Synthesizer reference;

    @BeforeAll
    static void start() throws Exception {
        // a wide window, so concurrent requests surely meet in one batch
        server = ServerTestSupport.startReady(ServerTestSupport.settings().withBatching(8, 300, 64)
                .withProgressHook((s, d, t) -> hook.onProgress(s, d, t)));
        reference = ServerTestSupport.loadFixture();
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

    private static GenerationOptions.Builder greedy() {
        return GenerationOptions.builder().greedy().maxSemanticSeconds(0.5);
    }

    private static OpenAIClient sdk() {
        return OpenAIOkHttpClient.builder().baseUrl("http://127.0.0.1:" + server.port() + "/v1").apiKey("not-needed")
                .maxRetries(0).timeout(Duration.ofMinutes(2)).build();
    }

    @Test
    void theOpenAiSdkGetsTheLibrarysAudio() throws Exception {
        String text = "Hello there, this is bark4j.";
        Speech expected = reference.generate(text, greedy()
                .voice(VoicePreset.load(ServerTestSupport.voices().resolve("v2/en_speaker_0.npz"))).build());
        byte[] expectedPcm = AudioFormat.pcm16(expected.samples());
        assertTrue(expectedPcm.length > 0);

        OpenAIClient client = sdk();
        byte[] wav;
        SpeechCreateParams params = SpeechCreateParams.builder().model(SpeechModel.TTS_1).input(text).voice("alloy")
                .responseFormat(SpeechCreateParams.ResponseFormat.WAV)
                .putAdditionalBodyProperty("greedy", JsonValue.from(true)).build();
        try (HttpResponse response = client.audio().speech().create(params)) {
            assertEquals(200, response.statusCode());
            assertEquals("audio/wav", response.headers().values("Content-Type").get(0));
            try (InputStream in = response.body()) {
                wav = in.readAllBytes();
            }
        }
        assertArrayEquals(expectedPcm, pcmOfStreamedWav(wav), "sample for sample");

        // the same request as bare PCM, and buffered with an exact-length header
        SpeechCreateParams pcmParams = params.toBuilder().responseFormat(SpeechCreateParams.ResponseFormat.PCM).build();
        try (HttpResponse response = client.audio().speech().create(pcmParams); InputStream in = response.body()) {
            assertArrayEquals(expectedPcm, in.readAllBytes());
        }
        var buffered = post(server, "/v1/audio/speech", "{\"model\":\"tiny-bark\",\"input\":\"" + text
                + "\",\"voice\":\"v2/en_speaker_0\",\"greedy\":true,\"stream\":false}");
        assertEquals(200, buffered.statusCode());
        assertEquals(String.valueOf(44 + expectedPcm.length), buffered.headers().firstValue("Content-Length").orElseThrow());
        assertArrayEquals(expectedPcm, pcmOfStreamedWav(buffered.body()));
    }

    @Test
    void theSdkSeesOpenAiShapedErrors() {
        SpeechCreateParams params = SpeechCreateParams.builder().model("tts-1").input("Hi.").voice("verse").build();
        BadRequestException e = assertThrows(BadRequestException.class, () -> sdk().audio().speech().create(params));
        assertEquals(400, e.statusCode());
        assertEquals("voice", e.param().orElseThrow());
        assertEquals("voice_not_found", e.code().orElseThrow());
        assertEquals("invalid_request_error", e.type().orElseThrow());
        // OpenAI's default format is mp3, which Bark does not make: the message says what is supported
        SpeechCreateParams mp3 = SpeechCreateParams.builder().model("tts-1").input("Hi.").voice("alloy")
                .responseFormat(SpeechCreateParams.ResponseFormat.MP3).build();
        BadRequestException f = assertThrows(BadRequestException.class, () -> sdk().audio().speech().create(mp3));
        assertTrue(f.getMessage().contains("wav, pcm"), f.getMessage());
    }

    private record Bad(String body, String param, String code) {}

    @Test
    void everyBadRequestGetsItsStatusAndTheServerKeepsServing() throws Exception {
        List<Bad> cases = List.of(
                new Bad("{\"model\":\"tts-1\",\"input\":", null, "invalid_json"),
                new Bad("[1, 2]", null, "invalid_json"),
                new Bad("{\"input\":\"Hi.\"}", "model", "missing_required_parameter"),
                new Bad("{\"model\":\"whisper-1\",\"input\":\"Hi.\"}", "model", "model_not_found"),
                new Bad("{\"model\":\"tts-1\"}", "input", "missing_required_parameter"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"   \"}", "input", "empty_input"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"" + "a".repeat(4097) + "\"}", "input", "input_too_long"),
                new Bad("{\"model\":\"tts-1\",\"input\":5}", "input", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"voice\":\"nobody\"}", "voice", "voice_not_found"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"voice\":[1]}", "voice", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"response_format\":\"flac\"}", "response_format",
                        "unsupported_format"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"speed\":1.5}", "speed", "unsupported_value"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"speed\":\"fast\"}", "speed", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"seed\":\"x\"}", "seed", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"seed\":1.5}", "seed", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"greedy\":\"yes\"}", "greedy", "invalid_type"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"temperature\":0}", "temperature", "invalid_value"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"sed\":1}", "sed", "unknown_parameter"),
                new Bad("{\"model\":\"tts-1\",\"input\":\"Hi.\",\"stream_format\":\"sse\"}", "stream_format",
                        "unsupported_value"));
        for (Bad c : cases) {
            var r = post(server, "/v1/audio/speech", c.body());
            assertEquals(400, r.statusCode(), c.body());
            assertOpenAiError(r.body(), "invalid_request_error", c.param(), c.code());
            assertEquals(200, get(server, "/healthcheck").statusCode());
        }
        var unknownRoute = get(server, "/v1/audio/transcriptions");
        assertEquals(404, unknownRoute.statusCode());
        assertOpenAiError(unknownRoute.body().getBytes(StandardCharsets.UTF_8), "invalid_request_error", null, "not_found");
        var tooBig = post(server, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"" + "a".repeat(100_000) + "\"}");
        assertEquals(413, tooBig.statusCode());
        assertOpenAiError(tooBig.body(), "invalid_request_error", null, "request_too_large");
        assertEquals(200, post(server, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"Still here.\",\"greedy\":true}")
                .statusCode());
    }

    static void assertOpenAiError(byte[] body, String type, String param, String code) {
        String text = new String(body, StandardCharsets.UTF_8);
        JsonObject e = json(body).getAsJsonObject("error");
        assertFalse(e.get("message").getAsString().isBlank(), text);
        assertEquals(type, e.get("type").getAsString(), text);
        assertEquals(param, e.get("param").isJsonNull() ? null : e.get("param").getAsString(), text);
        assertEquals(code, e.get("code").isJsonNull() ? null : e.get("code").getAsString(), text);
        assertFalse(text.contains("Exception") || text.contains("\tat "), "no stack trace: " + text);
    }

    @Test
    void eightConcurrentGreedyRequestsRunAsFewerBatchesWithTheSameAnswers() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            texts.add("Request number " + (i + 1) + " says hello.");
        }
        List<byte[]> singles = new ArrayList<>();
        for (String t : texts) {
            long before = server.batchesRun();
            var r = post(server, "/v1/audio/speech", speechJson(t));
            assertEquals(200, r.statusCode());
            assertEquals(before + 1, server.batchesRun(), "a lone request is a batch of one");
            singles.add(r.body());
        }
        long before = server.batchesRun();
        ExecutorService pool = Executors.newFixedThreadPool(texts.size());
        try {
            CyclicBarrier together = new CyclicBarrier(texts.size());
            List<Future<java.net.http.HttpResponse<byte[]>>> answers = new ArrayList<>();
            for (String t : texts) {
                answers.add(pool.submit(() -> {
                    together.await();
                    return post(server, "/v1/audio/speech", speechJson(t));
                }));
            }
            for (int i = 0; i < texts.size(); i++) {
                var r = answers.get(i).get(3, TimeUnit.MINUTES);
                assertEquals(200, r.statusCode());
                assertArrayEquals(singles.get(i), r.body(), "batched answer equals the single one: " + texts.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
        long batches = server.batchesRun() - before;
        assertTrue(batches < texts.size(), "8 concurrent requests ran as " + batches + " batches");

        // seeded sampling requests share a batch too, each keeping its own seed
        List<String> seeded = List.of(seededJson(texts.get(0), 11), seededJson(texts.get(1), 12),
                seededJson(texts.get(2), 12));
        List<byte[]> alone = new ArrayList<>();
        for (String body : seeded) {
            alone.add(post(server, "/v1/audio/speech", body).body());
        }
        long beforeSeeded = server.batchesRun();
        ExecutorService pool2 = Executors.newFixedThreadPool(seeded.size());
        try {
            CyclicBarrier together = new CyclicBarrier(seeded.size());
            List<Future<java.net.http.HttpResponse<byte[]>>> answers = new ArrayList<>();
            for (String body : seeded) {
                answers.add(pool2.submit(() -> {
                    together.await();
                    return post(server, "/v1/audio/speech", body);
                }));
            }
            for (int i = 0; i < seeded.size(); i++) {
                assertArrayEquals(alone.get(i), answers.get(i).get(3, TimeUnit.MINUTES).body(), seeded.get(i));
            }
        } finally {
            pool2.shutdownNow();
        }
        assertTrue(server.batchesRun() - beforeSeeded < seeded.size(), "seeded requests shared a batch");
        String metrics = get(server, "/metrics").body();
        assertTrue(metrics.contains("bark4j_batch_size_max"), metrics);
    }

    private static String seededJson(String text, long seed) {
        return "{\"model\":\"tts-1\",\"input\":\"" + text + "\",\"seed\":" + seed + ",\"response_format\":\"pcm\"}";
    }

    private static String speechJson(String text) {
        return "{\"model\":\"tts-1\",\"input\":\"" + text + "\",\"greedy\":true,\"response_format\":\"pcm\"}";
    }

    @Test
    void aClientThatLeavesCancelsItsWork() throws Exception {
        CountDownLatch generating = new CountDownLatch(1);
        CountDownLatch clientGone = new CountDownLatch(1);
        AtomicInteger stepsAfterLeaving = new AtomicInteger();
        hook = (stage, done, total) -> {
            if (generating.getCount() > 0) {
                generating.countDown();
                try {
                    clientGone.await(30, TimeUnit.SECONDS);
                    Thread.sleep(300); // let the server notice the closed connection
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            } else {
                stepsAfterLeaving.incrementAndGet();
            }
        };
        try {
            double cancelledBefore = cancelledCount();
            String body = "{\"model\":\"tts-1\",\"input\":\"A request nobody waits for.\",\"greedy\":true}";
            try (Socket s = new Socket("127.0.0.1", server.port())) {
                OutputStream out = s.getOutputStream();
                out.write(("POST /v1/audio/speech HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
                assertTrue(generating.await(60, TimeUnit.SECONDS), "generation started");
            }
            clientGone.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cancelledCount() == cancelledBefore && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(cancelledBefore + 1, cancelledCount(), "the request was cancelled");
            assertTrue(stepsAfterLeaving.get() <= 1, "work stopped at the next step: " + stepsAfterLeaving.get());
        } finally {
            hook = ProgressListener.NONE;
        }
        assertEquals(200, post(server, "/v1/audio/speech", speechJson("Next one.")).statusCode());
    }

    private static double cancelledCount() throws Exception {
        for (String line : get(server, "/metrics").body().split("\n")) {
            if (line.startsWith("bark4j_requests_cancelled_total ")) {
                return Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        throw new AssertionError("no cancelled counter");
    }

    @Test
    void healthModelsVoicesAndMetricsDescribeTheServer() throws Exception {
        JsonObject health = json(get(server, "/healthcheck").body());
        assertEquals("ok", health.get("status").getAsString());
        assertEquals("tiny-bark", health.get("model").getAsString());
        assertEquals("cpu()", health.get("device").getAsString());
        assertEquals("fp64", health.get("precision").getAsString());
        assertEquals(0, health.get("queue_depth").getAsInt());
        JsonObject models = json(get(server, "/v1/models").body());
        assertEquals("list", models.get("object").getAsString());
        assertEquals("tiny-bark", models.getAsJsonArray("data").get(0).getAsJsonObject().get("id").getAsString());
        JsonObject voices = json(get(server, "/v1/voices").body());
        assertTrue(voices.getAsJsonArray("voices").toString().contains("\"en_speaker_6\""), voices.toString());
        assertEquals("v2/en_speaker_6", voices.getAsJsonObject("aliases").get("onyx").getAsString());
        var page = get(server, "/");
        assertEquals(200, page.statusCode());
        assertTrue(page.body().contains("<button id=\"speak\""), "the web page");
        String metrics = get(server, "/metrics").body();
        for (String name : List.of("bark4j_http_requests_total{route=\"/healthcheck\",status=\"200\"}",
                "bark4j_queue_depth", "bark4j_batch_size_count", "bark4j_audio_generated_seconds_total",
                "bark4j_real_time_factor_count", "bark4j_requests_cancelled_total")) {
            assertTrue(metrics.contains(name), name + " in\n" + metrics);
        }
    }

    /** Without cloning models, POST /v1/voices says how to start the server; presets still download. */
    @Test
    void withoutCloningUploadsGet501AndPresetsStillDownload(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        var upload = ServerTestSupport.postBytes(server, "/v1/voices?name=mine", "audio/wav", new byte[64]);
        assertEquals(501, upload.statusCode());
        assertOpenAiError(upload.body(), "invalid_request_error", null, "voice_cloning_disabled");
        assertTrue(new String(upload.body(), StandardCharsets.UTF_8).contains("--voice-cloning"));
        JsonObject voices = json(get(server, "/v1/voices").body());
        assertFalse(voices.getAsJsonObject("cloning").get("enabled").getAsBoolean(), voices.toString());

        var npz = ServerTestSupport.HTTP.send(java.net.http.HttpRequest.newBuilder(ServerTestSupport.uri(server,
                "/v1/voices/onyx.npz")).build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, npz.statusCode());
        assertTrue(npz.headers().firstValue("Content-Disposition").orElseThrow().contains("en_speaker_6.npz"));
        java.nio.file.Path file = tmp.resolve("onyx.npz");
        java.nio.file.Files.write(file, npz.body());
        VoicePreset expected = VoicePreset.load(ServerTestSupport.voices().resolve("v2/en_speaker_6.npz"));
        assertArrayEquals(expected.finePrompt(), VoicePreset.load(file).finePrompt());
        assertArrayEquals(expected.semanticPrompt(), VoicePreset.load(file).semanticPrompt());
    }

}

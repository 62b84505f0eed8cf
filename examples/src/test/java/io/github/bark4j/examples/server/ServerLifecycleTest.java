package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.get;
import static io.github.bark4j.examples.server.ServerTestSupport.post;
import static io.github.bark4j.examples.server.SpeechServerTest.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.Synthesizer;

import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** 503 while loading and while stopping, 429 when the queue is full, and a stop that lets work finish. */
class ServerLifecycleTest {
    private static final String SPEAK = "{\"model\":\"tts-1\",\"input\":\"Hello there.\",\"greedy\":true}";

    @Test
    void loadingThenFullQueueThenGracefulStop() throws Exception {
        CountDownLatch loadNow = new CountDownLatch(1);
        CountDownLatch generating = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ServerSettings settings = ServerTestSupport.settings().withBatching(1, 0, 2).withProgressHook((s, d, t) -> {
            generating.countDown();
            try {
                release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        SpeechServer server = SpeechServer.start(settings, () -> {
            try {
                loadNow.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return ServerTestSupport.loadFixture();
        });
        try {
            // loading: health and speech answer 503 in OpenAI's shape, with Retry-After
            var health = get(server, "/healthcheck");
            assertEquals(503, health.statusCode());
            assertTrue(health.headers().firstValue("Retry-After").isPresent());
            assertOpenAiError(health.body().getBytes(StandardCharsets.UTF_8), "server_error", null, "model_loading");
            var early = post(server, "/v1/audio/speech", SPEAK);
            assertEquals(503, early.statusCode());
            assertOpenAiError(early.body(), "server_error", null, "model_loading");
            loadNow.countDown();
            assertTrue(server.awaitReady(Duration.ofMinutes(2)));
            assertEquals(200, get(server, "/healthcheck").statusCode());

            // one request generating (held by the hook), two waiting: the fourth is refused with 429
            CompletableFuture<HttpResponse<byte[]>> running = async(server);
            assertTrue(generating.await(60, TimeUnit.SECONDS));
            CompletableFuture<HttpResponse<byte[]>> queued1 = async(server);
            CompletableFuture<HttpResponse<byte[]>> queued2 = async(server);
            waitFor(() -> ServerTestSupport.json(get(server, "/healthcheck").body()).get("queue_depth").getAsInt() == 2);
            var refused = post(server, "/v1/audio/speech", SPEAK);
            assertEquals(429, refused.statusCode());
            assertTrue(Integer.parseInt(refused.headers().firstValue("Retry-After").orElseThrow()) >= 1);
            assertOpenAiError(refused.body(), "rate_limit_error", null, "queue_full");

            // stop: new requests get 503 at once, waiting ones 503, the running one finishes
            Thread stopper = new Thread(() -> server.stop(Duration.ofSeconds(30)));
            stopper.start();
            waitFor(() -> post(server, "/v1/audio/speech", SPEAK).statusCode() == 503);
            var stopping = post(server, "/v1/audio/speech", SPEAK);
            assertOpenAiError(stopping.body(), "server_error", null, "shutting_down");
            assertEquals(503, queued1.get(30, TimeUnit.SECONDS).statusCode());
            assertEquals(503, queued2.get(30, TimeUnit.SECONDS).statusCode());
            assertFalse(running.isDone());
            release.countDown();
            var finished = running.get(60, TimeUnit.SECONDS);
            assertEquals(200, finished.statusCode());
            assertTrue(finished.body().length > 44, "the running request got its audio");
            stopper.join(60_000);
            assertFalse(stopper.isAlive(), "stop returned");
        } finally {
            release.countDown();
            loadNow.countDown();
            server.close();
        }
    }

    @Test
    void aModelThatFailsToLoadLeavesA503() throws Exception {
        SpeechServer server = SpeechServer.start(ServerTestSupport.settings(), () -> Synthesizer.builder()
                .modelDir(ServerTestSupport.voices()).build());
        try {
            assertFalse(server.awaitReady(Duration.ofMinutes(1)));
            var health = get(server, "/healthcheck");
            assertEquals(503, health.statusCode());
            assertOpenAiError(health.body().getBytes(StandardCharsets.UTF_8), "server_error", null, "model_unavailable");
        } finally {
            server.close();
        }
    }

    private static CompletableFuture<HttpResponse<byte[]>> async(SpeechServer server) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return post(server, "/v1/audio/speech", SPEAK);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!check.ok()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(20);
        }
    }
}

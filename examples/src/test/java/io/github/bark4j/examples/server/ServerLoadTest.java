package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.pcmOfStreamedWav;
import static io.github.bark4j.examples.server.ServerTestSupport.post;
import static io.github.bark4j.examples.server.SpeechServerTest.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded load test: 200 requests from 16 loopback clients against a small queue. Every request
 * gets audio or a 429 with Retry-After (none is lost or fails otherwise), and resident memory stays
 * flat between a warm-up round and the end.
 */
class ServerLoadTest {
    private static final int CLIENTS = 16;
    private static final int REQUESTS = 200;

    @Test
    void everyRequestGetsAudioOrA429AndMemoryStaysFlat() throws Exception {
        SpeechServer server = ServerTestSupport.startReady(ServerTestSupport.settings().withMaxSeconds(0.25)
                .withBatching(4, 10, 8));
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        try {
            round(server, pool, CLIENTS); // warm-up: JIT, libtorch's allocator, Jetty's buffers
            System.gc();
            long rssBefore = ServerTestSupport.rssKib();
            long start = System.nanoTime();
            int[] outcome = round(server, pool, REQUESTS);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.gc();
            long rssAfter = ServerTestSupport.rssKib();
            System.out.printf("load: %d ok, %d refused (429) in %.1f s; RSS %d -> %d MiB; %d batches in all%n", outcome[0],
                    outcome[1], seconds, rssBefore / 1024, rssAfter / 1024, server.batchesRun());
            assertEquals(REQUESTS, outcome[0] + outcome[1], "every request answered with audio or 429");
            assertTrue(outcome[0] >= 8, "the server kept serving under load: " + outcome[0]);
            assertTrue(rssAfter - rssBefore < 96 * 1024, "RSS grew by " + (rssAfter - rssBefore) / 1024 + " MiB");
            assertEquals(200, ServerTestSupport.get(server, "/healthcheck").statusCode());
        } finally {
            pool.shutdownNow();
            server.close();
        }
    }

    /** Sends {@code total} requests from the clients; returns {ok, refused}; fails on any other answer. */
    private static int[] round(SpeechServer server, ExecutorService pool, int total) throws Exception {
        AtomicInteger left = new AtomicInteger(total);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        List<Future<?>> clients = new ArrayList<>();
        for (int c = 0; c < CLIENTS; c++) {
            int client = c;
            clients.add(pool.submit(() -> {
                while (left.getAndDecrement() > 0) {
                    String body = "{\"model\":\"tts-1\",\"input\":\"Client " + client + " asks for speech.\","
                            + "\"greedy\":true}";
                    var r = post(server, "/v1/audio/speech", body);
                    if (r.statusCode() == 200) {
                        assertTrue(pcmOfStreamedWav(r.body()).length > 0);
                        ok.incrementAndGet();
                    } else {
                        assertEquals(429, r.statusCode(), new String(r.body()));
                        assertTrue(r.headers().firstValue("Retry-After").isPresent());
                        assertOpenAiError(r.body(), "rate_limit_error", null, "queue_full");
                        refused.incrementAndGet();
                        Thread.sleep(250); // a client backs off, as Retry-After asks
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : clients) {
            f.get(5, TimeUnit.MINUTES);
        }
        return new int[] {ok.get(), refused.get()};
    }
}

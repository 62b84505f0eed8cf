package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.pcmOfStreamedWav;
import static io.github.bark4j.examples.server.ServerTestSupport.post;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.ProgressListener;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.Synthesizer;

import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Streaming: a multi-sentence request's first bytes reach the client before its last segment is
 * generated, and the streamed bytes equal the library's {@code generate} and the buffered answer.
 */
class ServerStreamingTest {
    private static final String TEXT = "The first sentence is here. Then comes a second one. And a third one closes it.";
    private static final int SEGMENT_TOKENS = 8;

    /**
     * Holds the generation of the second segment until the client has the first bytes (so a server
     * that did not stream would stall here), and notes when the last segment is done.
     */
    private static final class Probe implements ProgressListener {
        volatile CountDownLatch clientHasBytes = new CountDownLatch(1);
        final AtomicBoolean heldForClient = new AtomicBoolean();
        final AtomicInteger segmentsDone = new AtomicInteger();
        final AtomicInteger segmentsTotal = new AtomicInteger();
        final AtomicInteger stepsAfterHold = new AtomicInteger();
        final AtomicLong lastSegmentAt = new AtomicLong();
        volatile long holdAfterMillis;
        volatile boolean armed;

        void rearm(long holdAfter) {
            clientHasBytes = new CountDownLatch(1);
            heldForClient.set(false);
            segmentsDone.set(0);
            segmentsTotal.set(0);
            stepsAfterHold.set(0);
            holdAfterMillis = holdAfter;
            armed = true;
        }

        @Override
        public void onProgress(Stage stage, int done, int total) {
            if (!armed || segmentsDone.get() != 1) {
                return;
            }
            if (heldForClient.get()) {
                stepsAfterHold.incrementAndGet();
                return;
            }
            try {
                heldForClient.set(clientHasBytes.await(60, TimeUnit.SECONDS));
                Thread.sleep(holdAfterMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void onSegment(int done, int total) {
            if (armed) {
                segmentsDone.set(done);
                segmentsTotal.set(total);
                if (done == total) {
                    lastSegmentAt.set(System.nanoTime());
                }
            }
        }
    }

    private static double cancelledCount(SpeechServer server) throws Exception {
        for (String line : ServerTestSupport.get(server, "/metrics").body().split("\n")) {
            if (line.startsWith("bark4j_requests_cancelled_total ")) {
                return Double.parseDouble(line.substring(line.indexOf(' ') + 1));
            }
        }
        throw new AssertionError("no cancelled counter");
    }

    private static void waitForIdle(SpeechServer server) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (ServerTestSupport.json(ServerTestSupport.get(server, "/healthcheck").body()).get("running").getAsInt() > 0) {
            assertTrue(System.nanoTime() < deadline, "the cancelled stream ended");
            Thread.sleep(50);
        }
    }

    @Test
    void firstBytesArriveBeforeTheLastSegmentAndEqualTheWholeAnswer() throws Exception {
        Probe probe = new Probe();
        byte[] expected;
        try (Synthesizer reference = ServerTestSupport.loadFixture()) {
            Speech speech = reference.generate(TEXT, GenerationOptions.builder().greedy().maxSemanticSeconds(0.3)
                    .maxSegmentTokens(SEGMENT_TOKENS).build());
            assertTrue(speech.segments().size() >= 3, "several segments: " + speech.segments());
            expected = AudioFormat.pcm16(speech.samples());
        }
        SpeechServer server = ServerTestSupport.startReady(ServerTestSupport.settings().withMaxSeconds(0.3).withSegmentTokens(SEGMENT_TOKENS)
                .withProgressHook(probe));
        try {
            probe.rearm(0);
            HttpRequest request = HttpRequest.newBuilder(ServerTestSupport.uri(server, "/v1/audio/speech"))
                    .timeout(Duration.ofMinutes(3)).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"tts-1\",\"input\":\"" + TEXT + "\",\"greedy\":true}")).build();
            HttpResponse<InputStream> response = ServerTestSupport.HTTP.send(request,
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            assertTrue(response.headers().firstValue("Content-Length").isEmpty(), "streamed, not sized");
            byte[] wav;
            long firstBytesAt;
            try (InputStream in = response.body()) {
                byte[] head = in.readNBytes(46);
                firstBytesAt = System.nanoTime();
                probe.clientHasBytes.countDown();
                byte[] rest = in.readAllBytes();
                wav = new byte[head.length + rest.length];
                System.arraycopy(head, 0, wav, 0, head.length);
                System.arraycopy(rest, 0, wav, head.length, rest.length);
            }
            assertTrue(probe.heldForClient.get(), "segment 2 waited for the client's first bytes, and got them");
            assertEquals(probe.segmentsTotal.get(), probe.segmentsDone.get());
            assertTrue(probe.segmentsTotal.get() >= 3);
            assertTrue(firstBytesAt < probe.lastSegmentAt.get(), "first bytes before the last segment was generated");
            assertArrayEquals(expected, pcmOfStreamedWav(wav), "streamed audio equals generate()'s");
            probe.armed = false;

            var buffered = post(server, "/v1/audio/speech", "{\"model\":\"tts-1\",\"input\":\"" + TEXT
                    + "\",\"greedy\":true,\"stream\":false,\"response_format\":\"pcm\"}");
            assertEquals(200, buffered.statusCode());
            assertEquals(String.valueOf(expected.length), buffered.headers().firstValue("Content-Length").orElseThrow());
            assertArrayEquals(expected, buffered.body(), "the buffered answer has the same bytes");

            // a client that leaves after the first bytes: the rest of its segments are never generated
            probe.rearm(500);
            double cancelledBefore = cancelledCount(server);
            HttpResponse<InputStream> leaving = ServerTestSupport.HTTP.send(request,
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = leaving.body()) {
                assertEquals(46, in.readNBytes(46).length);
            } // closing the body before its end closes the connection
            probe.clientHasBytes.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (cancelledCount(server) == cancelledBefore && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(cancelledBefore + 1, cancelledCount(server), "the server saw the client leave");
            waitForIdle(server);
            assertEquals(1, probe.segmentsDone.get(), "no segment after the first was finished");
            assertTrue(probe.stepsAfterHold.get() <= 1, "stopped within a step: " + probe.stepsAfterHold.get());
            probe.armed = false;
        } finally {
            server.close();
        }
    }
}

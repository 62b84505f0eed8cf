package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One {@link Synthesizer} shared by 8 threads: every call (single texts and batches, greedy and
 * seeded, no voice and two different voices) gives exactly what the same call gives alone, token for
 * token and sample for sample. And {@link Synthesizer#close()} with calls in flight returns within its
 * bound, the calls end in {@link SynthesizerClosedException} (or finish), later calls are refused.
 */
class ConcurrentCallersTest {
    static final int THREADS = 8;

    record Call(List<String> texts, GenerationOptions options) {}

    static List<Call> calls() {
        VoicePreset en = VoicePreset.load(SharedFiles.voice("v2/en_speaker_6"));
        VoicePreset de = VoicePreset.load(SharedFiles.voice("v2/de_speaker_1"));
        String[] texts = {"Hello world.", "A second, somewhat longer sentence to speak.", "Numbers: one two three.",
                "Short.", "Wie geht es dir heute?"};
        VoicePreset[] voices = {null, en, de};
        List<Call> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            GenerationOptions.Builder b = GenerationOptions.builder().maxSemanticSeconds(0.2 + 0.1 * (i % 2));
            if (i % 2 == 0) {
                b.greedy();
            } else {
                b.seed(1000 + i);
            }
            VoicePreset v = voices[i % voices.length];
            if (v != null) {
                b.voice(v);
            }
            List<String> t = i % 4 == 3 ? List.of(texts[i % texts.length], texts[(i + 1) % texts.length])
                    : List.of(texts[i % texts.length]);
            calls.add(new Call(t, b.build()));
        }
        return calls;
    }

    @Test
    void eightThreadsGetTheSerialResults() throws Exception {
        List<Call> calls = calls();
        try (Synthesizer s = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build()) {
            List<List<Speech>> serial = new ArrayList<>();
            for (Call c : calls) {
                serial.add(s.generate(c.texts(), c.options()));
            }
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                CyclicBarrier start = new CyclicBarrier(THREADS);
                List<Future<List<List<Speech>>>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        List<List<Speech>> mine = new ArrayList<>();
                        // each thread walks the calls from its own offset, so different calls overlap
                        for (int k = 0; k < calls.size() / THREADS; k++) {
                            Call c = calls.get((thread + k * THREADS) % calls.size());
                            mine.add(s.generate(c.texts(), c.options()));
                        }
                        return mine;
                    }));
                }
                for (int t = 0; t < THREADS; t++) {
                    List<List<Speech>> mine = futures.get(t).get(300, TimeUnit.SECONDS);
                    for (int k = 0; k < mine.size(); k++) {
                        int index = (t + k * THREADS) % calls.size();
                        assertSame(serial.get(index), mine.get(k), "call " + index + " on thread " + t);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    private static void assertSame(List<Speech> expected, List<Speech> actual, String what) {
        assertEquals(expected.size(), actual.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            Speech e = expected.get(i);
            Speech a = actual.get(i);
            assertArrayEquals(e.semanticTokens(), a.semanticTokens(), what + " row " + i + " semantic");
            assertArrayEquals(e.coarseTokens(), a.coarseTokens(), what + " row " + i + " coarse");
            assertArrayEquals(e.fineTokens(), a.fineTokens(), what + " row " + i + " fine");
            assertArrayEquals(e.samples(), a.samples(), what + " row " + i + " samples");
        }
    }

    @Test
    void closeStopsCallsInFlightWithinItsBound() throws Exception {
        Synthesizer s = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build();
        CountDownLatch running = new CountDownLatch(4);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Speech>> futures = new ArrayList<>();
        try {
            for (int t = 0; t < 4; t++) {
                long seed = t;
                futures.add(pool.submit(() -> {
                    boolean[] counted = {false};
                    // long runs (600 semantic tokens, EOS never wins), so they are surely in flight at close()
                    GenerationOptions o = GenerationOptions.builder().seed(seed).fixedSemanticTokens(600)
                            .progress((stage, done, total) -> {
                                if (!counted[0]) {
                                    counted[0] = true;
                                    running.countDown();
                                }
                            }).build();
                    return s.generate("A long text to keep the synthesizer busy for a while, on purpose.", o);
                }));
            }
            assertTrue(running.await(120, TimeUnit.SECONDS), "calls did not start");
            long start = System.nanoTime();
            s.close();
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < Synthesizer.CLOSE_WAIT_SECONDS, "close took " + seconds + " s");
            int closedCalls = 0;
            for (Future<Speech> f : futures) {
                try {
                    f.get(Synthesizer.CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof SynthesizerClosedException)) {
                        fail("a call in flight ended in " + e.getCause(), e.getCause());
                    }
                    closedCalls++;
                }
            }
            assertTrue(closedCalls > 0, "no call was in flight at close()");
            SynthesizerClosedException after = assertThrows(SynthesizerClosedException.class,
                    () -> s.generate("Hello.", GenerationOptions.builder().greedy().build()));
            assertTrue(after.getMessage().contains("closed"), after.getMessage());
            s.close(); // idempotent
        } finally {
            pool.shutdownNow();
        }
    }
}

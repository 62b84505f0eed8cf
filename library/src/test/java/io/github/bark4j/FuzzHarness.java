package io.github.bark4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one fuzz target over many mutation scripts and holds it to the contract: every input ends,
 * within a time bound, in a {@link BarkException} subtype or a normal return; never in another
 * exception, an {@link Error} (out of memory, stack overflow) or a hang; and reading it allocates no
 * more Java heap than a small multiple of the input's size (declared sizes must not drive allocation).
 *
 * <p>Each failing script is saved under {@code target/fuzz-failures/<format>/} and replays with
 * {@code -Dbark4j.fuzz.replay=<that file>}; {@code -Dbark4j.fuzz.runs} and {@code -Dbark4j.fuzz.seed}
 * change the number of inputs and the random source. Outcome counts go to
 * {@code target/fuzz/<format>.txt}.
 */
final class FuzzHarness {
    /** What one input did; {@code size} is the input's byte size for the allocation bound. */
    interface Target {
        long run(byte[] script) throws Exception;
    }

    static final int RUNS = Integer.getInteger("bark4j.fuzz.runs", 1000);
    static final long TIME_BOUND_SECONDS = 20;
    /** Heap a reader may allocate per input: this many times the input's size, plus a constant. */
    static final long ALLOC_FACTOR = 12;
    static final long ALLOC_SLACK = 32L << 20;

    private FuzzHarness() {}

    /** Runs {@code target} on {@link #RUNS} random scripts (or the replayed one) and fails on a violation. */
    static Map<String, Integer> run(String format, long seed, Target target) throws Exception {
        String replay = System.getProperty("bark4j.fuzz.replay");
        List<byte[]> scripts = new ArrayList<>();
        if (replay != null) {
            if (!replay.contains("/" + format + "/")) {
                return Map.of();
            }
            scripts.add(Files.readAllBytes(Path.of(replay)));
        } else {
            Random random = new Random(Long.getLong("bark4j.fuzz.seed", seed));
            for (int i = 0; i < RUNS; i++) {
                byte[] s = new byte[16 + random.nextInt(48)];
                random.nextBytes(s);
                scripts.add(s);
            }
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Thread[] worker = new Thread[1];
        ExecutorService pool = Executors.newSingleThreadExecutor(r -> worker[0] = new Thread(r, "fuzz-" + format));
        Map<String, Integer> outcomes = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        try {
            for (int i = 0; i < scripts.size(); i++) {
                byte[] script = scripts.get(i);
                Future<String> f = pool.submit(() -> {
                    long id = Thread.currentThread().getId();
                    long before = threads.getThreadAllocatedBytes(id);
                    String outcome;
                    long size;
                    try {
                        size = target.run(script);
                        outcome = "loaded";
                    } catch (BarkException e) {
                        outcome = e.getClass().getSimpleName();
                        size = -1;
                    } catch (Throwable t) {
                        return "VIOLATION " + t;
                    }
                    long allocated = threads.getThreadAllocatedBytes(id) - before;
                    if (size >= 0 && allocated > ALLOC_FACTOR * size + ALLOC_SLACK) {
                        return "VIOLATION allocated " + allocated + " bytes for an input of " + size;
                    }
                    return outcome;
                });
                String outcome;
                try {
                    outcome = f.get(TIME_BOUND_SECONDS, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    outcome = "VIOLATION no result within " + TIME_BOUND_SECONDS + " s";
                } catch (ExecutionException e) {
                    outcome = "VIOLATION " + e.getCause();
                }
                if (outcome.startsWith("VIOLATION")) {
                    Path saved = save(format, i, script);
                    failures.add(outcome + " (replay: -Dbark4j.fuzz.replay=" + saved + ")");
                    outcomes.merge("violation", 1, Integer::sum);
                    if (outcome.contains("within")) {
                        break; // the worker is stuck
                    }
                } else {
                    outcomes.merge(outcome, 1, Integer::sum);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        String summary = format + ": " + scripts.size() + " inputs " + outcomes;
        System.out.println("FUZZ " + summary);
        write(Path.of("target", "fuzz", format + ".txt"), summary + "\n" + String.join("\n", failures) + "\n");
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " " + format + " input(s) broke the contract:\n"
                    + String.join("\n", failures.subList(0, Math.min(10, failures.size()))));
        }
        return outcomes;
    }

    private static Path save(String format, int index, byte[] script) {
        Path p = Path.of("target", "fuzz-failures", format, index + ".script").toAbsolutePath();
        try {
            Files.createDirectories(p.getParent());
            Files.write(p, script);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private static void write(Path p, String text) {
        try {
            Files.createDirectories(p.getParent());
            Files.writeString(p, text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

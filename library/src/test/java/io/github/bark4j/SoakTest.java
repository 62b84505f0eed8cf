package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Many generations in one JVM on one {@link Synthesizer} (greedy and seeded, with and without a voice,
 * single texts and batches, and every tenth call failing: a blank text or a voice that does not fit):
 * after a warm-up, resident memory (VmRSS of /proc/self/status, which includes libtorch's CPU
 * allocations) and the Java heap after a full GC stay within 5% of their post-warm-up level, and the
 * model's manager holds only its weights. 100 generations by default; the long version is
 * {@code -Dbark4j.soak.generations=1000} (see the README), and every run writes its samples to
 * {@code target/soak/soak-<n>.csv}.
 *
 * <p>libtorch's own allocator statistics are readable only for CUDA devices; on the CPU its memory is
 * part of the process's resident set, which is what is measured here.
 */
class SoakTest {
    static final int GENERATIONS = Integer.getInteger("bark4j.soak.generations", 100);
    static final double MAX_DRIFT = 0.05;
    /** Below this the heap's GC-to-GC jitter is larger than 5% of it; absolute slack in bytes. */
    static final long HEAP_FLOOR = 2L << 20;

    @Test
    void memoryStaysFlat() throws IOException {
        int warmup = Math.max(20, GENERATIONS / 5);
        VoicePreset voice = VoicePreset.load(SharedFiles.voice("v2/en_speaker_6"));
        VoicePreset misfit = VoicePreset.of(new int[] {1, 2, 3}, new int[2][40], new int[3][40]);
        String[] texts = {"Hello world.", "Soak test, generation after generation.", "Short one.",
                "Numbers like 42 and 7 are spoken too."};
        List<long[]> samples = new ArrayList<>(); // generation, rss, heap
        int failures = 0;
        try (Synthesizer s = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build()) {
            int weights = s.model().manager().getManagedArrays().size();
            for (int i = 0; i < GENERATIONS; i++) {
                GenerationOptions.Builder b = GenerationOptions.builder().maxSemanticSeconds(0.2 + 0.1 * (i % 3));
                if (i % 2 == 0) {
                    b.greedy();
                } else {
                    b.seed(i);
                }
                if (i % 3 == 1) {
                    b.voice(voice);
                }
                try {
                    if (i % 10 == 9) {
                        failures++;
                        if (i % 20 == 9) {
                            s.generate(" \t ", b.build());
                        } else {
                            s.generate(texts[i % texts.length], b.voice(misfit).build());
                        }
                        throw new AssertionError("call " + i + " should have failed");
                    } else if (i % 5 == 2) {
                        assertEquals(2, s.generate(List.of(texts[i % 4], texts[(i + 1) % 4]), b.build()).size());
                    } else {
                        s.generate(texts[i % texts.length], b.build());
                    }
                } catch (InvalidInputException | InvalidVoiceException expected) {
                    // the failing calls: they must leave nothing behind either
                }
                if (i + 1 >= warmup && ((i + 1 - warmup) % Math.max(1, GENERATIONS / 20) == 0 || i + 1 == GENERATIONS)) {
                    samples.add(new long[] {i + 1, rss(), heapAfterGc()});
                }
            }
            assertEquals(weights, s.model().manager().getManagedArrays().size(), "arrays left on the model");
        }
        StringBuilder csv = new StringBuilder("generation,rss_bytes,heap_after_gc_bytes\n");
        for (long[] r : samples) {
            csv.append(r[0]).append(',').append(r[1]).append(',').append(r[2]).append('\n');
        }
        long[] first = samples.get(0);
        long[] last = samples.get(samples.size() - 1);
        double rssDrift = (double) (last[1] - first[1]) / first[1];
        double heapDrift = (double) (last[2] - first[2]) / first[2];
        int half = samples.size() / 2;
        double peakDrift = (double) max(samples.subList(half, samples.size()), 1) / max(samples.subList(0, half), 1) - 1;
        String summary = String.format("%d generations (%d failing on purpose), warm-up %d: RSS %.1f -> %.1f MB"
                + " (%+.2f%%; peak of the second half vs the first %+.2f%%), heap after GC %.1f -> %.1f MB (%+.2f%%)",
                GENERATIONS, failures, warmup, first[1] / 1e6, last[1] / 1e6, 100 * rssDrift, 100 * peakDrift,
                first[2] / 1e6, last[2] / 1e6, 100 * heapDrift);
        csv.append("# ").append(summary).append('\n');
        Path out = Path.of("target", "soak", "soak-" + GENERATIONS + ".csv");
        Files.createDirectories(out.getParent());
        Files.writeString(out, csv);
        System.out.println("SOAK " + summary);
        // RSS moves by +-15% from sample to sample as malloc keeps and returns arenas, so growth is judged
        // on peaks: the peak of the second half of the samples against the peak of the first half
        List<long[]> early = samples.subList(0, samples.size() / 2);
        List<long[]> late = samples.subList(samples.size() / 2, samples.size());
        assertTrue(first[1] < 0 || max(late, 1) <= max(early, 1) * (1 + MAX_DRIFT), "RSS grew: " + summary + "\n" + csv);
        assertTrue(max(late, 2) <= max(early, 2) * (1 + MAX_DRIFT) + HEAP_FLOOR, "heap grew: " + summary + "\n" + csv);
    }

    private static long max(List<long[]> samples, int column) {
        return samples.stream().mapToLong(r -> r[column]).max().orElseThrow();
    }

    /** Resident set size from /proc/self/status (VmRSS, in kB there), or -1 where it is unreadable. */
    static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.trim().split("\\s+");
                    return Long.parseLong(parts[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    static long heapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

}

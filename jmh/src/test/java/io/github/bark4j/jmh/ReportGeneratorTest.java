package io.github.bark4j.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Renders a small hand-written JMH result file and checks the rows and the relative columns. */
class ReportGeneratorTest {

    /** One JMH JSON entry, trimmed to the fields the report reads. */
    private static String entry(String benchmark, String params, double score, String unit, String secondary) {
        return "{\"benchmark\": \"io.github.bark4j.jmh." + benchmark + "\", \"params\": {" + params + "},"
                + " \"primaryMetric\": {\"score\": " + score + ", \"scoreError\": \"NaN\", \"scoreUnit\": \"" + unit
                + "\", \"rawData\": [[" + score + "]]}, \"secondaryMetrics\": {" + secondary + "}}";
    }

    private static String model(String precision, String attention, String offload) {
        return "\"model\": \"bark-small\", \"precision\": \"" + precision + "\", \"attention\": \"" + attention
                + "\", \"offload\": \"" + offload + "\", \"threads\": \"2\", \"device\": \"\"";
    }

    private static String rss(double mb) {
        return "\"peak-rss\": {\"score\": " + mb + ", \"scoreUnit\": \"MB\"}, \"load-1m\": {\"score\": 2.0}";
    }

    @Test
    void tablesHaveOneRowPerConfigurationAndDeltasAgainstTheBaseline(@TempDir Path dir) throws IOException {
        String base = model("FP32", "EAGER", "NONE");
        String sdpa = model("FP32", "SDPA", "NONE");
        String json = "[" + String.join(",\n", List.of(
                entry("StageBenchmark.semantic", base, 40, "ms/op", rss(3000)),
                entry("StageBenchmark.semantic", sdpa, 30, "ms/op", rss(3000)),
                entry("EndToEndBenchmark.generate", base + ", \"batch\": \"1\"", 20000, "ms/op", rss(4000)),
                entry("EndToEndBenchmark.generate", sdpa + ", \"batch\": \"4\"", 40, "s/op", rss(5000)),
                entry("EndToEndBenchmark.generate", model("FP32", "EAGER", "PER_STAGE") + ", \"batch\": \"1\"", 25000,
                        "ms/op", rss(3000)),
                entry("KernelBenchmark.attention",
                        "\"shape\": \"decode-257\", \"kernel\": \"EAGER\", \"precision\": \"FP32\"", 100, "us/op", ""),
                entry("KernelBenchmark.attention",
                        "\"shape\": \"decode-257\", \"kernel\": \"SDPA\", \"precision\": \"FP32\"", 50, "us/op", ""),
                entry("KernelBenchmark.convTranspose", "\"layer\": \"64-32-k4-s2-t12000\", \"impl\": \"NATIVE\"", 100,
                        "us/op", ""),
                entry("KernelBenchmark.convTranspose", "\"layer\": \"64-32-k4-s2-t12000\", \"impl\": \"MATMUL\"", 0.3,
                        "ms/op", ""))) + "]";
        Path file = dir.resolve("r.json");
        Files.writeString(file, json);

        String md = ReportGenerator.render(ReportGenerator.read(file), "t", null);
        List<String> lines = md.lines().toList();

        // end to end: the baseline row has no deltas; batch 4 in 40 s makes 3.2 audio s → 0.080/s, twice the base 0.040/s
        assertTrue(lines.contains("| bark-small, FP32, EAGER, no offload, 2 threads *(base)* | 1 | 20.00 |  | 25.0 | 4000"
                + " |  | 0.040 |  | 2.0 |"), md);
        assertTrue(lines.contains("| bark-small, FP32, SDPA, no offload, 2 threads | 4 | 40.00 | +100% | 50.0 | 5000"
                + " | +25% | 0.080 | +100% | 2.0 |"), md);
        assertTrue(lines.contains("| bark-small, FP32, EAGER, offload per stage, 2 threads | 1 | 25.00 | +25% | 31.3"
                + " | 3000 | −25% | 0.032 | −20% | 2.0 |"), md);
        // per stage: only configurations with stage results, SDPA 25% faster than the base
        assertTrue(lines.contains("| bark-small, FP32, EAGER, no offload, 2 threads *(base)* | 40.0 |  | – |  | – |  | – |"
                + "  | 3000 | 2.0 |"), md);
        assertTrue(lines.contains("| bark-small, FP32, SDPA, no offload, 2 threads | 30.0 | −25% | – |  | – |  | – |"
                + "  | 3000 | 2.0 |"), md);
        assertFalse(md.contains("offload per stage, 2 threads | –"), "no stage row for an end-to-end-only configuration");
        // kernels: side by side in µs whatever unit JMH wrote, with the slow / fast ratio
        assertTrue(lines.contains("| decode step (causal), Tq=1, Tk=257 | FP32 | 100 | 50 | 2.00× |"), md);
        assertTrue(lines.contains("| 64→32, k4 s2, T=12000 | 300 | 100 | 3.00× |"), md);
        assertFalse(md.contains("all 1 layers"), md);
        // the kernel results are not configuration rows
        assertEquals(2, lines.stream().filter(l -> l.startsWith("| bark-small, FP32, SDPA")).count(), md);
    }

    @Test
    void longWorkloadRowsCarryTheirStageTimesAndTheSpeedUpOverTheJavaRow(@TempDir Path dir) throws IOException {
        String stages = "\"semantic-ms-per-token\": {\"score\": 40.5}, \"coarse-ms-per-token\": {\"score\": 58.0},"
                + " \"fine-s\": {\"score\": 18.4}, \"codec-s\": {\"score\": 3.0}, ";
        String json = "[" + String.join(",\n", List.of(
                entry("LongWorkloadBenchmark.generate", model("FP32", "SDPA", "NONE") + ", \"step\": \"JAVA\"", 180,
                        "s/op", stages + rss(3600)),
                entry("LongWorkloadBenchmark.generate", model("FP32", "SDPA", "NONE") + ", \"step\": \"NATIVE\"",
                        90000, "ms/op", stages + rss(3000)))) + "]";
        Path file = dir.resolve("long.json");
        Files.writeString(file, json);
        String md = ReportGenerator.render(ReportGenerator.read(file), "t", null);
        List<String> lines = md.lines().toList();
        assertTrue(lines.contains("| bark-small, FP32, SDPA, no offload, 2 threads, step JAVA *(base)* | 40.5 | 58.0 | 18.4"
                + " | 3.0 | 180.0 | 11.70 |  | 3600 | 2.0 |"), md);
        assertTrue(lines.contains("| bark-small, FP32, SDPA, no offload, 2 threads, step NATIVE | 40.5 | 58.0 | 18.4"
                + " | 3.0 | 90.0 | 5.85 | 2.00× faster | 3000 | 2.0 |"), md);
        assertFalse(md.contains("## End to end"), "the long workload is not a row of the short tables");
    }

    @Test
    void cloningRowsCarryTheirPartsCpuAndAddedMemory(@TempDir Path dir) throws IOException {
        String parts = "\"resample-ms\": {\"score\": 31.0}, \"codec-encoder-ms\": {\"score\": 412.4},"
                + " \"hubert-ms\": {\"score\": 655.5}, \"quantizer-ms\": {\"score\": 380.0},"
                + " \"other-ms\": {\"score\": 12.0}, \"cpu-s\": {\"score\": 2.391},"
                + " \"added-peak-rss\": {\"score\": 14.2}, ";
        String json = "[" + String.join(",\n", List.of(
                entry("CloningBenchmark.cloneVoice", "\"precision\": \"FP32\", \"threads\": \"2\"", 1491, "ms/op",
                        parts + rss(2490)),
                entry("CloningBenchmark.cloneVoice", "\"precision\": \"FP64\", \"threads\": \"1\"", 4.2, "s/op",
                        parts + rss(2700)))) + "]";
        Path file = dir.resolve("clone.json");
        Files.writeString(file, json);
        String md = ReportGenerator.render(ReportGenerator.read(file), "t", null);
        List<String> lines = md.lines().toList();
        assertTrue(lines.contains("## Voice cloning"), md);
        assertTrue(lines.contains("| FP32, 2 threads | 1.49 | 31 | 412 | 656 | 380 | 12 | 2.39 | 14 | 2490 | 2.0 |"), md);
        assertTrue(lines.contains("| FP64, 1 thread | 4.20 | 31 | 412 | 656 | 380 | 12 | 2.39 | 14 | 2700 | 2.0 |"), md);
        assertFalse(md.contains("## End to end"), "cloning is not a row of the generation tables");
    }

    @Test
    void resultsWrittenBeforeTheBenchmarksMovedKeepTheirRows() {
        assertEquals(Matrix.LONG, ReportGenerator.currentName("io.github.bark4j.LongWorkloadBenchmark.generate"));
        assertEquals(Matrix.STAGES + "fine", ReportGenerator.currentName("io.github.bark4j.StageBenchmark.fine"));
        assertEquals(Matrix.E2E, ReportGenerator.currentName(Matrix.E2E));
    }
}

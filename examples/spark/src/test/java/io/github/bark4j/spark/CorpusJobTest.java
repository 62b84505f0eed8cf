package io.github.bark4j.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.Speech;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The Spark job in local mode on the tiny-bark fixture: 30 rows with bad ones among them, output equal
 * to direct {@link Synthesizer#generate} calls, a killed run resumed, one model per JVM, the Parquet
 * formats, and a broken model failing before Spark starts. In FP64, where a batched row is bit for bit
 * the single call whatever its batch (in FP32 a near-tie can round the other way in a batch).
 */
class CorpusJobTest {
    private static final double MAX_SECONDS = 0.2;
    private static final String VOICE = shared().resolve("voices/v2/en_speaker_6.npz").toString();

    private static SparkSession spark;
    private static Synthesizer direct;
    /** id → the WAV a direct call gives, for the rows of {@link #corpus()} that should be spoken. */
    private static Map<String, byte[]> expected;

    @TempDir
    static Path tmp;

    static Path shared() {
        return Path.of(System.getProperty("bark4j.shared", "../../../shared"));
    }

    static Path fixture() {
        return shared().resolve("fixtures/tiny-bark");
    }

    @BeforeAll
    static void start() {
        spark = SparkSession.builder().master("local[2]").appName("bark4j-spark test")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4").getOrCreate();
        direct = Synthesizer.builder().modelDir(fixture()).precision(Precision.FP64).build();
    }

    @AfterAll
    static void stop() {
        spark.stop();
        direct.close();
        ExecutorSynthesizer.closeAll();
    }

    /** One input row; null fields are left empty. */
    record In(String id, String text, String voice, String seed) {}

    /**
     * 30 rows: 24 good ones (some with a seed, some with a voice file, an id that is not a file name,
     * a text with a comma, quotes and a line break), then an empty and a blank text, an unknown voice,
     * a seed that is no number, and two more rows with an id already used (row 0's).
     */
    static List<In> corpus() {
        String[] words = {"Hello world.", "The cat sat on the mat.", "Music is good.", "How are you today?",
            "This is a test.", "Speech from text."};
        List<In> rows = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            String id = i == 5 ? "book 1/chapter \"2\"" : String.format("utt-%03d", i);
            String text = i == 7 ? "Hello, \"world\",\nthis is a test." : words[i % words.length] + " Number " + i;
            String voice = i % 5 == 3 ? VOICE : null;
            String seed = i % 3 == 0 ? Long.toString(1000 + i) : null;
            rows.add(new In(id, text, voice, seed));
        }
        rows.add(new In("empty", "", null, null));
        rows.add(new In("blank", "   ", null, null));
        rows.add(new In("unknown-voice", "Hello world.", "v2/no_such_speaker", null));
        rows.add(new In("bad-seed", "Hello world.", null, "many"));
        rows.add(new In("utt-000", "A different text under a used id.", null, null));
        rows.add(new In("utt-000", "Hello world. Number 0", null, "1000"));
        return rows;
    }

    static Path writeCsv(Path file, List<In> rows) throws IOException {
        StringBuilder sb = new StringBuilder("id,text,voice,seed\n");
        for (In r : rows) {
            sb.append(csv(r.id())).append(',').append(csv(r.text())).append(',').append(csv(r.voice())).append(',')
                    .append(r.seed() == null ? "" : r.seed()).append('\n');
        }
        return Files.writeString(file, sb.toString());
    }

    private static String csv(String s) {
        return s == null ? "" : "\"" + s.replace("\"", "\"\"") + "\"";
    }

    static Path writeJsonLines(Path file, List<In> rows) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (In r : rows) {
            sb.append("{\"id\":").append(json(r.id())).append(",\"text\":").append(json(r.text()));
            if (r.voice() != null) {
                sb.append(",\"voice\":").append(json(r.voice()));
            }
            if (r.seed() != null) {
                sb.append(",\"seed\":").append(r.seed());
            }
            sb.append("}\n");
        }
        return Files.writeString(file, sb.toString());
    }

    private static String json(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    static long seedOf(In r) {
        return r.seed() != null ? Long.parseLong(r.seed()) : RowSeeds.fromId(r.id());
    }

    /** What a direct call gives for the good rows (computed once, shared by the tests). */
    static synchronized Map<String, byte[]> expected() throws IOException {
        if (expected == null) {
            Map<String, byte[]> m = new HashMap<>();
            List<In> rows = corpus();
            for (In r : rows.subList(0, 24)) {
                GenerationOptions.Builder o = GenerationOptions.builder().seed(seedOf(r)).maxSemanticSeconds(MAX_SECONDS);
                if (r.voice() != null) {
                    o.voice(VoicePreset.load(Path.of(r.voice())));
                }
                Speech s = direct.generate(r.text(), o.build());
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                s.writeWav(b);
                m.put(r.id(), b.toByteArray());
            }
            expected = m;
        }
        return expected;
    }

    static CorpusJob.Summary runJob(String... args) {
        return CorpusJob.run(spark, JobOptions.parse(args));
    }

    static String[] args(Path input, Path output, String... more) {
        List<String> a = new ArrayList<>(List.of("--input", input.toString(), "--output", output.toString(),
                "--model-dir", fixture().toString(), "--max-seconds", Double.toString(MAX_SECONDS), "--precision",
                "fp64"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** The manifest by input row number. */
    static Map<Long, Row> manifest(Path output) {
        Map<Long, Row> m = new TreeMap<>();
        for (Row r : spark.read().parquet(output.resolve("manifest").toString()).collectAsList()) {
            m.put(r.getLong(r.fieldIndex("row")), r);
        }
        return m;
    }

    /** Checks every manifest row against the corpus and the direct calls; returns the WAV bytes by id. */
    static Map<String, byte[]> assertMatchesCorpus(Path output, boolean audioInParquet) throws IOException {
        return assertMatches(output, corpus(), audioInParquet);
    }

    /** As {@link #assertMatchesCorpus} for an input of some of the corpus rows (the good ones first). */
    static Map<String, byte[]> assertMatches(Path output, List<In> rows, boolean audioInParquet) throws IOException {
        Map<Long, Row> m = manifest(output);
        assertEquals(rows.size(), m.size(), "a manifest row for each input row");
        Map<String, byte[]> wavs = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            In in = rows.get(i);
            Row r = m.get((long) i);
            assertNotNull(r, "row " + i);
            assertEquals(in.id(), r.getAs("id"));
            String status = r.getAs("status");
            String error = r.getAs("error");
            boolean firstOfItsId = rows.stream().map(In::id).toList().indexOf(in.id()) == i;
            if (expected().containsKey(in.id()) && firstOfItsId) {
                assertEquals("ok", status, "row " + i + ": " + error);
                assertNull(error);
                byte[] wav;
                if (audioInParquet) {
                    assertNull(r.getAs("path"));
                    wav = r.getAs("audio");
                } else {
                    String path = r.getAs("path");
                    assertEquals("audio/" + OutputLayout.key(in.id()) + ".wav", path);
                    wav = Files.readAllBytes(output.resolve(path));
                }
                assertArrayEquals(expected().get(in.id()), wav, "row " + i + " equals a direct call with its seed");
                assertEquals(seedOf(in), (long) r.getAs("seed"));
                assertEquals(24_000, (int) r.getAs("sample_rate"));
                assertEquals((wav.length - 44) / 2 / 24_000.0, (double) r.getAs("duration_s"), 1e-9);
                assertTrue((int) r.getAs("semantic_tokens") > 0);
                assertTrue((double) r.getAs("elapsed_s") > 0);
                wavs.put(in.id(), wav);
            } else {
                assertEquals("failed", status, "row " + i);
                assertNull(r.getAs("path"));
                String want = switch (in.id()) {
                    case "empty", "blank" -> "text is empty";
                    case "unknown-voice" -> "no_such_speaker";
                    case "bad-seed" -> "seed 'many' is not a 64-bit integer";
                    default -> "duplicate id: row " + rows.stream().map(In::id).toList().indexOf(in.id())
                            + " has the same id";
                };
                assertTrue(error != null && error.contains(want), "row " + i + ": '" + error + "' should say " + want);
            }
        }
        return wavs;
    }

    static long countFiles(Path dir, String glob) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (var s = Files.newDirectoryStream(dir, glob)) {
            long n = 0;
            for (Path ignored : s) {
                n++;
            }
            return n;
        }
    }

    @Test
    void thirtyRowsFromCsvMatchDirectCallsAndBadRowsCarryTheirErrors() throws Exception {
        Path input = writeCsv(tmp.resolve("texts.csv"), corpus());
        Path out = tmp.resolve("csv-out");
        AtomicInteger tasks = new AtomicInteger();
        SparkListener count = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd e) {
                tasks.incrementAndGet();
            }
        };
        ExecutorSynthesizer.closeAll();
        int loadsBefore = ExecutorSynthesizer.loads();
        spark.sparkContext().addSparkListener(count);
        CorpusJob.Summary s;
        try {
            s = runJob(args(input, out, "--batch-size", "4", "--partitions", "4"));
        } finally {
            spark.sparkContext().removeSparkListener(count);
        }
        assertEquals(new CorpusJob.Summary(30, 24, 6, 24, 0, s.audioSeconds(), 0, 4, s.wallSeconds()), s);
        double audio = expected().values().stream().mapToDouble(w -> (w.length - 44) / 2 / 24_000.0).sum();
        assertEquals(audio, s.audioSeconds(), 1e-6);
        // local[2]: the tasks share the model the driver loaded: one load for the JVM, not one per task
        assertEquals(1, ExecutorSynthesizer.loads() - loadsBefore);
        assertTrue(tasks.get() >= 4, "tasks: " + tasks.get());
        assertMatchesCorpus(out, false);
        assertEquals(24, countFiles(out.resolve("audio"), "*.wav"));
        assertEquals(0, countFiles(out.resolve("audio"), ".*"), "no temporary files");

        // a second run finds every row done: nothing is synthesized again, the result is the same
        long mtime = Files.getLastModifiedTime(out.resolve("audio/utt-001.wav")).toMillis();
        CorpusJob.Summary again = runJob(args(input, out, "--batch-size", "4", "--partitions", "3"));
        assertEquals(0, again.synthesized());
        assertEquals(24, again.skipped());
        assertEquals(6, again.failed());
        assertMatchesCorpus(out, false);
        assertEquals(mtime, Files.getLastModifiedTime(out.resolve("audio/utt-001.wav")).toMillis());
    }

    @Test
    void killedRunResumesWithoutRedoingFinishedRows() throws Exception {
        // 12 good rows and the 6 bad ones
        List<In> rows = new ArrayList<>(corpus().subList(0, 12));
        rows.addAll(corpus().subList(24, 30));
        Path input = writeCsv(tmp.resolve("kill.csv"), rows);
        Path out = tmp.resolve("kill-out");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("-Dio.netty") || a.startsWith("-Dbark4j")
                    || a.startsWith("-Dai.djl")) {
                cmd.add(a);
            }
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CorpusJob.class.getName(), "--master",
                "local[1]", "--batch-size", "1", "--partitions", "1"));
        cmd.addAll(List.of(args(input, out)));
        Path log = tmp.resolve("killed-run.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (countFiles(out.resolve("_rows"), "*.json") < 4) {
                assertTrue(child.isAlive(), "the run ended before it was killed: " + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no progress: " + Files.readString(log));
                Thread.sleep(20);
            }
        } finally {
            child.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
            child.waitFor(30, TimeUnit.SECONDS);
        }
        long finished = countFiles(out.resolve("_rows"), "*.json");
        assertTrue(finished < 12, "killed half way, not at the end: " + finished);
        assertFalse(Files.exists(out.resolve("manifest/_SUCCESS")), "the killed run wrote no manifest");
        // every WAV there is whole: its header's size is its length
        try (Stream<Path> wavs = Files.list(out.resolve("audio"))) {
            for (Path w : wavs.filter(p -> p.toString().endsWith(".wav")).toList()) {
                byte[] b = Files.readAllBytes(w);
                assertEquals(b.length - 44, ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(40), w.toString());
            }
        }

        CorpusJob.Summary s = runJob(args(input, out, "--batch-size", "3", "--partitions", "4"));
        assertEquals(finished, s.skipped(), "rows the killed run finished are not redone");
        assertEquals(12 - finished, s.synthesized());
        assertEquals(12, s.ok());
        assertEquals(18, s.rows());
        assertMatches(out, rows, false);
        assertEquals(0, countFiles(out.resolve("audio"), ".*") + countFiles(out.resolve("_rows"), ".*"),
                "the killed run's temporary files are gone");
    }

    @Test
    void jsonLinesInParquetAudioOutAndParquetIn() throws Exception {
        // 6 good rows (one with a voice, one with quotes and a line break), an unknown voice, a duplicate id
        List<In> rows = new ArrayList<>(corpus().subList(3, 9));
        rows.add(corpus().get(26));
        rows.add(new In("utt-004", "Again.", null, "3"));
        Path json = writeJsonLines(tmp.resolve("texts.jsonl"), rows);
        Path out = tmp.resolve("parquet-out");
        CorpusJob.Summary s = runJob(args(json, out, "--audio-format", "parquet", "--batch-size", "8"));
        assertEquals(6, s.ok());
        Map<String, byte[]> wavs = assertMatches(out, rows, true);
        assertEquals(6, wavs.size());
        assertFalse(Files.exists(out.resolve("audio")), "no WAV files with --audio-format parquet");

        // the same table as Parquet input (seed as a long column), WAV output
        Path parquet = tmp.resolve("texts.parquet");
        spark.read().json(json.toString()).write().parquet(parquet.toString());
        Path out2 = tmp.resolve("parquet-in-out");
        CorpusJob.Summary s2 = runJob(args(parquet, out2, "--batch-size", "5"));
        assertEquals(6, s2.ok());
        assertMatches(out2, rows, false);
    }

    @Test
    void brokenModelFailsBeforeSparkRunsAnything() throws Exception {
        Path broken = Files.createDirectories(tmp.resolve("broken-model"));
        Files.writeString(broken.resolve("config.json"), "{\"model_type\": \"bark\"}");
        Path input = writeCsv(tmp.resolve("few.csv"), corpus().subList(0, 2));
        Path out = tmp.resolve("broken-out");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = CorpusJob.run(new String[] {"--master", "local[1]", "--input", input.toString(), "--output",
            out.toString(), "--model-dir", broken.toString()}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, code, message);
        assertTrue(message.startsWith("bark4j-spark: ") && message.contains(broken.toString()), message);
        assertFalse(Files.exists(out), "no task ran");
        assertFalse(spark.sparkContext().isStopped(), "the failed run did not touch the running Spark");
    }

    @Test
    void concurrentTasksOfOneJvmShareOneLoad() throws Exception {
        ExecutorSynthesizer.closeAll();
        ModelSpec spec = JobOptions.parse(args(tmp.resolve("x.csv"), tmp.resolve("x"))).modelSpec();
        int before = ExecutorSynthesizer.loads();
        AtomicInteger onLoad = new AtomicInteger();
        List<Thread> tasks = new ArrayList<>();
        Synthesizer[] got = new Synthesizer[4];
        for (int i = 0; i < got.length; i++) {
            int t = i;
            tasks.add(new Thread(() -> got[t] = ExecutorSynthesizer.get(spec, onLoad::incrementAndGet)));
        }
        tasks.forEach(Thread::start);
        for (Thread t : tasks) {
            t.join();
        }
        assertEquals(1, ExecutorSynthesizer.loads() - before);
        assertEquals(1, onLoad.get(), "the load is counted once, by the task that made it");
        for (Synthesizer s : got) {
            assertTrue(s == got[0], "one instance");
        }
    }

    @Test
    void usageErrors() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        PrintStream o = new PrintStream(new ByteArrayOutputStream());
        assertEquals(2, CorpusJob.run(new String[] {"--input", "x.csv"}, o, e));
        assertEquals(2, CorpusJob.run(new String[] {"--input", "x.txt", "--output", "o", "--model-dir", "m"}, o, e));
        assertEquals(2, CorpusJob.run(new String[] {"--bogus"}, o, e));
        assertEquals(2, CorpusJob.run(new String[] {"--batch-size", "0"}, o, e));
        String text = err.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("--input and --output are required"), text);
        assertTrue(text.contains("give --input-format"), text);
        assertTrue(text.contains("unknown option --bogus"), text);
        assertTrue(text.contains("--batch-size needs a positive integer"), text);
        assertEquals(0, CorpusJob.run(new String[] {"--help"}, o, e));
    }

    @Test
    void fileKeysAreOneToOneAndSafe() {
        assertEquals("utt-001", OutputLayout.key("utt-001"));
        assertEquals("a%2Fb%20c", OutputLayout.key("a/b c"));
        assertEquals("%2E.", OutputLayout.key(".."));
        assertEquals("%2E", OutputLayout.key("."));
        assertEquals("%25", OutputLayout.key("%"));
        assertTrue(OutputLayout.key("x".repeat(500)).length() <= 120);
        assertFalse(OutputLayout.key("x".repeat(500)).equals(OutputLayout.key("x".repeat(501))));
        // a seed derived from the id is fixed forever: this value must never change
        assertEquals(RowSeeds.fromId("utt-001"), RowSeeds.fromId("utt-001"));
        assertEquals(7L, RowSeeds.parse("7.0"));
    }
}

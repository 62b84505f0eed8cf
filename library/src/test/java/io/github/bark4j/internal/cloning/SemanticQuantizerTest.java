package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.google.gson.JsonObject;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.PyTorchCheckpoint;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.model.Lstm;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.testing.Diffs;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/** gitmylo's quantizers on the tiny-clone fixture against the original code's tokens. */
class SemanticQuantizerTest {
    private NDManager mgr;

    @TempDir
    Path tmp;

    @BeforeEach
    void manager() {
        mgr = NDManager.newBaseManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    private NDArray goldenFeatures(CloneFixture.Recording r) {
        return mgr.create(CloneFixture.npy(r.hubert()), new Shape(r.frames(), 32));
    }

    @Test
    void widthsComeFromTheTensors() {
        try (SemanticQuantizer v0 = SemanticQuantizer.load(CloneFixture.quantizer(0), DataType.FLOAT64);
                SemanticQuantizer v1 = SemanticQuantizer.load(CloneFixture.quantizer(1), DataType.FLOAT32)) {
            assertEquals(0, v0.version());
            assertEquals(32, v0.inputSize());
            assertEquals(24, v0.hiddenSize());
            assertEquals(0, v0.intermediateSize());
            assertEquals(10_000, v0.outputSize());
            assertEquals(DataType.FLOAT64, v0.dtype());
            assertEquals(1, v1.version());
            assertEquals(20, v1.hiddenSize());
            assertEquals(48, v1.intermediateSize()); // the real file's is 4096
            assertEquals(DataType.FLOAT32, v1.dtype());
        }
    }

    @Test
    void tokensOfTheGoldenFeaturesEqualTheReference() {
        for (int version : new int[] {0, 1}) {
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                try (SemanticQuantizer q = SemanticQuantizer.load(CloneFixture.quantizer(version), dtype)) {
                    for (CloneFixture.Recording r : CloneFixture.recordings()) {
                        int[] expected = version == 0 ? r.tokensV0() : r.tokensV1();
                        assertArrayEquals(expected, q.tokens(goldenFeatures(r)), r.name() + " v" + version + " " + dtype);
                    }
                }
            }
        }
    }

    /**
     * Both LSTM paths (libtorch's fused one and the step loop) and the classifier a few frames at a
     * time (a long recording's logits are not made at once) give the reference tokens.
     */
    @Test
    void everyPathGivesTheReferenceTokens() {
        for (int version : new int[] {0, 1}) {
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                try (SemanticQuantizer q = SemanticQuantizer.load(CloneFixture.quantizer(version), dtype)) {
                    for (CloneFixture.Recording r : CloneFixture.recordings()) {
                        int[] expected = version == 0 ? r.tokensV0() : r.tokensV1();
                        for (boolean fused : new boolean[] {false, true}) {
                            if (fused && !q.fusedLstm()) {
                                continue; // libtorch's fused LSTM is wrong at this size on this CPU
                            }
                            for (long rows : new long[] {1, 5, r.frames()}) {
                                assertArrayEquals(expected, q.tokens(goldenFeatures(r), rows, fused),
                                        r.name() + " v" + version + " " + dtype + " fused " + fused + " rows " + rows);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The check that picks the fused LSTM (16 random frames) predicts whether it is right over a long
     * sequence, whatever this CPU's oneDNN gets wrong; FP64 never goes through oneDNN.
     */
    @Test
    void fusedLstmCheckPredictsLongSequences() {
        Random random = new Random(9);
        for (int hidden : new int[] {8, 16, 20, 32, 48, 64}) {
            for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
                List<NDArray> ih = new ArrayList<>();
                List<NDArray> hh = new ArrayList<>();
                List<NDArray> b = new ArrayList<>();
                for (int l = 0; l < 2; l++) {
                    ih.add(uniform(random, hidden, 4L * hidden, l == 0 ? 24 : hidden).toType(dtype, false));
                    hh.add(uniform(random, hidden, 4L * hidden, hidden).toType(dtype, false));
                    b.add(uniform(random, hidden, 4L * hidden).toType(dtype, false));
                }
                Lstm lstm =
                        new Lstm(ih, hh, b, hidden);
                NDArray x = mgr.randomNormal(new Shape(300, 1, 24)).toType(dtype, false);
                double drift = lstm.runSteps(x).sub(lstm.runFused(x)).abs().max().toType(DataType.FLOAT64, false).getDouble();
                boolean chosen = SemanticQuantizer.fusedIsExact(lstm, 24, dtype, mgr);
                System.out.printf("fused LSTM, hidden %d %s: %s (300 steps off by %.2g)%n", hidden, dtype,
                        chosen ? "used" : "not used", drift);
                assertEquals(drift < 1e-4, chosen, "hidden " + hidden + " " + dtype + ": drift " + drift);
                if (dtype == DataType.FLOAT64) {
                    assertTrue(chosen);
                }
            }
        }
    }

    private NDArray uniform(Random random, int hidden, long... shape) {
        double[] v = new double[Math.toIntExact(new Shape(shape).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (2 * random.nextDouble() - 1) / Math.sqrt(hidden);
        }
        return mgr.create(v, new Shape(shape));
    }

    /**
     * The smallest gap between the best and second-best log-probability of any frame, which
     * golden.json records per recording: the log-probabilities themselves, not only their argmax,
     * are the reference's. The FP32 run's log-probabilities stay far closer than that gap.
     */
    @Test
    void logProbabilityMarginsEqualTheReference() {
        for (int version : new int[] {0, 1}) {
            try (SemanticQuantizer q64 = SemanticQuantizer.load(CloneFixture.quantizer(version), DataType.FLOAT64);
                    SemanticQuantizer q32 = SemanticQuantizer.load(CloneFixture.quantizer(version), DataType.FLOAT32)) {
                for (JsonObject rec : recordingsJson()) {
                    CloneFixture.Recording r = CloneFixture.recording(rec.get("name").getAsString());
                    double expected = rec.getAsJsonObject("margins")
                            .get("quantizer_v" + version + "_min_top2_logprob").getAsDouble();
                    double[] p64 = Tensors.toDoubles(q64.logProbabilities(mgr, goldenFeatures(r)));
                    double[] p32 = Tensors.toDoubles(q32.logProbabilities(mgr, goldenFeatures(r)));
                    double margin = minTop2Gap(p64, 10_000);
                    double drift = Diffs.maxAbsDiff(p64, p32);
                    System.out.printf("quantizer v%d %s: min top-2 log-prob gap %.3g, FP32 drift %.2g%n", version,
                            r.name(), margin, drift);
                    assertEquals(expected, margin, 1e-9, r.name() + " v" + version);
                    assertTrue(drift < margin / 10, r.name() + " v" + version + ": FP32 drift " + drift);
                }
            }
        }
    }

    /** From audio: HuBERT then the quantizer, as voice cloning runs them, in FP64 and FP32. */
    @Test
    void tokensOfTheRecordingsEqualTheReference() {
        for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
            try (Hubert hubert = Hubert.load(CloneFixture.hubertDir(), dtype);
                    SemanticQuantizer v0 = SemanticQuantizer.load(CloneFixture.quantizer(0), dtype);
                    SemanticQuantizer v1 = SemanticQuantizer.load(CloneFixture.quantizer(1), dtype)) {
                for (CloneFixture.Recording r : CloneFixture.recordings()) {
                    NDArray features = hubert.features(mgr, CloneFixture.npy(r.wav16()));
                    assertArrayEquals(r.tokensV0(), v0.tokens(features), r.name() + " v0 " + dtype);
                    assertArrayEquals(r.tokensV1(), v1.tokens(features), r.name() + " v1 " + dtype);
                }
            }
        }
    }

    /** The Hub's version-0 files predate the .info member: without it the weights decide the version. */
    @Test
    void filesWithoutInfoLoadByTheirWeights() throws IOException {
        for (int version : new int[] {0, 1}) {
            Path bare = rewrite(CloneFixture.quantizer(version), "bare_v" + version + ".pth", Map.of(), true);
            assertEquals(null, SemanticQuantizer.readInfo(bare));
            try (SemanticQuantizer q = SemanticQuantizer.load(bare, DataType.FLOAT64)) {
                assertEquals(version, q.version());
                CloneFixture.Recording r = CloneFixture.recording("rec_c");
                assertArrayEquals(version == 0 ? r.tokensV0() : r.tokensV1(), q.tokens(goldenFeatures(r)));
            }
        }
    }

    @Test
    void infoThatDisagreesWithTheWeightsIsALoadError() throws IOException {
        String info = "tiny_quantizer_v0/.info";
        assertInfoRefused(Map.of(info, "{\"input_size\": 32, \"hidden_size\": 24, \"output_size\": 10000, \"version\": 1}"),
                "says version 1 but the weights are version 0");
        assertInfoRefused(Map.of(info, "{\"input_size\": 32, \"hidden_size\": 1024, \"output_size\": 10000, \"version\": 0}"),
                "hidden 1024");
        assertInfoRefused(Map.of(info, "{\"input_size\": 768, \"hidden_size\": 24, \"output_size\": 10000, \"version\": 0}"),
                "input 768");
        assertInfoRefused(Map.of(info, "{\"input_size\": 32, \"hidden_size\": 24, \"output_size\": 10000, \"version\": 2}"),
                "only versions 0 and 1");
        assertInfoRefused(Map.of(info, "{\"input_size\": 32, \"hidden_size\": 24, \"output_size\": 10000}"),
                "lacks the integer 'version'");
        assertInfoRefused(Map.of(info, "not json {"), ".info");
        assertInfoRefused(Map.of(info, "[1, 2]"), "not a JSON object");
        assertInfoRefused(Map.of("other/.info", "{}"), "two .info members");
        Path v1 = rewrite(CloneFixture.quantizer(1), "v1_as_v0.pth", Map.of("tiny_quantizer_v1/.info",
                "{\"input_size\": 32, \"hidden_size\": 20, \"output_size\": 10000, \"version\": 0}"), false);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SemanticQuantizer.load(v1, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("have an intermediate layer"), e.getMessage());
    }

    /** Shapes that do not fit together, checked before anything is loaded. */
    @Test
    void inconsistentShapesAreLoadErrors() {
        assertShapeRefused(0, s -> s.drop("lstm.bias_hh_l1").add(CloneFixture.f64("lstm.bias_hh_l1", new double[95], 95)),
                "lstm.bias_hh_l1");
        assertShapeRefused(0, s -> s.drop("lstm.weight_ih_l1")
                .add(CloneFixture.f64("lstm.weight_ih_l1", new double[96 * 25], 96, 25)), "lstm.weight_ih_l1");
        assertShapeRefused(0, s -> s.drop("lstm.weight_ih_l0")
                .add(CloneFixture.f64("lstm.weight_ih_l0", new double[95 * 32], 95, 32)), "(4 · hidden, input)");
        assertShapeRefused(0, s -> s.drop("fc.weight").add(CloneFixture.f64("fc.weight", new double[10_000 * 7], 10_000, 7)),
                "fc.weight");
        assertShapeRefused(0, s -> s.drop("fc.weight").drop("fc.bias")
                .add(CloneFixture.f64("fc.weight", new double[500 * 24], 500, 24))
                .add(CloneFixture.f64("fc.bias", new double[500], 500)), "500 outputs");
        assertShapeRefused(1, s -> s.drop("intermediate.weight")
                .add(CloneFixture.f64("intermediate.weight", new double[48 * 21], 48, 21)), "intermediate.weight");
        assertShapeRefused(1, s -> s.drop("intermediate.bias"), "intermediate.bias");
        assertShapeRefused(0, s -> s.drop("fc.bias"), "fc.bias");
        assertShapeRefused(0, s -> s.add(CloneFixture.f64("softmax.weight", new double[3], 3)), "softmax.weight");
        assertShapeRefused(0, s -> s.drop("lstm.weight_ih_l0"), "lstm.weight_ih_l0");
    }

    @Test
    void concurrentCallersGetTheReferenceTokens() throws Exception {
        List<CloneFixture.Recording> recordings = CloneFixture.recordings();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try (SemanticQuantizer q = SemanticQuantizer.load(CloneFixture.quantizer(1), DataType.FLOAT32)) {
            List<Future<int[]>> futures = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                CloneFixture.Recording r = recordings.get(i % recordings.size());
                futures.add(pool.submit(() -> {
                    try (NDManager m = NDManager.newBaseManager()) {
                        return q.tokens(m.create(CloneFixture.npy(r.hubert()), new Shape(r.frames(), 32)));
                    }
                }));
            }
            for (int i = 0; i < futures.size(); i++) {
                assertArrayEquals(recordings.get(i % recordings.size()).tokensV1(), futures.get(i).get(), "call " + i);
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void featuresOfTheWrongShapeAreInvalidInput() {
        try (SemanticQuantizer q = SemanticQuantizer.load(CloneFixture.quantizer(0), DataType.FLOAT64)) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> q.tokens(mgr.zeros(new Shape(10, 768))));
            assertTrue(e.getMessage().contains("(frames, 32)"), e.getMessage());
            assertThrows(InvalidInputException.class, () -> q.tokens(mgr.zeros(new Shape(0, 32))));
            assertThrows(InvalidInputException.class, () -> q.tokens(mgr.zeros(new Shape(1, 10, 32))));
            assertEquals(1, q.tokens(mgr.zeros(new Shape(1, 32))).length);
        }
    }

    @Test
    void unusableFilesAreLoadErrors() throws IOException {
        assertThrows(IllegalArgumentException.class,
                () -> SemanticQuantizer.load(CloneFixture.quantizer(0), DataType.FLOAT16));
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> SemanticQuantizer.load(tmp.resolve("absent.pth"), DataType.FLOAT32));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        Path text = Files.writeString(tmp.resolve("text.pth"), "not a zip file at all");
        assertThrows(ModelLoadException.class, () -> SemanticQuantizer.load(text, DataType.FLOAT32));
        // a HuBERT checkpoint is a torch.save zip too, but not a quantizer
        e = assertThrows(ModelLoadException.class, () -> SemanticQuantizer.load(
                CloneFixture.hubertDir().resolve("pytorch_model.bin"), DataType.FLOAT32));
        assertTrue(e.getMessage().contains("lstm.weight_ih_l0"), e.getMessage());
    }

    static double minTop2Gap(double[] rows, int width) {
        double min = Double.POSITIVE_INFINITY;
        for (int r = 0; r < rows.length / width; r++) {
            double best = Double.NEGATIVE_INFINITY;
            double second = Double.NEGATIVE_INFINITY;
            for (int i = r * width; i < (r + 1) * width; i++) {
                if (rows[i] > best) {
                    second = best;
                    best = rows[i];
                } else if (rows[i] > second) {
                    second = rows[i];
                }
            }
            min = Math.min(min, best - second);
        }
        return min;
    }

    private static List<JsonObject> recordingsJson() {
        List<JsonObject> out = new ArrayList<>();
        CloneFixture.golden().getAsJsonArray("recordings").forEach(e -> out.add(e.getAsJsonObject()));
        return out;
    }

    private void assertInfoRefused(Map<String, String> members, String reason) throws IOException {
        Path file = rewrite(CloneFixture.quantizer(0), "info_" + Integer.toHexString(members.hashCode()) + ".pth",
                members, false);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SemanticQuantizer.load(file, DataType.FLOAT64));
        assertTrue(e.getMessage().contains(reason), members + ": " + e.getMessage());
    }

    private void assertShapeRefused(int version, UnaryOperator<CloneFixture.EditedSource> edit, String reason) {
        Path file = CloneFixture.quantizer(version);
        try (TensorSource source = edit.apply(new CloneFixture.EditedSource(PyTorchCheckpoint.open(file)))) {
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> SemanticQuantizer.load(file, source, null, DataType.FLOAT64));
            assertTrue(e.getMessage().contains(reason), reason + ": " + e.getMessage());
        }
    }

    /**
     * A copy of a quantizer zip, members stored as they were, with {@code replaced} members written
     * (new ones appended) and, with {@code dropInfo}, its .info left out.
     */
    private Path rewrite(Path source, String name, Map<String, String> replaced, boolean dropInfo) throws IOException {
        Path out = tmp.resolve(name);
        Set<String> written = new HashSet<>();
        try (ZipFile in = new ZipFile(source.toFile()); OutputStream file = Files.newOutputStream(out);
                ZipOutputStream zip = new ZipOutputStream(file)) {
            for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements();) {
                ZipEntry e = entries.nextElement();
                if (dropInfo && e.getName().endsWith("/.info")) {
                    continue;
                }
                byte[] data;
                if (replaced.containsKey(e.getName())) {
                    data = replaced.get(e.getName()).getBytes(StandardCharsets.UTF_8);
                    written.add(e.getName());
                } else {
                    try (InputStream s = in.getInputStream(e)) {
                        data = s.readAllBytes();
                    }
                }
                putStored(zip, e.getName(), data);
            }
            for (Map.Entry<String, String> m : replaced.entrySet()) {
                if (!written.contains(m.getKey())) {
                    putStored(zip, m.getKey(), m.getValue().getBytes(StandardCharsets.UTF_8));
                }
            }
        }
        return out;
    }

    private static void putStored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        entry.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(data);
        zip.closeEntry();
    }
}

package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.testing.Diffs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.UnaryOperator;

/** HuBERT on the tiny-clone fixture against the original code's float64 outputs. */
class HubertTest {
    private static final String POS_CONV = "encoder.pos_conv_embed.conv.";

    private static Hubert fp64;
    private static double[] recA;
    private NDManager mgr;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() {
        fp64 = Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT64);
        recA = CloneFixture.npy(CloneFixture.recording("rec_a").wav16());
    }

    @AfterAll
    static void close() {
        fp64.close();
    }

    @BeforeEach
    void manager() {
        mgr = NDManager.newBaseManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    @Test
    void layerNineEqualsTheReferenceForEveryRecording() {
        assertEquals(9, fp64.outputLayer());
        for (CloneFixture.Recording r : CloneFixture.recordings()) {
            double[] wav = CloneFixture.npy(r.wav16());
            NDArray f = fp64.features(mgr, wav);
            assertArrayEquals(new long[] {r.frames(), 32}, f.getShape().getShape(), r.name());
            assertEquals(DataType.FLOAT64, f.getDataType());
            assertEquals(r.frames(), fp64.frames(wav.length), r.name());
            double diff = Diffs.maxAbsDiff(CloneFixture.npy(r.hubert()), Tensors.toDoubles(f));
            assertTrue(diff < 1e-9, r.name() + ": " + diff);
        }
    }

    /** The feature encoder's output and hidden_states[0..9], stage by stage. */
    @Test
    void featureEncoderAndEveryHiddenStateEqualTheReference() {
        Path dir = CloneFixture.dir();
        double[] conv = CloneFixture.npy(dir.resolve("rec_a_hubert_conv.npy"));
        NDArray encoded = fp64.encodedFeatures(mgr, recA);
        assertArrayEquals(new long[] {198, 32}, encoded.getShape().getShape());
        double diff = Diffs.maxAbsDiff(conv, Tensors.toDoubles(encoded));
        assertTrue(diff < 1e-9, "feature encoder: " + diff);

        Path statesFile = dir.resolve("rec_a_hubert_hidden_states.npy");
        assertArrayEquals(new long[] {10, 198, 32}, CloneFixture.npyShape(statesFile));
        double[] states = CloneFixture.npy(statesFile);
        int size = 198 * 32;
        for (int layer = 0; layer <= 9; layer++) {
            try (Hubert h = Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT64, layer)) {
                double[] expected = Arrays.copyOfRange(states, layer * size, (layer + 1) * size);
                double d = Diffs.maxAbsDiff(expected, Tensors.toDoubles(h.features(mgr, recA)));
                assertTrue(d < 1e-9, "hidden_states[" + layer + "]: " + d);
            }
        }
    }

    /**
     * The feature encoder in chunks of output frames (the fixture fits one chunk by default), down
     * to one frame per chunk, and attention one head at a time, down to one query frame at a time,
     * give the reference features; the GroupNorm statistics then come from many chunks of the first
     * convolution too.
     */
    @Test
    void computingInPiecesGivesTheReference() {
        CloneFixture.Recording r = CloneFixture.recording("rec_b");
        Hubert.Budget whole = fp64.budget();
        assertTrue(whole.encoderChunkFrames() >= r.frames(), "the fixture runs in one chunk by default");
        assertTrue(whole.attentionBytes() >= 2L * r.frames() * r.frames() * 8, "and both heads at once");
        double[] wav = CloneFixture.npy(r.wav16());
        double[] expected = CloneFixture.npy(r.hubert());
        long oneHead = (long) r.frames() * r.frames() * 8;
        for (Hubert.Budget b : new Hubert.Budget[] {new Hubert.Budget(1, oneHead), new Hubert.Budget(7, oneHead),
            new Hubert.Budget(64, oneHead / 3), new Hubert.Budget(148, 1), new Hubert.Budget(149, whole.attentionBytes())}) {
            double diff = Diffs.maxAbsDiff(expected, Tensors.toDoubles(fp64.features(mgr, wav, b)));
            assertTrue(diff < 1e-9, b + ": " + diff);
        }
    }

    @Test
    void float32IsWithinOneTenThousandth() {
        try (Hubert fp32 = Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT32)) {
            for (CloneFixture.Recording r : CloneFixture.recordings()) {
                NDArray f = fp32.features(mgr, CloneFixture.npy(r.wav16()));
                assertEquals(DataType.FLOAT32, f.getDataType());
                double diff = Diffs.maxAbsDiff(CloneFixture.npy(r.hubert()), Tensors.toDoubles(f));
                System.out.printf("HuBERT FP32 %s: max abs diff %.3g from the float64 reference%n", r.name(), diff);
                assertTrue(diff < 1e-4, r.name() + ": " + diff);
            }
        }
    }

    @Test
    void pytorchCheckpointGivesIdenticalFeatures() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("bin"));
        Files.createSymbolicLink(dir.resolve("config.json"), CloneFixture.hubertDir().resolve("config.json"));
        Files.createSymbolicLink(dir.resolve("pytorch_model.bin"), CloneFixture.hubertDir().resolve("pytorch_model.bin"));
        assertIdenticalFeatures(dir, 0.0);
    }

    /** Newer PyTorch's weight-norm names for the positional convolution. */
    @Test
    void parametrizationNamesGiveIdenticalFeatures() {
        Path dir = edited("parametrizations", s -> s
                .rename(POS_CONV + "weight_g", POS_CONV + "parametrizations.weight.original0")
                .rename(POS_CONV + "weight_v", POS_CONV + "parametrizations.weight.original1"));
        assertIdenticalFeatures(dir, 0.0);
    }

    /** A task model's checkpoint (HubertForCTC ...): every key under hubert., its head beside it. */
    @Test
    void taskModelPrefixGivesIdenticalFeatures() {
        Path dir = edited("prefixed", s -> s.prefixAll(Hubert.TASK_PREFIX)
                .add(CloneFixture.f64("lm_head.weight", new double[32 * 4], 4, 32))
                .add(CloneFixture.f64("lm_head.bias", new double[4], 4)));
        assertIdenticalFeatures(dir, 0.0);
    }

    /** A checkpoint whose positional convolution was saved with the weight norm already folded in. */
    @Test
    void foldedPositionalWeightGivesTheSameFeatures() {
        double[] folded;
        try (SafetensorsFile src = SafetensorsFile.open(CloneFixture.hubertDir().resolve("model.safetensors"))) {
            float[] g = src.tensor(POS_CONV + "weight_g").toFloatArray();
            float[] v = src.tensor(POS_CONV + "weight_v").toFloatArray();
            int taps = g.length;
            folded = new double[v.length];
            for (int k = 0; k < taps; k++) {
                double sum = 0;
                for (int i = k; i < v.length; i += taps) {
                    sum += (double) v[i] * v[i];
                }
                double norm = Math.sqrt(sum);
                for (int i = k; i < v.length; i += taps) {
                    folded[i] = g[k] * (v[i] / norm);
                }
            }
        }
        double[] weight = folded;
        Path dir = edited("folded", s -> s.drop(POS_CONV + "weight_g").drop(POS_CONV + "weight_v")
                .add(CloneFixture.f64(POS_CONV + "weight", weight, 32, 2, 128)));
        assertIdenticalFeatures(dir, 1e-12);
    }

    /** conv_bias true reads a bias per convolution; zero biases change nothing. */
    @Test
    void zeroConvolutionBiasesChangeNothing() throws IOException {
        Path dir = edited("biased", s -> {
            for (int i = 0; i < 7; i++) {
                s.add(CloneFixture.f64("feature_extractor.conv_layers." + i + ".conv.bias", new double[32], 32));
            }
            return s;
        });
        String config = Files.readString(dir.resolve("config.json")).replace("\"conv_bias\": false", "\"conv_bias\": true");
        Files.delete(dir.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config);
        assertIdenticalFeatures(dir, 0.0);
        // and without conv_bias the same checkpoint has tensors the model does not know
        Files.writeString(dir.resolve("config.json"), config.replace("\"conv_bias\": true", "\"conv_bias\": false"));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Hubert.load(dir, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("conv.bias"), e.getMessage());
    }

    /** The layers after the output layer are not read: a checkpoint without them loads alike. */
    @Test
    void layersAfterTheOutputLayerAreNeitherNeededNorRead() {
        Path dir = edited("truncated", s -> {
            try (SafetensorsFile src = SafetensorsFile.open(CloneFixture.hubertDir().resolve("model.safetensors"))) {
                for (String name : src.names()) {
                    if (name.matches("encoder\\.layers\\.(9|10|11)\\..*")) {
                        s.drop(name);
                    }
                }
            }
            return s;
        });
        assertIdenticalFeatures(dir, 0.0);
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Hubert.load(dir, DataType.FLOAT64, 10));
        assertTrue(e.getMessage().contains("encoder.layers.9."), e.getMessage());
        assertTrue(Hubert.isIgnored("encoder.layers.9.attention.q_proj.weight", "", 9));
        assertTrue(Hubert.isIgnored("masked_spec_embed", "", 9));
        assertTrue(Hubert.isIgnored("lm_head.weight", "hubert.", 9));
        assertTrue(!Hubert.isIgnored("encoder.layers.8.layer_norm.bias", "", 9));
        assertTrue(!Hubert.isIgnored("lm_head.weight", "", 9));
    }

    @Test
    void unknownAndMissingTensorsAreLoadErrors() {
        Path extra = edited("extra", s -> s.add(CloneFixture.f64("encoder.something_else", new double[2], 2)));
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Hubert.load(extra, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("encoder.something_else"), e.getMessage());

        Path missing = edited("missing", s -> s.drop("encoder.layers.3.attention.k_proj.bias"));
        e = assertThrows(ModelLoadException.class, () -> Hubert.load(missing, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("encoder.layers.3.attention.k_proj.bias"), e.getMessage());

        Path noPosConv = edited("nopos", s -> s.drop(POS_CONV + "weight_g").drop(POS_CONV + "weight_v"));
        e = assertThrows(ModelLoadException.class, () -> Hubert.load(noPosConv, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("positional convolution"), e.getMessage());

        Path notHubert = edited("nothubert", s -> s.drop("feature_extractor.conv_layers.0.conv.weight"));
        e = assertThrows(ModelLoadException.class, () -> Hubert.load(notHubert, DataType.FLOAT64));
        assertTrue(e.getMessage().contains("Not a HuBERT checkpoint"), e.getMessage());

        e = assertThrows(ModelLoadException.class, () -> Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT64, 13));
        assertTrue(e.getMessage().contains("has 12 layers"), e.getMessage());
        e = assertThrows(ModelLoadException.class, () -> Hubert.load(tmp.resolve("absent"), DataType.FLOAT64));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT16));
    }

    @Test
    void audioShorterThanOneFrameOrNotFiniteIsRefused() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> fp64.features(mgr, new double[399]));
        assertTrue(e.getMessage().contains("at least 400 samples"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> fp64.features(mgr, new float[0]));
        double[] one = Arrays.copyOf(recA, 400);
        assertArrayEquals(new long[] {1, 32}, fp64.features(mgr, one).getShape().getShape());
        assertEquals(1, fp64.frames(719));
        assertArrayEquals(new long[] {2, 32}, fp64.features(mgr, Arrays.copyOf(recA, 720)).getShape().getShape());
        double[] bad = one.clone();
        bad[17] = Double.NaN;
        e = assertThrows(InvalidInputException.class, () -> fp64.features(mgr, bad));
        assertTrue(e.getMessage().contains("sample 17"), e.getMessage());
        float[] infinite = new float[1000];
        infinite[999] = Float.POSITIVE_INFINITY;
        assertThrows(InvalidInputException.class, () -> fp64.features(mgr, infinite));
    }

    /** float samples are the same audio as the doubles they widen to. */
    @Test
    void floatAndDoubleSamplesAgree() {
        float[] f = new float[recA.length];
        double[] widened = new double[recA.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) recA[i];
            widened[i] = f[i];
        }
        assertArrayEquals(Tensors.toDoubles(fp64.features(mgr, widened)), Tensors.toDoubles(fp64.features(mgr, f)), 0.0);
    }

    @Test
    void concurrentCallersGetTheSerialResult() throws Exception {
        List<double[]> inputs = new ArrayList<>();
        List<double[]> serial = new ArrayList<>();
        for (CloneFixture.Recording r : CloneFixture.recordings()) {
            double[] wav = CloneFixture.npy(r.wav16());
            inputs.add(wav);
            serial.add(Tensors.toDoubles(fp64.features(mgr, wav)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<double[]>> futures = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                for (double[] wav : inputs) {
                    futures.add(pool.submit(() -> {
                        try (NDManager m = NDManager.newBaseManager()) {
                            return Tensors.toDoubles(fp64.features(m, wav));
                        }
                    }));
                }
            }
            for (int i = 0; i < futures.size(); i++) {
                assertArrayEquals(serial.get(i % inputs.size()), futures.get(i).get(), 0.0, "call " + i);
            }
        } finally {
            pool.shutdown();
        }
    }

    /**
     * The feature encoder's GEMM convolution against a naive loop: kernels below, at, above and past
     * twice the stride, lengths that end inside and at the end of a row of stride frames.
     */
    @Test
    void stridedConvolutionEqualsNaiveLoop() {
        Random r = new Random(5);
        int[][] cases = { // cin, cout, kernel, stride, length
            {1, 6, 10, 5, 63}, {1, 6, 10, 5, 60}, {3, 4, 3, 2, 11}, {3, 4, 3, 2, 12}, {3, 4, 2, 2, 9},
            {2, 5, 2, 3, 10}, {2, 5, 2, 3, 11}, {4, 3, 7, 3, 20}, {4, 3, 7, 3, 22}, {2, 2, 1, 1, 5},
            {2, 3, 3, 2, 3}, {5, 2, 4, 4, 4}};
        for (int[] c : cases) {
            int cin = c[0];
            int cout = c[1];
            int k = c[2];
            int s = c[3];
            int t = c[4];
            double[] x = gaussian(r, t * cin);
            double[] w = gaussian(r, cout * cin * k);
            double[] b = gaussian(r, cout);
            int out = (t - k) / s + 1;
            double[] expected = new double[out * cout];
            for (int o = 0; o < out; o++) {
                for (int co = 0; co < cout; co++) {
                    double sum = b[co];
                    for (int ci = 0; ci < cin; ci++) {
                        for (int j = 0; j < k; j++) {
                            sum += w[(co * cin + ci) * k + j] * x[(o * s + j) * cin + ci];
                        }
                    }
                    expected[o * cout + co] = sum;
                }
            }
            for (boolean withBias : new boolean[] {true, false}) {
                NDArray weight = mgr.create(w, new Shape(cout, cin, k));
                NDArray bias = withBias ? mgr.create(b, new Shape(cout)) : null;
                Hubert.StridedConv conv = Hubert.StridedConv.of(weight, bias, s);
                NDArray y = conv.apply(mgr.create(x, new Shape(t, cin)));
                assertArrayEquals(new long[] {out, cout}, y.getShape().getShape(), Arrays.toString(c));
                double[] want = expected.clone();
                if (!withBias) {
                    for (int i = 0; i < want.length; i++) {
                        want[i] -= b[i % cout];
                    }
                }
                assertArrayEquals(want, Tensors.toDoubles(y), 1e-12, Arrays.toString(c) + " bias " + withBias);
            }
        }
    }

    /**
     * The positional convolution against a naive loop: even and odd kernels (an even one drops its
     * last frame), in FP64 and in FP32 with 2 channels per group (computed in FP64 there).
     */
    @Test
    void positionalConvolutionEqualsNaiveLoop() {
        Random r = new Random(6);
        int[][] cases = {{8, 4, 6, 11}, {8, 4, 7, 11}, {6, 3, 4, 2}, {32, 16, 128, 40}}; // d, groups, kernel, frames
        for (int[] c : cases) {
            int d = c[0];
            int groups = c[1];
            int k = c[2];
            int t = c[3];
            int per = d / groups;
            double[] x = gaussian(r, t * d);
            double[] w = gaussian(r, d * per * k);
            double[] b = gaussian(r, d);
            int pad = k / 2;
            double[] expected = new double[t * d];
            for (int o = 0; o < t; o++) {
                for (int co = 0; co < d; co++) {
                    int g = co / per;
                    double sum = b[co];
                    for (int ci = 0; ci < per; ci++) {
                        for (int j = 0; j < k; j++) {
                            int src = o + j - pad;
                            if (src >= 0 && src < t) {
                                sum += w[(co * per + ci) * k + j] * x[src * d + g * per + ci];
                            }
                        }
                    }
                    expected[o * d + co] = sum;
                }
            }
            for (DataType dt : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                NDArray y = Hubert.positionalConv(
                        mgr.create(x, new Shape(t, d)).toType(dt, false),
                        mgr.create(w, new Shape(d, per, k)).toType(dt, false),
                        mgr.create(b, new Shape(d)).toType(dt, false), groups);
                assertArrayEquals(new long[] {t, d}, y.getShape().getShape());
                assertEquals(dt, y.getDataType());
                double tolerance = dt == DataType.FLOAT64 ? 1e-12 : 1e-4;
                assertArrayEquals(expected, Tensors.toDoubles(y), tolerance, Arrays.toString(c) + " " + dt);
            }
        }
    }

    static double[] gaussian(Random r, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextGaussian();
        }
        return out;
    }

    private void assertIdenticalFeatures(Path dir, double tolerance) {
        try (Hubert h = Hubert.load(dir, DataType.FLOAT64)) {
            double[] expected = Tensors.toDoubles(fp64.features(mgr, recA));
            double[] actual = Tensors.toDoubles(h.features(mgr, recA));
            assertArrayEquals(expected, actual, tolerance, dir.toString());
        }
    }

    /** A HuBERT folder in the temp dir: the fixture's config and its safetensors as {@code edit} changes them. */
    private Path edited(String name, UnaryOperator<CloneFixture.EditedSource> edit) {
        try {
            Path dir = Files.createDirectory(tmp.resolve(name));
            Files.copy(CloneFixture.hubertDir().resolve("config.json"), dir.resolve("config.json"));
            try (TensorSource src = edit.apply(new CloneFixture.EditedSource(
                    SafetensorsFile.open(CloneFixture.hubertDir().resolve("model.safetensors"))))) {
                SafetensorsWriter.write(src, dir.resolve("model.safetensors"));
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The EnCodec encoder and residual-quantizer encode against the tiny-clone fixture (outputs of
 * facebookresearch/encodec in float64), and the quantizer against naive Java loops.
 */
class CodecEncoderTest {
    private static final String CODEBOOK_0 = "codec_model.quantizer.layers.0.codebook.embed";

    /** One recording of the fixture: its 24 kHz samples and its golden 8 × T codes. */
    private record Recording(String name, double[] wav24, int[][] codes) {}

    private static NDManager base;
    private static CodecEncoder fp64;
    private static CodecEncoder fp32;
    private static List<Recording> recordings;
    private NDManager mgr;

    @BeforeAll
    static void load() throws IOException {
        base = NDManager.newBaseManager("PyTorch");
        fp64 = CodecEncoder.load(bark(), Precision.FP64, base);
        fp32 = CodecEncoder.load(bark(), Precision.FP32, base);
        recordings = recordings();
    }

    @AfterAll
    static void close() {
        fp64.close();
        fp32.close();
        base.close();
    }

    @BeforeEach
    void manager() {
        mgr = base.newSubManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    private static Path bark() {
        return SharedFiles.tinyClone().resolve("bark");
    }

    private static List<Recording> recordings() throws IOException {
        Path dir = SharedFiles.tinyClone();
        JsonObject root = JsonParser.parseString(Files.readString(dir.resolve("golden.json"))).getAsJsonObject();
        List<Recording> out = new ArrayList<>();
        for (JsonElement e : root.getAsJsonArray("recordings")) {
            JsonObject r = e.getAsJsonObject();
            JsonArray rows = r.getAsJsonArray("codes");
            int[][] codes = new int[rows.size()][];
            for (int k = 0; k < codes.length; k++) {
                JsonArray row = rows.get(k).getAsJsonArray();
                codes[k] = new int[row.size()];
                for (int t = 0; t < codes[k].length; t++) {
                    codes[k][t] = row.get(t).getAsInt();
                }
            }
            out.add(new Recording(r.get("name").getAsString(),
                    Golden.npyDoubles(dir.resolve(r.get("wav24_file").getAsString())), codes));
        }
        assertEquals(3, out.size());
        return out;
    }

    private static Recording recording(String name) {
        return recordings.stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    private NDArray waveform(double[] samples) {
        return mgr.create(samples, new Shape(1, 1, samples.length));
    }

    /** The fixture's encoder output of rec_a (32 × T, before the quantizer), flattened. */
    private static double[] referenceEmbedding() {
        return Golden.npyDoubles(SharedFiles.tinyClone().resolve("rec_a_codec_embedding.npy"));
    }

    @Test
    void fp64EmbeddingMatchesTheReference() {
        Recording a = recording("rec_a");
        int frames = (a.wav24().length + 319) / 320;
        assertEquals(298, frames);
        double[] expected = referenceEmbedding();
        // the production (fused) LSTM and the step-by-step one
        for (CodecEncoder encoder : new CodecEncoder[] {fp64, fp64.withFusedLstm(false)}) {
            NDArray y = encoder.embed(waveform(a.wav24()));
            assertEquals(DataType.FLOAT64, y.getDataType());
            assertArrayEquals(new long[] {1, 32, frames}, y.getShape().getShape());
            GptTest.assertClose(expected, Tensors.toDoubles(y), 1e-9, "rec_a embedding");
        }
    }

    @Test
    void fp64CodesEqualTheGoldenCodes() {
        for (Recording r : recordings) {
            int[][] codes = fp64.encode(r.wav24());
            assertEquals(8, codes.length, r.name());
            assertEquals((r.wav24().length + 319) / 320, codes[0].length, r.name() + " frames = ceil(samples / 320)");
            for (int k = 0; k < 8; k++) {
                assertArrayEquals(r.codes()[k], codes[k], r.name() + " codebook " + k);
            }
        }
    }

    @Test
    void fp32CodesEqualTheGoldenCodesAndTheEmbeddingIsClose() {
        for (Recording r : recordings) {
            float[] samples = new float[r.wav24().length];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = (float) r.wav24()[i];
            }
            int[][] codes = fp32.encode(samples);
            for (int k = 0; k < 8; k++) {
                assertArrayEquals(r.codes()[k], codes[k], r.name() + " FP32 codebook " + k);
            }
            // 64-bit samples into the FP32 encoder are rounded to 32-bit first: the same codes
            assertArrayEquals(codes, fp32.encode(r.wav24()), r.name() + " from doubles");
        }
        NDArray y = fp32.embed(waveform(recording("rec_a").wav24()));
        assertEquals(DataType.FLOAT32, y.getDataType());
        GptTest.assertClose(referenceEmbedding(), Tensors.toDoubles(y), 1e-4, "rec_a FP32 embedding");
    }

    /**
     * The 24 kHz model is causal and a whole number of frames needs no extra right padding at any
     * stage, so the first n·320 samples give exactly the first n frames of the whole recording,
     * once n ≥ 7: the causal left padding reflects the input's next samples (frames 1..6 for the
     * last convolution), and shorter inputs than a padding are zero-extended before reflecting.
     */
    @Test
    void aPrefixOfWholeFramesGivesTheFirstFrames() {
        double[] wav = recording("rec_a").wav24();
        double[] full = referenceEmbedding();
        int total = full.length / 32;
        for (int n : new int[] {7, 64, 200}) {
            double[] y = Tensors.toDoubles(fp64.embed(waveform(Arrays.copyOf(wav, n * 320))));
            assertEquals(32 * n, y.length);
            double[] expected = new double[32 * n];
            for (int d = 0; d < 32; d++) {
                System.arraycopy(full, d * total, expected, d * n, n);
            }
            GptTest.assertClose(expected, y, 1e-9, n + " frames");
        }
    }

    /**
     * Input shorter than a frame works: the reflect padding zero-extends first (EnCodec's _pad1d
     * rule), and any 1..320 samples give one frame of valid codes.
     */
    @Test
    void inputShorterThanOneFrameGivesOneFrame() {
        double[] wav = recording("rec_b").wav24();
        for (int samples : new int[] {1, 2, 100, 319, 320, 321, 641}) {
            int[][] codes = fp64.encode(Arrays.copyOfRange(wav, 20000, 20000 + samples));
            int frames = (samples + 319) / 320;
            assertEquals(8, codes.length);
            for (int[] row : codes) {
                assertEquals(frames, row.length, samples + " samples");
                for (int c : row) {
                    assertTrue(c >= 0 && c < 1024, samples + " samples: code " + c);
                }
            }
            // FP32 agrees on the same short input
            float[] f = new float[samples];
            for (int i = 0; i < samples; i++) {
                f[i] = (float) wav[20000 + i];
            }
            NDArray e64 = fp64.embed(waveform(Arrays.copyOfRange(wav, 20000, 20000 + samples)));
            NDArray e32 = fp32.embed(mgr.create(f, new Shape(1, 1, samples)));
            GptTest.assertClose(Tensors.toDoubles(e64), Tensors.toDoubles(e32), 1e-4, samples + " samples FP32");
        }
    }

    @Test
    void batchRowsEncodeAsTheyDoAlone() {
        int samples = 4000;
        double[] b = Arrays.copyOf(recording("rec_b").wav24(), samples);
        double[] c = Arrays.copyOf(recording("rec_c").wav24(), samples);
        double[] both = new double[2 * samples];
        System.arraycopy(b, 0, both, 0, samples);
        System.arraycopy(c, 0, both, samples, samples);
        double[] y = Tensors.toDoubles(fp64.embed(mgr.create(both, new Shape(2, 1, samples))));
        double[] yb = Tensors.toDoubles(fp64.embed(waveform(b)));
        double[] yc = Tensors.toDoubles(fp64.embed(waveform(c)));
        GptTest.assertClose(yb, Arrays.copyOfRange(y, 0, yb.length), 1e-12, "row 0");
        GptTest.assertClose(yc, Arrays.copyOfRange(y, yb.length, y.length), 1e-12, "row 1");
    }

    @Test
    void badAudioIsRejectedClearly() {
        InvalidInputException empty = assertThrows(InvalidInputException.class, () -> fp64.encode(new double[0]));
        assertTrue(empty.getMessage().contains("no samples"), empty.getMessage());
        assertThrows(InvalidInputException.class, () -> fp32.encode(new float[0]));
        InvalidInputException nan = assertThrows(InvalidInputException.class,
                () -> fp32.encode(new float[] {0.1f, Float.NaN, 0.2f}));
        assertTrue(nan.getMessage().contains("sample 1"), nan.getMessage());
        assertThrows(InvalidInputException.class, () -> fp64.encode(new double[] {Double.POSITIVE_INFINITY}));
        assertThrows(InvalidInputException.class, () -> fp64.embed(mgr.zeros(new Shape(1, 100), DataType.FLOAT64)));
        assertThrows(InvalidInputException.class, () -> fp64.embed(mgr.zeros(new Shape(1, 2, 100), DataType.FLOAT64)));
        assertThrows(InvalidInputException.class, () -> fp64.embed(mgr.zeros(new Shape(1, 1, 0), DataType.FLOAT64)));
    }

    @Test
    void aCheckpointWithoutEncoderIsAClearLoadError() {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> CodecEncoder.load(SharedFiles.tinyBark(), Precision.FP32, base));
        assertTrue(e.getMessage().contains("no EnCodec encoder (codec_model.encoder.*)"), e.getMessage());
        assertTrue(e.getMessage().contains("suno/bark-small"), e.getMessage());
        assertThrows(ModelLoadException.class,
                () -> CodecEncoder.load(SharedFiles.tinyClone().resolve("missing"), Precision.FP32, base));
    }

    /** The first {@code books} codebooks of the fixture, as float rows (1024 × 32 each). */
    private static float[][] codebooks(int books) {
        float[][] tables = new float[books][];
        try (SafetensorsFile st = SafetensorsFile.open(bark().resolve("model.safetensors"))) {
            for (int i = 0; i < books; i++) {
                tables[i] = st.tensor("codec_model.quantizer.layers." + i + ".codebook.embed").toFloatArray();
            }
        }
        return tables;
    }

    /**
     * Greedy residual quantization of one vector in plain doubles: per codebook the row with the
     * smallest Σ(x − e)² (the first of equal ones), subtracted. Returns the codes; {@code residual}
     * is left holding what the last codebook did not explain.
     */
    static int[] naiveResidualQuantize(double[] residual, float[][] tables, int dim) {
        int[] codes = new int[tables.length];
        for (int i = 0; i < tables.length; i++) {
            int rows = tables[i].length / dim;
            int best = -1;
            double bestDistance = Double.POSITIVE_INFINITY;
            for (int row = 0; row < rows; row++) {
                double distance = 0;
                for (int d = 0; d < dim; d++) {
                    double diff = residual[d] - tables[i][row * dim + d];
                    distance += diff * diff;
                }
                if (distance < bestDistance) {
                    bestDistance = distance;
                    best = row;
                }
            }
            codes[i] = best;
            for (int d = 0; d < dim; d++) {
                residual[d] -= tables[i][best * dim + d];
            }
        }
        return codes;
    }

    /**
     * quantizerEncode on random (B, D, T) embeddings at the scale of the real one equals the naive
     * loop, and decoding its codes (CodecDecoder's quantizer decode: the sum of the chosen rows)
     * gives the input minus the naive loop's final residual.
     */
    @Test
    void quantizerEncodeEqualsTheNaiveLoopAndDecodesBack() {
        float[][] tables = codebooks(8);
        int dim = 32;
        int b = 2;
        int t = 37;
        CodecDecoder decoder;
        try (SafetensorsFile st = SafetensorsFile.open(bark().resolve("model.safetensors"))) {
            decoder = CodecDecoder.load(new WeightStore(st, mgr, DataType.FLOAT64), BarkModel.CODEC_PREFIX,
                    fp64.config(), 8);
        }
        Random r = new Random(21);
        for (double scale : new double[] {1.5, 0.1}) {
            double[] x = new double[b * dim * t];
            for (int i = 0; i < x.length; i++) {
                x[i] = scale * r.nextGaussian();
            }
            NDArray codes = fp64.quantizerEncode(mgr.create(x, new Shape(b, dim, t)));
            assertEquals(DataType.INT64, codes.getDataType());
            assertArrayEquals(new long[] {b, 8, t}, codes.getShape().getShape());
            long[] got = codes.toLongArray();
            double[] explained = new double[x.length];
            for (int bi = 0; bi < b; bi++) {
                for (int ti = 0; ti < t; ti++) {
                    double[] residual = new double[dim];
                    for (int d = 0; d < dim; d++) {
                        residual[d] = x[(bi * dim + d) * t + ti];
                    }
                    int[] expected = naiveResidualQuantize(residual, tables, dim);
                    for (int k = 0; k < 8; k++) {
                        assertEquals(expected[k], got[(bi * 8 + k) * t + ti], "scale " + scale + " batch " + bi
                                + " frame " + ti + " codebook " + k);
                    }
                    for (int d = 0; d < dim; d++) {
                        explained[(bi * dim + d) * t + ti] = x[(bi * dim + d) * t + ti] - residual[d];
                    }
                }
            }
            double[] decoded = Tensors.toDoubles(decoder.quantizerDecode(codes));
            GptTest.assertClose(explained, decoded, 1e-12, "decode(encode(x)), scale " + scale);
        }
    }

    /**
     * A codebook row is its own code (distance exactly 0), the residual is then exactly zero and
     * the next codebook's choice is its row of least norm; the rest follow the naive loop.
     */
    @Test
    void aCodebookRowEncodesToItself() {
        float[][] tables = codebooks(8);
        int dim = 32;
        int[] rows = {0, 1, 517, 1023};
        double[] x = new double[dim * rows.length];
        for (int j = 0; j < rows.length; j++) {
            for (int d = 0; d < dim; d++) {
                x[d * rows.length + j] = tables[0][rows[j] * dim + d];
            }
        }
        long[] codes = fp64.quantizerEncode(mgr.create(x, new Shape(1, dim, rows.length))).toLongArray();
        int leastNorm = naiveResidualQuantize(new double[dim], new float[][] {tables[1]}, dim)[0];
        for (int j = 0; j < rows.length; j++) {
            assertEquals(rows[j], codes[j], "codebook 0, row " + rows[j]);
            assertEquals(leastNorm, codes[rows.length + j], "codebook 1 after row " + rows[j]);
            double[] row = new double[dim];
            for (int d = 0; d < dim; d++) {
                row[d] = tables[0][rows[j] * dim + d];
            }
            int[] expected = naiveResidualQuantize(row, tables, dim);
            for (int k = 2; k < 8; k++) {
                assertEquals(expected[k], codes[k * rows.length + j], "codebook " + k + " after row " + rows[j]);
            }
        }
    }

    /**
     * Equal distances go to the first row: with codebook 0 replaced by one distant row followed by
     * 1023 zero rows, every distance to a zero row is exactly ‖x‖² (the cross term is an exact zero
     * whatever the GEMM's summation order), so every frame must take row 1.
     */
    @Test
    void equalDistancesTakeTheFirstRow() {
        int dim = 32;
        ByteBuffer table = ByteBuffer.allocate(1024 * dim * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int d = 0; d < dim; d++) {
            table.putFloat(1000f); // row 0, far from everything
        }
        table.position(0);
        RawTensor ties = new RawTensor(CODEBOOK_0, DType.F32, new long[] {1024, dim}, table);
        try (SafetensorsFile st = SafetensorsFile.open(bark().resolve("model.safetensors"))) {
            TensorSource withTies = new TensorSource() {
                @Override
                public Set<String> names() {
                    return st.names();
                }

                @Override
                public RawTensor tensor(String name) {
                    return name.equals(CODEBOOK_0) ? ties : st.tensor(name);
                }

                @Override
                public void close() {}
            };
            for (DataType type : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                CodecEncoder encoder = CodecEncoder.load(new WeightStore(withTies, mgr, type),
                        BarkModel.CODEC_PREFIX, fp64.config(), 2);
                Random r = new Random(22);
                double[] x = new double[dim * 50];
                for (int i = 0; i < x.length; i++) {
                    x[i] = r.nextGaussian();
                }
                long[] codes = encoder.quantizerEncode(mgr.create(x, new Shape(1, dim, 50)).toType(type, false))
                        .toLongArray();
                for (int t = 0; t < 50; t++) {
                    assertEquals(1, codes[t], type + " frame " + t);
                }
            }
        }
    }
}

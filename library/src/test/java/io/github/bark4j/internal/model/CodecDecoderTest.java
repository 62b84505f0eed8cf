package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.nativ.NativeLibrary;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.testing.Diffs;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** The EnCodec decoder's kernels against naive Java loops, and short decodes on the fixture (FP64). */
class CodecDecoderTest {
    private static Pipeline synth;
    private static CodecDecoder codec;
    private NDManager mgr;

    @BeforeAll
    static void load() {
        synth = TestModels.tinyBark(Precision.FP64);
        codec = synth.model().codec;
    }

    @AfterAll
    static void close() {
        synth.close();
    }

    @BeforeEach
    void manager() {
        mgr = synth.model().manager().newSubManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    static double[] gaussian(Random r, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextGaussian();
        }
        return out;
    }

    /** out[b, co, t·stride + k] += x[b, ci, t] · w[ci, co, k], plus bias; length (T−1)·stride + K. */
    static double[] naiveConvTranspose(double[] x, double[] w, double[] bias, int b, int cin, int cout, int t,
            int kernel, int stride) {
        int len = (t - 1) * stride + kernel;
        double[] out = new double[b * cout * len];
        for (int bi = 0; bi < b; bi++) {
            for (int co = 0; co < cout; co++) {
                for (int i = 0; i < len; i++) {
                    out[(bi * cout + co) * len + i] = bias == null ? 0 : bias[co];
                }
                for (int ci = 0; ci < cin; ci++) {
                    for (int ti = 0; ti < t; ti++) {
                        double xv = x[(bi * cin + ci) * t + ti];
                        for (int k = 0; k < kernel; k++) {
                            out[(bi * cout + co) * len + ti * stride + k] += xv * w[(ci * cout + co) * kernel + k];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** A transposed convolution under test: x (B, Cin, T), w (Cin, Cout, K), bias or null → y. */
    private interface ConvTranspose {
        NDArray apply(NDArray x, NDArray w, NDArray bias, int stride);
    }

    private static final int[][] CONV_TRANSPOSE_CASES = { // b, cin, cout, t, kernel, stride
        {1, 4, 3, 5, 4, 2}, {2, 3, 5, 7, 7, 3}, {2, 8, 4, 6, 10, 5}, {1, 2, 2, 4, 3, 1},
        {3, 5, 2, 3, 2, 4}, {1, 6, 3, 1, 16, 8}, {2, 1, 1, 9, 5, 2}, {1, 16, 8, 200, 8, 4},
        {2, 16, 3, 7, 4, 2}, {3, 32, 5, 6, 10, 5}}; // batch > 1, input channels a multiple of 16: oneDNN in FP32

    /** {@code conv} equals the naive loops on every case: FP64 to 1e-12, FP32 to 1e-5, with and without bias. */
    private void assertEqualsNaiveConvTranspose(long seed, ConvTranspose conv, String label) {
        Random r = new Random(seed);
        for (int[] c : CONV_TRANSPOSE_CASES) {
            int b = c[0];
            int cin = c[1];
            int cout = c[2];
            int t = c[3];
            int kernel = c[4];
            int stride = c[5];
            double[] x = gaussian(r, b * cin * t);
            double[] w = gaussian(r, cin * cout * kernel);
            double[] bias = gaussian(r, cout);
            for (boolean withBias : new boolean[] {false, true}) {
                double[] expected = naiveConvTranspose(x, w, withBias ? bias : null, b, cin, cout, t, kernel, stride);
                for (DataType type : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                    String what = label + " " + Arrays.toString(c) + (withBias ? " bias " : " no bias ") + type;
                    NDArray xa = mgr.create(x, new Shape(b, cin, t)).toType(type, false);
                    NDArray wa = mgr.create(w, new Shape(cin, cout, kernel)).toType(type, false);
                    NDArray ba = withBias ? mgr.create(bias).toType(type, false) : null;
                    NDArray y = conv.apply(xa, wa, ba, stride);
                    assertEquals(type, y.getDataType(), what);
                    assertArrayEquals(new long[] {b, cout, (long) (t - 1) * stride + kernel}, y.getShape().getShape(),
                            what);
                    GptTest.assertClose(expected, Tensors.toDoubles(y), type == DataType.FLOAT64 ? 1e-12 : 1e-5, what);
                }
            }
        }
    }

    @Test
    void convTransposeByMatmulEqualsNaiveLoops() {
        assertEqualsNaiveConvTranspose(11, CodecDecoder::convTransposeByMatmul, "matmul");
    }

    /**
     * The native transposed convolution in chunks of the time axis (1, 2, 3 frames and whole
     * inputs, so chunk outputs overlap wherever kernel > stride) equals the naive loops. FP32 cases
     * whose input channels are not a multiple of 16 take the fallback (see the next test).
     */
    @Test
    void chunkedNativeConvTransposeEqualsNaiveLoops() {
        assumeTrue(NativeLibrary.isAvailable(), "native bridge not built");
        for (long frames : new long[] {1, 2, 3, 1 << 20}) {
            assertEqualsNaiveConvTranspose(12, (x, w, bias, stride) -> {
                long frameBytes = x.getShape().get(0) * w.getShape().get(1) * w.getShape().get(2)
                        * x.getDataType().getNumOfBytes();
                return CodecDecoder.convTransposeNative(x, w, bias, stride, frames * frameBytes);
            }, "chunks of " + frames + " frames");
        }
    }

    /** libtorch's FP32 transposed convolution is used only with input channels in multiples of 16. */
    @Test
    void nativeConvTransposeOnlyWhereLibtorchIsExact() {
        NDArray x5 = mgr.zeros(new Shape(2, 5, 3));
        NDArray w5 = mgr.zeros(new Shape(5, 2, 4));
        NDArray x16 = mgr.zeros(new Shape(2, 16, 3));
        NDArray w16 = mgr.zeros(new Shape(16, 2, 4));
        NDArray w512 = mgr.zeros(new Shape(512, 256, 16));
        assertFalse(CodecDecoder.nativeConvTransposeExact(x5, w5));
        assertFalse(CodecDecoder.nativeConvTransposeExact(x5.toType(DataType.FLOAT16, false), w5));
        assertTrue(CodecDecoder.nativeConvTransposeExact(x5.toType(DataType.FLOAT64, false),
                w5.toType(DataType.FLOAT64, false)));
        assertTrue(CodecDecoder.nativeConvTransposeExact(x16, w16));
        assertTrue(CodecDecoder.nativeConvTransposeExact(mgr.zeros(new Shape(1, 512, 3)), w512));
    }

    /**
     * EnCodec 24 kHz's four upsampling layers through libtorch (oneDNN in FP32: batch 2, or more
     * than 20480 input values at batch 1) equal the naive loops, with bias.
     */
    @Test
    void nativeConvTransposeIsExactAtEncodecLayerShapes() {
        assumeTrue(NativeLibrary.isAvailable(), "native bridge not built");
        Random r = new Random(13);
        int[][] layers = {{512, 256, 16, 8}, {256, 128, 10, 5}, {128, 64, 8, 4}, {64, 32, 4, 2}}; // cin, cout, k, s
        for (int[] l : layers) {
            for (int b : new int[] {1, 2}) {
                int cin = l[0];
                int cout = l[1];
                int kernel = l[2];
                int stride = l[3];
                int t = b == 1 ? 20480 / cin + 1 : 9;
                double[] x = gaussian(r, b * cin * t);
                double[] w = gaussian(r, cin * cout * kernel);
                double[] bias = gaussian(r, cout);
                double[] expected = naiveConvTranspose(x, w, bias, b, cin, cout, t, kernel, stride);
                NDArray xa = mgr.create(x, new Shape(b, cin, t)).toType(DataType.FLOAT32, false);
                NDArray wa = mgr.create(w, new Shape(cin, cout, kernel)).toType(DataType.FLOAT32, false);
                NDArray ba = mgr.create(bias).toType(DataType.FLOAT32, false);
                double[] nativeOut = Tensors.toDoubles(CodecDecoder.TransposedConv.NATIVE.apply(xa, wa, ba, stride));
                double[] matmulOut = Tensors.toDoubles(CodecDecoder.convTransposeByMatmul(xa, wa, ba, stride));
                // FP32 rounding of sums of up to cin·kernel/stride products: bounded by the FP32
                // fallback's own error (a wrong kernel is off by 0.1 and more)
                double bound = Math.max(1e-5, 4 * Diffs.maxAbsDiff(expected, matmulOut));
                GptTest.assertClose(expected, nativeOut, bound, Arrays.toString(l) + " batch " + b);
            }
        }
    }

    /**
     * EnCodec 24 kHz's convolutions in FP32 (through oneDNN: batch 2, or more than 20480 input
     * values at batch 1) equal FP64 to within FP32 rounding. oneDNN's AVX-512 FP32 kernels returned
     * wrong values on a Zen 5 host for some other channel counts (24 input channels: errors above
     * 1e-3 in most kernel shapes), so the shapes the decoder uses are pinned here.
     */
    @Test
    void conv1dIsExactAtEncodecLayerShapes() {
        Random r = new Random(14);
        int[][] convs = { // cin, cout, kernel: first conv, residual units (k3 then k1) per block, last conv
            {128, 512, 7}, {512, 256, 3}, {256, 512, 1}, {256, 128, 3}, {128, 256, 1}, {128, 64, 3},
            {64, 128, 1}, {64, 32, 3}, {32, 64, 1}, {32, 16, 3}, {16, 32, 1}, {32, 1, 7}};
        for (int[] c : convs) {
            for (int b : new int[] {1, 2}) {
                int cin = c[0];
                int cout = c[1];
                int kernel = c[2];
                int t = b == 1 ? 20480 / cin + kernel : 9;
                NDArray x = mgr.create(gaussian(r, b * cin * t), new Shape(b, cin, t));
                NDArray w = mgr.create(gaussian(r, cout * cin * kernel), new Shape(cout, cin, kernel));
                double[] exact = Tensors.toDoubles(Ops.conv1d(x, w, null, 1, 1));
                double[] fp32 = Tensors.toDoubles(Ops.conv1d(x.toType(DataType.FLOAT32, false),
                        w.toType(DataType.FLOAT32, false), null, 1, 1));
                // FP32 rounding of sums of cin·kernel unit-scale products stays far below this
                GptTest.assertClose(exact, fp32, 1e-6 * cin * kernel, Arrays.toString(c) + " batch " + b);
            }
        }
    }

    /** EnCodec's _pad1d in reflect mode, element by element, including its rule for short inputs. */
    static double[] naiveReflectPad(double[] x, int rows, int length, int left, int right) {
        int maxPad = Math.max(left, right);
        int extra = length <= maxPad ? maxPad - length + 1 : 0;
        int n = length + extra; // zero-extended length
        int outLen = left + length + right;
        double[] out = new double[rows * outLen];
        for (int row = 0; row < rows; row++) {
            for (int i = 0; i < outLen; i++) {
                int src = i - left; // position in the zero-extended input
                if (src < 0) {
                    src = -src;
                } else if (src >= n) {
                    src = 2 * (n - 1) - src;
                }
                out[row * outLen + i] = src < length ? x[row * length + src] : 0.0;
            }
        }
        return out;
    }

    @Test
    void reflectPadEqualsNaive() {
        Random r = new Random(12);
        int[][] pads = {{6, 0}, {3, 3}, {2, 1}, {0, 4}, {1, 0}, {5, 2}, {0, 0}};
        for (int length = 1; length <= 10; length++) {
            double[] x = gaussian(r, 2 * 3 * length);
            NDArray xa = mgr.create(x, new Shape(2, 3, length));
            for (int[] p : pads) {
                String what = "length " + length + " pad " + Arrays.toString(p);
                NDArray y = codec.pad(xa, p[0], p[1]);
                assertArrayEquals(new long[] {2, 3, length + p[0] + p[1]}, y.getShape().getShape(), what);
                assertArrayEquals(naiveReflectPad(x, 6, length, p[0], p[1]), Tensors.toDoubles(y), 0.0, what);
            }
        }
    }

    @Test
    void constantPadModeZeroPads() throws IOException {
        String json = Files.readString(SharedFiles.tinyBark().resolve("config.json"))
                .replace("\"pad_mode\": \"reflect\"", "\"pad_mode\": \"constant\"");
        CodecConfig constant = BarkConfig.parse(json).codec();
        assertEquals("constant", constant.padMode());
        CodecDecoder d = new CodecDecoder(constant, List.of(), null, null, List.of(), null,
                CodecDecoder.TransposedConv.MATMUL);
        double[] x = {1, 2, 3};
        NDArray y = d.pad(mgr.create(x, new Shape(1, 1, 3)), 4, 2);
        assertArrayEquals(new double[] {0, 0, 0, 0, 1, 2, 3, 0, 0}, Tensors.toDoubles(y), 0.0);
    }

    @Test
    void manualLstmEqualsFusedLstm() {
        Random r = new Random(13);
        int channels = 128; // 2^4 upsampling stages × 8 filters in the fixture
        for (int[] bt : new int[][] {{1, 1}, {2, 25}, {3, 7}}) {
            int b = bt[0];
            int t = bt[1];
            NDArray x = mgr.create(gaussian(r, b * channels * t), new Shape(b, channels, t));
            NDArray manual = codec.runLstm(x);
            NDArray fused = codec.runLstmFused(x);
            assertArrayEquals(new long[] {b, channels, t}, manual.getShape().getShape());
            assertArrayEquals(manual.getShape().getShape(), fused.getShape().getShape());
            double[] m = Tensors.toDoubles(manual);
            GptTest.assertClose(Tensors.toDoubles(fused), m, 1e-9, "LSTM b=" + b + " t=" + t);
            for (double v : m) {
                assertTrue(Math.abs(v) < 1, "LSTM outputs are bounded by tanh");
            }
            // each batch row on its own gives the same sequence
            if (b > 1) {
                NDArray row = x.get("1:2");
                double[] alone = Tensors.toDoubles(codec.runLstm(row));
                GptTest.assertClose(alone, Arrays.copyOfRange(m, channels * t, 2 * channels * t), 1e-12, "row 1");
            }
        }
    }

    /** The production decoder (fused LSTM) against the step-by-step reference, FP32 and FP64. */
    @Test
    void fusedLstmDecodeMatchesTheStepLoop() throws Exception {
        int[][] fine = Golden.byName("short").fine();
        for (Precision p : new Precision[] {Precision.FP32, Precision.FP64}) {
            try (Pipeline s = TestModels.tinyBark(p);
                    NDManager m = s.model().manager().newSubManager()) {
                CodecDecoder fused = s.model().codec.withFusedLstm(true);
                CodecDecoder steps = s.model().codec.withFusedLstm(false);
                long[] flat = new long[fine.length * fine[0].length];
                for (int k = 0; k < fine.length; k++) {
                    for (int t = 0; t < fine[0].length; t++) {
                        flat[k * fine[0].length + t] = fine[k][t];
                    }
                }
                NDArray codes = Tensors.ids(m, flat, 1, fine.length, fine[0].length);
                double[] a = Tensors.toDoubles(fused.decode(codes));
                double[] b = Tensors.toDoubles(steps.decode(codes));
                GptTest.assertClose(b, a, p == Precision.FP64 ? 1e-9 : 1e-5, "decode " + p);
            }
        }
    }

    /**
     * The upsampling stack in chunks, each started {@link CodecDecoder#warmUpFrames} early, gives
     * the samples of one whole-length pass, for lengths around and below the chunk size: FP64 to
     * 1e-12, FP32 to its rounding. With one warm-up frame fewer, samples after a chunk boundary
     * differ: the bound is needed, and the comparison sees a missing frame.
     */
    @Test
    void chunkedUpsamplingEqualsOnePass() throws Exception {
        // ratios 8 5 4 2 with kernels 2·ratio, residual kernels 3, last kernel 7 (as EnCodec 24 kHz):
        // the first exact sample of a chunk is (((8 + 2)·5 + 5 + 2)·4 + 4 + 2)·2 + 2 + 2 + 6 = 478,
        // in the second frame of 320 samples
        assertEquals(2, codec.warmUpFrames());
        for (Precision p : new Precision[] {Precision.FP64, Precision.FP32}) {
            try (Pipeline s = TestModels.tinyBark(p);
                    NDManager m = s.model().manager().newSubManager()) {
                CodecDecoder d = s.model().codec;
                int warmUp = d.warmUpFrames();
                Random r = new Random(17);
                int channels = 128; // 2^4 upsampling stages × 8 filters in the fixture
                for (int frames : new int[] {1, 4, 9, 23}) {
                    NDArray latent = m.create(gaussian(r, 2 * channels * frames), new Shape(2, channels, frames))
                            .toType(p == Precision.FP64 ? DataType.FLOAT64 : DataType.FLOAT32, false);
                    double[] whole = Tensors.toDoubles(d.upsampleInChunks(latent.duplicate(), frames, warmUp));
                    assertEquals(2 * frames * 320, whole.length);
                    double scale = Arrays.stream(whole).map(Math::abs).max().orElse(0);
                    double bound = p == Precision.FP64 ? 1e-12 : 1e-5 * scale;
                    for (int chunk : new int[] {1, 2, 5, 8}) {
                        String what = p + " " + frames + " frames in chunks of " + chunk;
                        double[] chunked = Tensors.toDoubles(d.upsampleInChunks(latent.duplicate(), chunk, warmUp));
                        GptTest.assertClose(whole, chunked, bound, what);
                        if (frames > chunk) {
                            double[] short1 = Tensors.toDoubles(
                                    d.upsampleInChunks(latent.duplicate(), chunk, warmUp - 1));
                            assertTrue(Diffs.maxAbsDiff(whole, short1) > 100 * bound,
                                    what + ": one warm-up frame fewer changes samples");
                        }
                    }
                }
            }
        }
    }

    @Test
    void quantizerDecodeSumsCodebookRows() {
        int books = codec.numCodebooks();
        assertEquals(8, books);
        int dim = codec.config().codebookDim();
        float[][] tables = new float[books][];
        try (SafetensorsFile st = SafetensorsFile.open(SharedFiles.tinyBark().resolve("model.safetensors"))) {
            for (int i = 0; i < books; i++) {
                tables[i] = st.tensor("codec_model.quantizer.layers." + i + ".codebook.embed").toFloatArray();
            }
        }
        Random r = new Random(14);
        for (int k : new int[] {books, 2}) {
            int b = 2;
            int t = 5;
            long[] codes = new long[b * k * t];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = r.nextInt(1024);
            }
            codes[0] = 0;
            codes[1] = 1023;
            double[] expected = new double[b * dim * t];
            for (int bi = 0; bi < b; bi++) {
                for (int ti = 0; ti < t; ti++) {
                    for (int d = 0; d < dim; d++) {
                        double sum = 0;
                        for (int i = 0; i < k; i++) {
                            int code = (int) codes[(bi * k + i) * t + ti];
                            sum += tables[i][code * dim + d];
                        }
                        expected[(bi * dim + d) * t + ti] = sum;
                    }
                }
            }
            NDArray y = codec.quantizerDecode(Tensors.ids(mgr, codes, b, k, t));
            assertArrayEquals(new long[] {b, dim, t}, y.getShape().getShape());
            GptTest.assertClose(expected, Tensors.toDoubles(y), 1e-12, k + " codebooks");
        }
    }

    @Test
    void veryShortCodeSequencesDecode() {
        Random r = new Random(15);
        int hop = codec.config().hopLength();
        assertEquals(320, hop);
        for (int frames = 1; frames <= 3; frames++) {
            long[] codes = new long[2 * 8 * frames];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = r.nextInt(1024);
            }
            NDArray audio = codec.decode(Tensors.ids(mgr, codes, 2, 8, frames));
            assertArrayEquals(new long[] {2, (long) frames * hop}, audio.getShape().getShape(), frames + " frames");
            double[] both = Tensors.toDoubles(audio);
            double energy = 0;
            for (double v : both) {
                assertTrue(Double.isFinite(v));
                energy += v * v;
            }
            assertTrue(energy > 0, "decoded audio is not silent");
            // batch rows decode as they do alone
            for (int b = 0; b < 2; b++) {
                long[] row = Arrays.copyOfRange(codes, b * 8 * frames, (b + 1) * 8 * frames);
                double[] alone = Tensors.toDoubles(codec.decode(Tensors.ids(mgr, row, 1, 8, frames)));
                GptTest.assertClose(alone, Arrays.copyOfRange(both, b * frames * hop, (b + 1) * frames * hop), 1e-10,
                        frames + " frames, row " + b);
            }
        }
    }

    /** The Synthesizer's decode path gives the same samples as the codec on the same codes. */
    @Test
    void synthesizerDecodeMatchesCodec() {
        Random r = new Random(16);
        int frames = 4;
        int[][] fine = new int[8][frames];
        long[] flat = new long[8 * frames];
        for (int k = 0; k < 8; k++) {
            for (int t = 0; t < frames; t++) {
                fine[k][t] = r.nextInt(1024);
                flat[k * frames + t] = fine[k][t];
            }
        }
        float[] samples = synth.decode(mgr, fine);
        double[] direct = Tensors.toDoubles(codec.decode(Tensors.ids(mgr, flat, 1, 8, frames)));
        assertEquals(direct.length, samples.length);
        for (int i = 0; i < samples.length; i++) {
            assertEquals((float) direct[i], samples[i], 0.0f);
        }
    }
}

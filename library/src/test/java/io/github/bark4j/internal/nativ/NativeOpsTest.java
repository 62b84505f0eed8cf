package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

class NativeOpsTest {

    private NDManager manager;

    @BeforeAll
    static void bridgeLoads() {
        if (Boolean.getBoolean("bark4j.native.skip")) {
            assumeTrue(NativeOps.isAvailable(), "native bridge not built: " + NativeOps.unavailableReason());
        }
        // on linux-x86_64 the build makes the bridge, so it must load
        assertTrue(NativeOps.isAvailable(), () -> "bridge unavailable: " + NativeOps.unavailableReason());
        assertNull(NativeOps.unavailableReason());
    }

    @BeforeEach
    void open() {
        manager = Engine.getEngine("PyTorch").newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    // ---------------------------------------------------------------- symbols and loading

    @Test
    void loadedLibtorchExportsEverySymbolTheBridgeCalls() throws Exception {
        Path libtorch = NativeLibrary.loadedLibrary("libtorch_cpu.so");
        assertTrue(libtorch != null, "libtorch_cpu.so is mapped");
        // the real libtorch DJL extracted, never the build-time stub
        assertFalse(libtorch.startsWith(Path.of("target").toAbsolutePath()), libtorch.toString());
        Set<String> defined = ElfDynamicSymbols.read(libtorch).defined();
        assertTrue(defined.size() > 10_000, "libtorch exports many symbols: " + defined.size());
        for (String symbol : NativeLibrary.REQUIRED_SYMBOLS) {
            assertTrue(defined.contains(symbol), "libtorch exports " + symbol);
        }
        assertEquals(Set.of(), NativeLibrary.missingSymbols(libtorch));
    }

    /** NNPACK off: libtorch never probes it, so it never prints its "Unsupported hardware" warning. */
    @Test
    void loadingTheBridgeTurnsNnpackOff() {
        assertFalse(NativeOpsBridge.nnpackEnabled());
    }

    @Test
    void bridgeNeedsExactlyTheListedLibtorchSymbols() throws Exception {
        Path bridge =
                Path.of(NativeLibrary.class.getResource(NativeLibrary.BRIDGE_RESOURCE).toURI());
        ElfDynamicSymbols symbols = ElfDynamicSymbols.read(bridge);
        Set<String> fromTorch = new HashSet<>();
        for (String s : symbols.undefined()) {
            if (s.startsWith("_ZN2at") || s.startsWith("_ZNK2at") || s.startsWith("_ZN3c10")
                    || s.startsWith("_ZNK3c10") || s.startsWith("_ZN5torch")) {
                fromTorch.add(s);
            }
        }
        assertEquals(new HashSet<>(NativeLibrary.REQUIRED_SYMBOLS), fromTorch);
        assertTrue(symbols.defined().contains("JNI_OnLoad"));
    }

    @Test
    void missingSymbolsAreReportedForOtherLibraries() throws Exception {
        Path stub = Path.of("target/native-stub/libtorch_cpu.so");
        assertEquals(
                new HashSet<>(NativeLibrary.REQUIRED_SYMBOLS), NativeLibrary.missingSymbols(stub));
    }

    // ---------------------------------------------------------------- attention

    @Test
    void attentionMatchesNaiveReference() {
        int[][] cases = { // B, H, Tq, Tk, hd
            {1, 1, 1, 1, 4}, {2, 3, 1, 7, 8}, {2, 2, 5, 5, 16}, {1, 4, 3, 9, 8}, {3, 2, 6, 4, 5}
        };
        for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
            double tol = dtype == DataType.FLOAT32 ? 1e-5 : 1e-12;
            for (int[] c : cases) {
                NDArray q = random(dtype, 11, c[0], c[1], c[2], c[4]);
                NDArray k = random(dtype, 12, c[0], c[1], c[3], c[4]);
                NDArray v = random(dtype, 13, c[0], c[1], c[3], c[4]);
                String what = dtype + " " + Arrays.toString(c);
                // no mask
                assertClose(naiveAttention(q, k, v, null),
                        NativeOps.scaledDotProductAttention(q, k, v, false), tol, what);
                if (c[2] <= c[3]) {
                    // bottom-right causal (KV-cache decoding), incl. Tq == 1 and Tq == Tk
                    NDArray expected = naiveAttention(q, k, v, causalMask(dtype, c[2], c[3], true));
                    NDArray actual = NativeOps.scaledDotProductAttention(q, k, v, true);
                    assertClose(expected, actual, tol, what + " causal");
                    assertEquals(new Shape(c[0], c[1], c[2], c[4]), actual.getShape());
                    assertEquals(dtype, actual.getDataType());
                }
                // top-left causal as an explicit additive mask
                NDArray topLeft = causalMask(dtype, c[2], c[3], false);
                assertClose(naiveAttention(q, k, v, topLeft),
                        NativeOps.scaledDotProductAttention(q, k, v, topLeft, false), tol,
                        what + " top-left mask");
            }
        }
    }

    @Test
    void bottomRightDiffersFromTopLeftWhenQueriesAreFewerThanKeys() {
        NDArray q = random(DataType.FLOAT32, 1, 1, 2, 3, 8);
        NDArray k = random(DataType.FLOAT32, 2, 1, 2, 6, 8);
        NDArray v = random(DataType.FLOAT32, 3, 1, 2, 6, 8);
        NDArray bottomRight = NativeOps.scaledDotProductAttention(q, k, v, true);
        NDArray topLeft = naiveAttention(q, k, v, causalMask(DataType.FLOAT32, 3, 6, false));
        assertTrue(bottomRight.sub(topLeft).abs().max().getFloat() > 1e-3);
        // the last query sees every key: same as no mask
        NDArray unmasked = NativeOps.scaledDotProductAttention(q, k, v, false);
        assertClose(unmasked.get(":, :, 2:3, :"), bottomRight.get(":, :, 2:3, :"), 1e-6, "last row");
    }

    @Test
    void attentionAcceptsNonContiguousViews() {
        // (B, T, heads, hd) transposed to (B, heads, T, hd), as a model's reshape would give
        NDArray q = random(DataType.FLOAT32, 71, 2, 4, 3, 8).transpose(0, 2, 1, 3);
        NDArray k = random(DataType.FLOAT32, 72, 2, 6, 3, 8).transpose(0, 2, 1, 3);
        NDArray v = random(DataType.FLOAT32, 73, 2, 6, 3, 8).transpose(0, 2, 1, 3);
        assertClose(naiveAttention(q, k, v, causalMask(DataType.FLOAT32, 4, 6, true)),
                NativeOps.scaledDotProductAttention(q, k, v, true), 1e-5, "views");
    }

    @Test
    void attentionWithBooleanAndAdditiveMasksCombinedWithCausal() {
        int tq = 3;
        int tk = 7;
        NDArray q = random(DataType.FLOAT32, 21, 2, 2, tq, 8);
        NDArray k = random(DataType.FLOAT32, 22, 2, 2, tk, 8);
        NDArray v = random(DataType.FLOAT32, 23, 2, 2, tk, 8);
        // padding mask hiding the first two keys of batch 1 only, shape (B, 1, 1, Tk)
        boolean[] keep = new boolean[2 * tk];
        float[] additive = new float[2 * tk];
        for (int b = 0; b < 2; b++) {
            for (int j = 0; j < tk; j++) {
                keep[b * tk + j] = !(b == 1 && j < 2);
                additive[b * tk + j] = keep[b * tk + j] ? 0f : Float.NEGATIVE_INFINITY;
            }
        }
        NDArray boolMask = manager.create(keep, new Shape(2, 1, 1, tk));
        NDArray addMask = manager.create(additive, new Shape(2, 1, 1, tk));
        NDArray expected = naiveAttention(
                q, k, v, addMask.add(causalMask(DataType.FLOAT32, tq, tk, true)));
        assertClose(expected, NativeOps.scaledDotProductAttention(q, k, v, boolMask, true), 1e-5, "bool");
        assertClose(expected, NativeOps.scaledDotProductAttention(q, k, v, addMask, true), 1e-5, "add");
        assertClose(naiveAttention(q, k, v, addMask),
                NativeOps.scaledDotProductAttention(q, k, v, boolMask, false), 1e-5, "bool only");
        // the caller's mask is left as it was
        assertEquals(DataType.BOOLEAN, boolMask.getDataType());
        assertEquals(new Shape(2, 1, 1, tk), boolMask.getShape());
    }

    @Test
    void attentionInHalfPrecision() {
        NDArray q = random(DataType.FLOAT32, 31, 1, 2, 4, 8).toType(DataType.FLOAT16, false);
        NDArray k = random(DataType.FLOAT32, 32, 1, 2, 6, 8).toType(DataType.FLOAT16, false);
        NDArray v = random(DataType.FLOAT32, 33, 1, 2, 6, 8).toType(DataType.FLOAT16, false);
        NDArray actual = NativeOps.scaledDotProductAttention(q, k, v, true);
        assertEquals(DataType.FLOAT16, actual.getDataType());
        NDArray expected = naiveAttention(
                q.toType(DataType.FLOAT32, false), k.toType(DataType.FLOAT32, false),
                v.toType(DataType.FLOAT32, false), causalMask(DataType.FLOAT32, 4, 6, true));
        assertClose(expected, actual.toType(DataType.FLOAT32, false), 1e-2, "fp16");
    }

    @Test
    void resultBelongsToTheQueryManagerAndOutlivesTheInputs() {
        NDArray out;
        try (NDManager inputs = manager.newSubManager()) {
            NDArray q = inputs.ones(new Shape(1, 1, 2, 4));
            NDArray k = inputs.ones(new Shape(1, 1, 3, 4));
            NDArray v = inputs.arange(12f).reshape(1, 1, 3, 4);
            out = NativeOps.scaledDotProductAttention(q, k, v, true);
            assertTrue(out instanceof PtNDArray);
            assertTrue(out.getManager() == inputs);
            out.attach(manager);
        }
        // row 0 sees keys 0..1 equally, row 1 sees keys 0..2 equally
        assertArrayEquals(new float[] {2, 3, 4, 5, 4, 5, 6, 7}, out.toFloatArray(), 1e-5f);
    }

    @Test
    void attentionRejectsBadArguments() {
        NDArray q = random(DataType.FLOAT32, 1, 1, 2, 3, 8);
        NDArray k = random(DataType.FLOAT32, 2, 1, 2, 5, 8);
        NDArray v = random(DataType.FLOAT32, 3, 1, 2, 5, 8);
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q.reshape(2, 3, 8), k, v, false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q, k.toType(DataType.FLOAT64, false), v, false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q.toType(DataType.INT32, false),
                        k.toType(DataType.INT32, false), v.toType(DataType.INT32, false), false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q, k, v.get(":, :, 0:4, :"), false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q, k.get(":, :, :, 0:4"), v, false));
        // causal with more queries than keys is not defined bottom-right
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(k, q, q, true));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q, k, v, manager.zeros(new Shape(3, 4)), false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(q, k, v,
                        manager.zeros(new Shape(3, 5), DataType.FLOAT64), false));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.scaledDotProductAttention(null, k, v, false));
        // passes the Java checks, fails inside ATen (mask batch 3 vs 1): a Java exception
        EngineException e = assertThrows(EngineException.class,
                () -> NativeOps.scaledDotProductAttention(q, k, v,
                        manager.zeros(new Shape(3, 2, 3, 5)), false));
        assertTrue(e.getMessage().contains("scaled_dot_product_attention"), e.getMessage());
    }

    // ---------------------------------------------------------------- conv_transpose1d

    @Test
    void convTranspose1dMatchesNaiveLoop() {
        // input channels per group in multiples of 16: libtorch hands FP32 batches to oneDNN, whose
        // deconvolution is wrong on some CPUs for other counts (CodecDecoder.nativeConvTransposeExact)
        int[][] cases = { // B, Cin, Cout/groups, T, K, stride, padding, outputPadding, groups, dilation
            {1, 16, 1, 5, 3, 1, 0, 0, 1, 1},
            {2, 16, 4, 7, 4, 2, 1, 0, 1, 1},
            {2, 32, 2, 6, 8, 4, 2, 1, 1, 1},
            {3, 32, 3, 5, 3, 2, 0, 1, 2, 1},
            {1, 16, 5, 9, 16, 8, 4, 0, 1, 1},
            {2, 48, 1, 4, 3, 3, 1, 2, 3, 2},
            {1, 16, 2, 4, 2, 1, 0, 1, 1, 3},
        };
        for (DataType dtype : new DataType[] {DataType.FLOAT32, DataType.FLOAT64}) {
            double tol = dtype == DataType.FLOAT32 ? 1e-4 : 1e-11;
            for (int[] c : cases) {
                int b = c[0];
                int cin = c[1];
                int coutG = c[2];
                int t = c[3];
                int kk = c[4];
                int groups = c[8];
                double[] x = randomDoubles(41, b * cin * t);
                double[] w = randomDoubles(42, cin * coutG * kk);
                double[] bias = randomDoubles(43, coutG * groups);
                for (boolean withBias : new boolean[] {false, true}) {
                    double[] expected = naiveConvTranspose1d(x, w, withBias ? bias : null, b, cin,
                            coutG, t, kk, c[5], c[6], c[7], groups, c[9]);
                    int length = expected.length / (b * coutG * groups);
                    NDArray out = NativeOps.convTranspose1d(
                            array(dtype, x, b, cin, t), array(dtype, w, cin, coutG, kk),
                            withBias ? array(dtype, bias, coutG * groups) : null,
                            c[5], c[6], c[7], groups, c[9]);
                    String what = dtype + " " + Arrays.toString(c) + " bias=" + withBias;
                    assertEquals(new Shape(b, coutG * groups, length), out.getShape(), what);
                    assertEquals(dtype, out.getDataType(), what);
                    assertArrayEquals(expected, out.toType(DataType.FLOAT64, false).toDoubleArray(),
                            tol, what);
                }
            }
        }
    }

    @Test
    void convTranspose1dRejectsBadArguments() {
        NDArray x = manager.ones(new Shape(1, 2, 5));
        NDArray w = manager.ones(new Shape(2, 3, 4));
        NDArray b = manager.ones(new Shape(3));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, -1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, 0, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, 2, -1, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, 2, 0, 2, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x.reshape(2, 5), w, b, 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w.reshape(6, 4), b, 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w.toType(DataType.FLOAT64, false), b, 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b.toType(DataType.FLOAT64, false), 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, manager.ones(new Shape(3, 3, 4)), b, 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, manager.ones(new Shape(4)), 1, 0, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, 1, 0, 0, 3, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x, w, b, 1, 9, 0, 1, 1));
        assertThrows(IllegalArgumentException.class,
                () -> NativeOps.convTranspose1d(x.toType(DataType.INT32, false),
                        w.toType(DataType.INT32, false), null, 1, 0, 0, 1, 1));
        // still usable afterwards
        assertEquals(new Shape(1, 3, 8), NativeOps.convTranspose1d(x, w, b, 1, 0, 0, 1, 1).getShape());
    }

    // ---------------------------------------------------------------- references and helpers

    /** softmax(q k^T / sqrt(hd) + mask) v with plain DJL ops. */
    private static NDArray naiveAttention(NDArray q, NDArray k, NDArray v, NDArray additiveMask) {
        double scale = 1.0 / Math.sqrt(q.getShape().get(3));
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(scale);
        if (additiveMask != null) {
            scores = scores.add(additiveMask);
        }
        return scores.softmax(-1).matMul(v);
    }

    /** Additive (Tq, Tk) causal mask: query i sees keys j <= i (+ Tk - Tq when bottom-right). */
    private NDArray causalMask(DataType dtype, int tq, int tk, boolean bottomRight) {
        double[] m = new double[tq * tk];
        int offset = bottomRight ? tk - tq : 0;
        for (int i = 0; i < tq; i++) {
            for (int j = 0; j < tk; j++) {
                m[i * tk + j] = j <= i + offset ? 0 : Double.NEGATIVE_INFINITY;
            }
        }
        return array(dtype, m, tq, tk);
    }

    private static double[] naiveConvTranspose1d(double[] x, double[] w, double[] bias, int batch,
            int cin, int coutG, int t, int kk, int stride, int padding, int outputPadding,
            int groups, int dilation) {
        int length = (t - 1) * stride - 2 * padding + dilation * (kk - 1) + outputPadding + 1;
        int cout = coutG * groups;
        int cinG = cin / groups;
        double[] out = new double[batch * cout * length];
        for (int b = 0; b < batch; b++) {
            for (int oc = 0; oc < cout; oc++) {
                int g = oc / coutG;
                int ocg = oc % coutG;
                for (int o = 0; o < length; o++) {
                    out[(b * cout + oc) * length + o] = bias == null ? 0 : bias[oc];
                }
                for (int ci = g * cinG; ci < (g + 1) * cinG; ci++) {
                    for (int i = 0; i < t; i++) {
                        for (int j = 0; j < kk; j++) {
                            int o = i * stride - padding + j * dilation;
                            if (o >= 0 && o < length) {
                                out[(b * cout + oc) * length + o] +=
                                        x[(b * cin + ci) * t + i] * w[(ci * coutG + ocg) * kk + j];
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private NDArray random(DataType dtype, long seed, long... shape) {
        return array(dtype, randomDoubles(seed, (int) new Shape(shape).size()), shape);
    }

    private NDArray array(DataType dtype, double[] values, long... shape) {
        return manager.create(values, new Shape(shape)).toType(dtype, false);
    }

    private static double[] randomDoubles(long seed, int n) {
        Random r = new Random(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = r.nextGaussian();
        }
        return d;
    }

    private static void assertClose(NDArray expected, NDArray actual, double tol, String what) {
        assertEquals(expected.getShape(), actual.getShape(), what);
        double[] e = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] a = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            assertFalse(Double.isNaN(a[i]), what + ": NaN at " + i);
            assertEquals(e[i], a[i], tol * Math.max(1, Math.abs(e[i])), what + " at " + i);
        }
        assertNotEquals(0, e.length);
    }
}

package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.internal.model.Ops;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The small-batch kernels against libtorch's {@code linear} and a naive FP64 loop (the Jlama way:
 * every fast kernel next to an obvious one), at every weight shape of bark-small and bark, for 1 to
 * 17 rows, on each instruction set this CPU has (AVX-512, AVX2, portable).
 */
public class NativeKernelsTest extends KernelTestBase {
    /** (out, in) of every matmul of bark-small (hidden 768) and bark (hidden 1024), heads included. */
    static final int[][] SHAPES = {
        {2304, 768}, {768, 768}, {3072, 768}, {768, 3072}, {10048, 768}, {12096, 768}, {1056, 768},
        {3072, 1024}, {1024, 1024}, {4096, 1024}, {1024, 4096}, {10048, 1024}, {12096, 1024}, {1056, 1024},
    };
    /**
     * Shapes whose sizes are not multiples of the vector width (16), the one-row kernel's unrolled
     * step (64) or the output block (4), so every tail path runs; (7, 64) and (900, 64) are
     * attention's q·K shape (head size 64) at a short and a long context.
     */
    static final int[][] EDGE_SHAPES = {{1, 1}, {5, 7}, {37, 45}, {3, 100}, {130, 200}, {7, 64}, {900, 64}};
    static final int[] ROWS = {1, 2, 3, 4, 5, 8, 16, 17};

    private static List<int[]> allShapes() {
        List<int[]> shapes = new ArrayList<>(List.of(SHAPES));
        shapes.addAll(List.of(EDGE_SHAPES));
        return shapes;
    }

    private static NDManager manager;

    @BeforeAll
    static void open() {
        manager = Engine.getEngine("PyTorch").newBaseManager();
    }

    @AfterAll
    static void close() {
        if (manager != null) {
            manager.close();
        }
    }

    /** Unit-scale data: x ~ N(0, 1), W ~ N(0, 1 / in), so every output is ~N(0, 1). */
    public static float[] normal(SplittableRandom random, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            // Box-Muller
            double u = 1 - random.nextDouble();
            double v = random.nextDouble();
            out[i] = (float) (std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
        }
        return out;
    }

    private static List<Integer> isas() {
        List<Integer> isas = new ArrayList<>();
        for (int isa = NativeKernels.PORTABLE; isa <= bestIsa; isa++) {
            isas.add(isa);
        }
        return isas;
    }

    @Test
    void fp32MatchesLibtorchLinearAndTheNaiveLoopAtEveryShape() {
        SplittableRandom random = new SplittableRandom(7);
        for (int[] shape : allShapes()) {
            int out = shape[0];
            int in = shape[1];
            try (NDManager m = manager.newSubManager()) {
                float[] w = normal(random, out * in, 1 / Math.sqrt(in));
                float[] b = normal(random, out, 1);
                NDArray weight = m.create(w, new Shape(out, in));
                NDArray bias = m.create(b, new Shape(out));
                for (int rows : ROWS) {
                    float[] x = normal(random, rows * in, 1);
                    NDArray input = m.create(x, new Shape(rows, in));
                    float[] torch = Ops.linear(input, weight, bias).toFloatArray();
                    double[] naive = naive(x, rows, in, w, out, b);
                    for (int isa : isas()) {
                        NativeKernels.useIsa(isa);
                        NDArray y = m.zeros(new Shape(rows, out));
                        NativeKernels.linear(input, weight, bias, y);
                        String what = out + "x" + in + ", " + rows + " rows, isa " + isa;
                        assertClose(torch, y.toFloatArray(), 1e-5, "vs libtorch " + what);
                        assertClose(naive, y.toFloatArray(), 1e-5, "vs naive " + what);
                    }
                    NativeKernels.useIsa(bestIsa);
                }
            }
        }
    }

    @Test
    void bf16MatchesAnFp64ProductOfTheRoundedWeights() {
        SplittableRandom random = new SplittableRandom(11);
        for (int[] shape : allShapes()) {
            int out = shape[0];
            int in = shape[1];
            try (NDManager m = manager.newSubManager()) {
                float[] w = normal(random, out * in, 1 / Math.sqrt(in));
                float[] rounded = new float[w.length];
                for (int i = 0; i < w.length; i++) {
                    rounded[i] = roundToBf16(w[i]);
                }
                NDArray weight = m.create(w, new Shape(out, in));
                try (NativeKernels.Bf16Weights bf16 = new NativeKernels.Bf16Weights(weight)) {
                    for (int rows : new int[] {1, 4, 7, 16}) {
                        float[] x = normal(random, rows * in, 1);
                        NDArray input = m.create(x, new Shape(rows, in));
                        double[] exact = naive(x, rows, in, rounded, out, null);
                        for (int isa : isas()) {
                            NativeKernels.useIsa(isa);
                            NDArray y = m.zeros(new Shape(rows, out));
                            NativeKernels.linear(input, bf16, null, y);
                            assertClose(exact, y.toFloatArray(), 1e-5,
                                    "bf16 " + out + "x" + in + ", " + rows + " rows, isa " + isa);
                        }
                        NativeKernels.useIsa(bestIsa);
                    }
                }
            }
        }
    }

    @Test
    void fp64MatchesTheNaiveLoop() {
        SplittableRandom random = new SplittableRandom(3);
        try (NDManager m = manager.newSubManager()) {
            int out = 1056;
            int in = 768;
            float[] w = normal(random, out * in, 1 / Math.sqrt(in));
            float[] b = normal(random, out, 1);
            for (int rows : new int[] {1, 3, 16, 20}) {
                float[] x = normal(random, rows * in, 1);
                NDArray y = m.zeros(new Shape(rows, out), DataType.FLOAT64);
                NativeKernels.linear(m.create(x, new Shape(rows, in)).toType(DataType.FLOAT64, false),
                        m.create(w, new Shape(out, in)).toType(DataType.FLOAT64, false),
                        m.create(b, new Shape(out)).toType(DataType.FLOAT64, false), y);
                assertClose(naive(x, rows, in, w, out, b), y.toDoubleArray(), 1e-12, "fp64 " + rows + " rows");
            }
        }
    }

    /** Jlama-style reference: the obvious triple loop in doubles. */
    private static double[] naive(float[] x, int rows, int in, float[] w, int out, float[] bias) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++) {
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int k = 0; k < in; k++) {
                    s += (double) x[r * in + k] * w[o * in + k];
                }
                y[r * out + o] = s;
            }
        }
        return y;
    }

    /** Round to nearest even bfloat16, the obvious way (finite inputs). */
    public static float roundToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int lower = bits & 0xffff;
        int upper = bits & 0xffff0000;
        if (lower > 0x8000 || (lower == 0x8000 && (upper & 0x10000) != 0)) {
            upper += 0x10000;
        }
        return Float.intBitsToFloat(upper);
    }

    @Test
    void bf16RoundingMatchesLibtorch() {
        SplittableRandom random = new SplittableRandom(5);
        float[] w = normal(random, 4096, 3);
        w[0] = 1.00390625f; // exactly half way between two bf16 values: rounds to even
        w[1] = 1.01171875f;
        try (NDManager m = manager.newSubManager();
                NativeKernels.Bf16Weights bf16 = new NativeKernels.Bf16Weights(m.create(w, new Shape(1, 4096)))) {
            // x = e_i picks weight i exactly
            for (int i : new int[] {0, 1, 2, 100, 4095}) {
                float[] x = new float[4096];
                x[i] = 1;
                NDArray y = m.zeros(new Shape(1, 1));
                NativeKernels.linear(m.create(x, new Shape(1, 4096)), bf16, null, y);
                assertEquals(roundToBf16(w[i]), y.getFloat(0, 0), 0.0, "weight " + i);
            }
            assertEquals(1.0f, roundToBf16(1.00390625f));
            assertEquals(1.015625f, roundToBf16(1.01171875f));
        }
    }

    @Test
    void kernelsUseLibtorchsThreadsAndItsOpenMpRuntime() throws Exception {
        assertEquals(JniUtils.getNumThreads(), NativeKernels.threads());
        Path openmp = Path.of(NativeOpsBridge.openmpLibrary());
        Path libtorch = NativeLibrary.loadedLibrary("libtorch_cpu.so");
        assertEquals(libtorch.getParent(), openmp.getParent(), "OpenMP comes from libtorch's folder: " + openmp);
        assertTrue(openmp.getFileName().toString().startsWith("libgomp-"), openmp.toString());
        long runtimes = NativeLibrary.mappedFiles().stream()
                .filter(p -> p.getFileName().toString().startsWith("libgomp")
                        || p.getFileName().toString().startsWith("libiomp")
                        || p.getFileName().toString().startsWith("libomp"))
                .count();
        assertEquals(1, runtimes, "one OpenMP runtime mapped: " + NativeLibrary.mappedFiles());
    }

    @Test
    void rejectsBadArguments() {
        try (NDManager m = manager.newSubManager()) {
            NDArray w = m.ones(new Shape(8, 4));
            NDArray x = m.ones(new Shape(2, 4));
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.linear(x, w, null, m.zeros(new Shape(2, 7))));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.linear(m.ones(new Shape(2, 5)), w, null, m.zeros(new Shape(2, 8))));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.linear(x, w, m.ones(new Shape(7)), m.zeros(new Shape(2, 8))));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.linear(x.toType(DataType.FLOAT64, false), w, null, m.zeros(new Shape(2, 8))));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.linear(x, w.toType(DataType.INT32, false), null, m.zeros(new Shape(2, 8))));
            // a strided view is not read in place
            NDArray view = m.ones(new Shape(4, 8)).transpose();
            assertFalse(NativeKernels.Contiguity.isContiguous((ai.djl.pytorch.engine.PtNDArray) view));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.linear(x, view, null, m.zeros(new Shape(2, 8))));
            assertTrue(NativeKernels.Contiguity.isContiguous((ai.djl.pytorch.engine.PtNDArray) w));
        }
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
            }
        }
    }

    static void assertClose(double[] expected, float[] actual, double tol, String what) {
        double[] a = new double[actual.length];
        for (int i = 0; i < a.length; i++) {
            a[i] = actual[i];
        }
        assertClose(expected, a, tol, what);
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " got " + actual[i]);
            }
        }
    }
}

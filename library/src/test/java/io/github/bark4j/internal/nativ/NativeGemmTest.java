package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

import java.util.SplittableRandom;

/**
 * The full passes' GEMMs ({@code bark4j_gemm.h}).
 *
 * <ul>
 *   <li>FP32, against libtorch's {@code linear} and an FP64 product: at the pass shapes of
 *       bark-small and bark (1024 positions, every weight, K up to 4096) and at shapes around its
 *       blocking (6-row strips, 96-row blocks, 64-output panels of four 16-output vectors, k blocks
 *       of at most 1024, k not a multiple of 16), so every tail runs. Its error from FP64 must stay within libtorch's own FP32 error
 *       (or 1e-5).
 *   <li>BF16 (bfloat16 operands, FP32 sums), against a naive double loop over the same rounded
 *       operands: within the FP32 summation bound at every pass shape, and exactly equal where the
 *       operands are small integers (every partial sum is then exact in FP32, so any wrong or
 *       missing element shows), at the pass shapes and around every blocking edge (6-row strips,
 *       96-row blocks, 64-output panels, k pairs, k blocks of at most 2048, odd K), with and
 *       without bias, on one thread and two with the same bits.
 * </ul>
 */
class NativeGemmTest extends KernelTestBase {
    /** (out, in) of the passes' matmuls: bark-small (hidden 768), bark (hidden 1024). */
    private static final int[][] PASS_SHAPES = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}, {4096, 1024},
        {1024, 4096}};
    /** (rows, out, in) around the blocking. */
    private static final int[][] EDGE_SHAPES = {
        {1, 1, 1}, {1, 33, 5}, {5, 17, 16}, {6, 64, 17}, {7, 65, 100}, {13, 63, 33}, {95, 64, 768}, {96, 31, 768},
        {97, 129, 31}, {200, 1, 3}, {887, 96, 64}, {13, 40, 383}, {25, 33, 1025}, {7, 70, 2049}, {30, 130, 3073},
    };
    /** (rows, out, in) around the BF16 blocking: strips of 6, blocks of 96, panels of 64, k blocks of 2048, odd k. */
    private static final int[][] BF16_EDGE_SHAPES = {
        {1, 1, 1}, {1, 1, 2}, {1, 33, 5}, {5, 17, 16}, {6, 64, 17}, {7, 65, 100}, {13, 63, 33}, {95, 64, 768},
        {96, 31, 768}, {97, 129, 31}, {200, 1, 3}, {887, 96, 64}, {11, 16, 767}, {25, 15, 769}, {37, 48, 770},
        {96, 33, 1537}, {13, 70, 2049}, {100, 40, 3073}, {7, 65, 4097}, {257, 100, 96},
    };
    /** Rows of the BF16 passes: the semantic prompt, the longest coarse re-prefill, a fine window. */
    private static final int[] PASS_ROWS = {257, 887, 1024};

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

    @Test
    void passShapesStayWithinLibtorchsOwnFp32Error() {
        assumeTrue(bestIsa == NativeKernels.AVX512, "the GEMM runs on AVX-512 only");
        SplittableRandom random = new SplittableRandom(3);
        for (int[] shape : PASS_SHAPES) {
            check(random, 1024, shape[0], shape[1], 400);
        }
    }

    @Test
    void everyTailOfTheBlockingIsExact() {
        assumeTrue(bestIsa == NativeKernels.AVX512, "the GEMM runs on AVX-512 only");
        SplittableRandom random = new SplittableRandom(5);
        for (int[] shape : EDGE_SHAPES) {
            check(random, shape[0], shape[1], shape[2], Integer.MAX_VALUE);
        }
    }

    /** Compares every output with libtorch, and `samples` of them (all if fewer) with FP64. */
    private static void check(SplittableRandom random, int rows, int out, int in, int samples) {
        try (NDManager m = manager.newSubManager()) {
            float[] x = NativeKernelsTest.normal(random, rows * in, 1);
            float[] w = NativeKernelsTest.normal(random, out * in, 1 / Math.sqrt(in));
            NDArray input = m.create(x, new Shape(rows, in));
            NDArray weight = m.create(w, new Shape(out, in));
            float[] torch = Ops.linear(input, weight, null).toFloatArray();
            NDArray y = m.full(new Shape(rows, out), Float.NaN);
            assertTrue(NativeKernels.gemmF32(input, weight, y));
            float[] mine = y.toFloatArray();
            String what = rows + "x" + in + " · (" + out + "x" + in + ")ᵀ";
            double vsTorch = 0;
            for (int i = 0; i < mine.length; i++) {
                assertTrue(Float.isFinite(mine[i]), () -> what + ": output not written");
                vsTorch = Math.max(vsTorch, Math.abs(mine[i] - torch[i]));
            }
            double mineVsExact = 0;
            double torchVsExact = 0;
            int total = rows * out;
            int step = Math.max(1, total / Math.min(samples, total));
            for (int i = 0; i < total; i += step) {
                int r = i / out;
                int o = i % out;
                double exact = 0;
                for (int k = 0; k < in; k++) {
                    exact += (double) x[r * in + k] * w[o * in + k];
                }
                mineVsExact = Math.max(mineVsExact, Math.abs(mine[i] - exact));
                torchVsExact = Math.max(torchVsExact, Math.abs(torch[i] - exact));
            }
            double bound = Math.max(1e-5, 1.5 * torchVsExact);
            assertTrue(mineVsExact <= bound, what + ": " + mineVsExact + " off FP64 (libtorch " + torchVsExact + ")");
            assertTrue(vsTorch <= 2 * bound, what + ": differs from libtorch by " + vsTorch);
        }
    }

    @Test
    void withoutAvx512ThePassesKeepLibtorchsGemm() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.ones(new Shape(4, 8));
            NDArray w = m.ones(new Shape(3, 8));
            NDArray y = m.zeros(new Shape(4, 3));
            NativeKernels.useIsa(NativeKernels.AVX2);
            try {
                assertEquals(false, NativeKernels.gemmF32(x, w, y));
                assertEquals(0f, y.sum().getFloat());
            } finally {
                NativeKernels.useIsa(bestIsa);
            }
            // where the CPU has AVX-512 the kernel is in use, as /proc/cpuinfo says
            boolean avx512 = NativeTestSupport.cpuHas("avx512f") && NativeTestSupport.cpuHas("avx512bw");
            assertEquals(avx512, NativeKernels.gemmF32(x, w, y));
            if (avx512) {
                assertEquals(8f * 12, y.sum().getFloat());
            }
        }
    }

    private static final double FP32_UNIT = Math.ulp(1.0f) / 2;  // 2^-24

    @Test
    void bf16PassShapesSumTheRoundedOperandsInFp32() {
        assumeTrue(bf16GemmRuns(), "the BF16 GEMM runs on AVX-512 BF16 only");
        SplittableRandom random = new SplittableRandom(21);
        for (int[] shape : PASS_SHAPES) {
            for (int rows : shape[0] == 4096 || shape[0] == 1024 ? new int[] {1024} : PASS_ROWS) {
                checkBf16(random, rows, shape[0], shape[1], rows == 887, 600);
            }
        }
    }

    @Test
    void bf16PassShapesAreExactOnSmallIntegers() {
        assumeTrue(bf16GemmRuns(), "the BF16 GEMM runs on AVX-512 BF16 only");
        SplittableRandom random = new SplittableRandom(22);
        for (int[] shape : PASS_SHAPES) {
            checkBf16Exact(random, 100, shape[0], shape[1], true);
        }
    }

    @Test
    void everyTailOfTheBf16BlockingIsExact() {
        assumeTrue(bf16GemmRuns(), "the BF16 GEMM runs on AVX-512 BF16 only");
        SplittableRandom random = new SplittableRandom(23);
        for (int[] shape : BF16_EDGE_SHAPES) {
            checkBf16Exact(random, shape[0], shape[1], shape[2], false);
            checkBf16Exact(random, shape[0], shape[1], shape[2], true);
            checkBf16(random, shape[0], shape[1], shape[2], true, Integer.MAX_VALUE);
        }
    }

    @Test
    void bf16RowsWithOddKDoNotReadTheirNeighbours() {
        assumeTrue(bf16GemmRuns(), "the BF16 GEMM runs on AVX-512 BF16 only");
        // the last k pair of a row with K odd holds one element; the next row's first must not be
        // multiplied in (0 · ∞ would make the row NaN)
        int rows = 13;
        int in = 7;
        int out = 5;
        float[] x = new float[rows * in];
        java.util.Arrays.fill(x, 1f);
        for (int r = 1; r < rows; r += 2) {
            x[r * in] = Float.POSITIVE_INFINITY;
        }
        float[] w = new float[out * in];
        java.util.Arrays.fill(w, 0.5f);
        try (NDManager m = manager.newSubManager();
                NativeKernels.Bf16Weights bf16 = new NativeKernels.Bf16Weights(m.create(w, new Shape(out, in)))) {
            NDArray y = m.zeros(new Shape(rows, out));
            assertTrue(NativeKernels.gemmBf16(m.create(x, new Shape(rows, in)), bf16, null, y));
            float[] got = y.toFloatArray();
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    float expected = r % 2 == 1 ? Float.POSITIVE_INFINITY : 3.5f;
                    assertEquals(expected, got[r * out + o], 0f, "row " + r + ", output " + o);
                }
            }
        }
    }

    /**
     * bf16(x) · bf16(W)ᵀ + bias on unit-scale data vs the naive double loop over the same rounded
     * operands, at `samples` outputs (all if fewer): each within the bound of FP32 summation,
     * (K + 2) · 2^-24 · (Σ|x_k w_k| + |bias|).
     */
    private static void checkBf16(SplittableRandom random, int rows, int out, int in, boolean bias, int samples) {
        try (NDManager m = manager.newSubManager()) {
            float[] x = NativeKernelsTest.normal(random, rows * in, 1);
            float[] w = NativeKernelsTest.normal(random, out * in, 1 / Math.sqrt(in));
            float[] b = bias ? NativeKernelsTest.normal(random, out, 1) : null;
            float[] mine = gemmBf16(m, x, rows, in, w, out, b);
            String what = "bf16 " + rows + "x" + in + " · (" + out + "x" + in + ")ᵀ" + (bias ? " + bias" : "");
            int total = rows * out;
            int step = Math.max(1, total / Math.min(samples, total));
            for (int i = 0; i < total; i += step) {
                int r = i / out;
                int o = i % out;
                double exact = b == null ? 0 : b[o];
                double magnitude = b == null ? 0 : Math.abs(b[o]);
                for (int k = 0; k < in; k++) {
                    double p = (double) NativeKernelsTest.roundToBf16(x[r * in + k])
                            * NativeKernelsTest.roundToBf16(w[o * in + k]);
                    exact += p;
                    magnitude += Math.abs(p);
                }
                double bound = (in + 2) * FP32_UNIT * magnitude;
                double error = Math.abs(mine[i] - exact);
                assertTrue(error <= bound, what + ": output (" + r + ", " + o + ") " + mine[i] + " is " + error
                        + " off the exact " + exact + ", more than FP32 summation allows (" + bound + ")");
            }
        }
    }

    /**
     * Operands that are small integers (x in -3..3, W in -2..2, bias in -8..8): bfloat16 holds them
     * exactly and every partial sum stays an integer below 2^24, so the FP32 result must equal the
     * exact one bit for bit, on one thread and on the pool's.
     */
    private static void checkBf16Exact(SplittableRandom random, int rows, int out, int in, boolean bias) {
        float[] x = integers(random, rows * in, 3);
        float[] w = integers(random, out * in, 2);
        float[] b = bias ? integers(random, out, 8) : null;
        String what = "bf16 integers " + rows + "x" + in + " · (" + out + "x" + in + ")ᵀ" + (bias ? " + bias" : "");
        try (NDManager m = manager.newSubManager()) {
            float[] pool = gemmBf16(m, x, rows, in, w, out, b);
            float[] one;
            int threads = JniUtils.getNumThreads();
            JniUtils.setNumThreads(1);
            try {
                assertEquals(1, NativeKernels.threads());
                one = gemmBf16(m, x, rows, in, w, out, b);
            } finally {
                JniUtils.setNumThreads(threads);
            }
            for (int r = 0; r < rows; r++) {
                for (int o = 0; o < out; o++) {
                    long exact = b == null ? 0 : (long) b[o];
                    for (int k = 0; k < in; k++) {
                        exact += (long) x[r * in + k] * (long) w[o * in + k];
                    }
                    int i = r * out + o;
                    assertEquals((float) exact, pool[i], 0f, what + ": output (" + r + ", " + o + ")");
                    assertEquals(Float.floatToRawIntBits(pool[i]), Float.floatToRawIntBits(one[i]),
                            what + ": one thread differs at (" + r + ", " + o + ")");
                }
            }
        }
    }

    private static float[] integers(SplittableRandom random, int n, int bound) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = random.nextInt(-bound, bound + 1);
        }
        return out;
    }

    /** y = bf16(x) · bf16(W)ᵀ + b through the kernel (which must run); y starts as NaN so every output must be written. */
    private static float[] gemmBf16(NDManager m, float[] x, int rows, int in, float[] w, int out, float[] b) {
        try (NativeKernels.Bf16Weights bf16 = new NativeKernels.Bf16Weights(m.create(w, new Shape(out, in)))) {
            NDArray y = m.full(new Shape(rows, out), Float.NaN);
            assertTrue(NativeKernels.gemmBf16(m.create(x, new Shape(rows, in)), bf16,
                    b == null ? null : m.create(b, new Shape(out)), y));
            return y.toFloatArray();
        }
    }

    private static boolean bf16GemmRuns() {
        return bestIsa == NativeKernels.AVX512 && NativeTestSupport.cpuHas("avx512_bf16");
    }

    /**
     * Under a capped instruction set a BF16 pass still sums FP32 products, with the portable loop:
     * the same bounds hold for it. Where the CPU lacks AVX-512 BF16 the passes keep libtorch's
     * bfloat16 GEMM and the hook does nothing.
     */
    @Test
    void bf16GemmRunsWhereTheCpuHasAvx512Bf16OnEveryInstructionSet() {
        boolean runs = NativeTestSupport.cpuHas("avx512f") && NativeTestSupport.cpuHas("avx512bw")
                && NativeTestSupport.cpuHas("avx512vl") && NativeTestSupport.cpuHas("avx512_bf16");
        try (NDManager m = manager.newSubManager();
                NativeKernels.Bf16Weights w = new NativeKernels.Bf16Weights(m.ones(new Shape(3, 8)))) {
            NDArray x = m.ones(new Shape(4, 8));
            NDArray y = m.zeros(new Shape(4, 3));
            assertEquals(runs, NativeKernels.gemmBf16(x, w, m.ones(new Shape(3)), y));
            assertEquals(runs ? 9f * 12 : 0f, y.sum().getFloat());
        }
        assumeTrue(runs, "no AVX-512 BF16: BF16 passes use libtorch's GEMM");
        SplittableRandom random = new SplittableRandom(24);
        for (int isa = NativeKernels.PORTABLE; isa < bestIsa; isa++) {
            NativeKernels.useIsa(isa);
            try {
                for (int[] shape : new int[][] {{13, 40, 100}, {97, 65, 31}, {30, 33, 769}, {100, 96, 768}}) {
                    checkBf16Exact(random, shape[0], shape[1], shape[2], true);
                    checkBf16(random, shape[0], shape[1], shape[2], true, Integer.MAX_VALUE);
                }
            } finally {
                NativeKernels.useIsa(bestIsa);
            }
        }
    }

    @Test
    void peakChainsCountTheirFlops() {
        // 1000 rounds of 16 chains: 16k vfmadd231ps (32 FLOPs each) per thread
        assertEquals(NativeTestSupport.cpuHas("avx512f") ? 1000 * 16 * 32.0 : -1,
                NativeKernels.peakChains(false, 1, 1000));
        assertEquals(NativeTestSupport.cpuHas("avx512_bf16") ? 2 * 1000 * 16 * 64.0 : -1,
                NativeKernels.peakChains(true, 2, 1000));
        assertThrows(RuntimeException.class, () -> NativeKernels.peakChains(true, 0, 1000));
    }

    @Test
    void badShapesAreRefused() {
        try (NDManager m = manager.newSubManager()) {
            NDArray x = m.ones(new Shape(4, 8));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.gemmF32(x, m.ones(new Shape(3, 7)), m.zeros(new Shape(4, 3))));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.gemmF32(x, m.ones(new Shape(3, 8)), m.zeros(new Shape(4, 4))));
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.gemmF32(x.toType(DataType.FLOAT64, false),
                    m.ones(new Shape(3, 8)), m.zeros(new Shape(4, 3))));
            try (NativeKernels.Bf16Weights w = new NativeKernels.Bf16Weights(m.ones(new Shape(3, 8)))) {
                assertThrows(IllegalArgumentException.class,
                        () -> NativeKernels.gemmBf16(m.ones(new Shape(4, 7)), w, null, m.zeros(new Shape(4, 3))));
                assertThrows(IllegalArgumentException.class,
                        () -> NativeKernels.gemmBf16(x, w, null, m.zeros(new Shape(4, 4))));
                assertThrows(IllegalArgumentException.class,
                        () -> NativeKernels.gemmBf16(x, w, m.ones(new Shape(4)), m.zeros(new Shape(4, 3))));
                assertThrows(IllegalArgumentException.class, () -> NativeKernels.gemmBf16(
                        x.toType(DataType.FLOAT64, false), w, null, m.zeros(new Shape(4, 3))));
            }
        }
    }
}

package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The BF16 passes' attention kernel ({@code bark4j_attention.h}) against a naive Java attention in
 * double on the same bfloat16-rounded q, k, v, and against its portable loops: causal and not, at
 * lengths around its 4-query and 64-key tiles and at bark's (1024 positions, head size 64).
 */
class Bf16AttentionTest {
    private static int bestIsa;

    @BeforeAll
    static void load() {
        if (Boolean.getBoolean("bark4j.native.skip")) {
            assumeTrue(NativeLibrary.isAvailable(), "native bridge not built");
        }
        assertTrue(NativeLibrary.isAvailable(), () -> "bridge unavailable: " + NativeLibrary.unavailableReason());
        bestIsa = NativeKernels.useIsa(NativeKernels.AVX512);
    }

    @AfterAll
    static void restore() {
        if (NativeLibrary.isAvailable()) {
            NativeKernels.useIsa(bestIsa);
        }
    }

    private static float[] normal(SplittableRandom random, int n, double sigma) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            // sum of uniforms: roughly normal, deterministic
            double s = 0;
            for (int j = 0; j < 6; j++) {
                s += random.nextDouble() - 0.5;
            }
            x[i] = (float) (s * sigma);
        }
        return x;
    }

    /** softmax(q kᵀ / √hd) v in double on the bfloat16-rounded inputs, probabilities unrounded. */
    private static double[] exact(float[] q, float[] k, float[] v, int bh, int len, int hd, boolean causal) {
        double scale = 1 / Math.sqrt(hd);
        double[] y = new double[bh * len * hd];
        double[] s = new double[len];
        for (int b = 0; b < bh; b++) {
            int o = b * len * hd;
            for (int t = 0; t < len; t++) {
                int valid = causal ? t + 1 : len;
                double top = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < valid; j++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += (double) NativeRowsTest.bf16(q[o + t * hd + d]) * NativeRowsTest.bf16(k[o + j * hd + d]);
                    }
                    s[j] = dot * scale;
                    top = Math.max(top, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < valid; j++) {
                    s[j] = Math.exp(s[j] - top);
                    sum += s[j];
                }
                for (int d = 0; d < hd; d++) {
                    double acc = 0;
                    for (int j = 0; j < valid; j++) {
                        acc += s[j] * NativeRowsTest.bf16(v[o + j * hd + d]);
                    }
                    y[o + t * hd + d] = acc / sum;
                }
            }
        }
        return y;
    }

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float f : x) {
            m = Math.max(m, Math.abs(f));
        }
        return m;
    }

    private static double maxDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    private static float[] run(int isa, float[] q, float[] k, float[] v, int bh, int len, int hd, boolean causal,
            boolean[] kernel) {
        NativeKernels.useIsa(isa);
        try {
            return NativeKernels.attendBf16(q, k, v, bh, len, hd, causal, kernel);
        } finally {
            NativeKernels.useIsa(bestIsa);
        }
    }

    /**
     * Rounding the probabilities to bfloat16 (relative error ≤ 2⁻⁹) moves an output by at most
     * 2⁻⁹ · max|v|; FP32 sums add far less. Both paths stay within 2.5e-3 · max|v| of the exact
     * attention of the rounded inputs, and within that of each other.
     */
    @Test
    void matchesExactAttentionOfTheRoundedInputs() {
        SplittableRandom random = new SplittableRandom(41);
        boolean[] kernel = new boolean[1];
        boolean kernelRan = false;
        int[][] shapes = {{1, 1, 16}, {2, 3, 16}, {3, 5, 64}, {1, 63, 64}, {2, 64, 64}, {1, 65, 16}, {2, 130, 64},
            {1, 257, 32}, {1, 300, 128}, {12, 1024, 64}};
        for (int[] shape : shapes) {
            int bh = shape[0];
            int len = shape[1];
            int hd = shape[2];
            for (boolean causal : new boolean[] {true, false}) {
                if (bh * len * len * hd > 100_000_000 && causal) {
                    continue; // the naive reference is slow; bark's size runs once, not causal
                }
                // scores of a few units after scaling, as trained models have
                float[] q = normal(random, bh * len * hd, 2.0);
                float[] k = normal(random, bh * len * hd, 2.0);
                float[] v = normal(random, bh * len * hd, 1.0);
                double[] expected = exact(q, k, v, bh, len, hd, causal);
                double bound = 2.5e-3 * maxAbs(v);
                float[] fast = run(bestIsa, q, k, v, bh, len, hd, causal, kernel);
                kernelRan |= kernel[0];
                float[] portable = run(NativeKernels.PORTABLE, q, k, v, bh, len, hd, causal, null);
                String at = bh + "x" + len + "x" + hd + (causal ? " causal" : "");
                double dFast = maxDiff(fast, expected);
                double dPortable = maxDiff(portable, expected);
                assertTrue(dFast <= bound, at + ": kernel off by " + dFast + " (bound " + bound + ")");
                assertTrue(dPortable <= bound, at + ": portable off by " + dPortable + " (bound " + bound + ")");
                double[] portableD = new double[portable.length];
                for (int i = 0; i < portable.length; i++) {
                    portableD[i] = portable[i];
                }
                assertTrue(maxDiff(fast, portableD) <= bound, at + ": kernel vs portable " + maxDiff(fast, portableD));
            }
        }
        System.out.println("bf16 attention kernel in use: " + kernelRan);
        if (NativeKernels.useIsa(bestIsa) == NativeKernels.AVX512 && cpuHasAvx512Bf16()) {
            assertTrue(kernelRan, "the CPU has AVX-512 BF16 but the portable loops ran");
        }
    }

    /** A causal row sees only its past: changing a later key or value leaves earlier outputs as they were. */
    @Test
    void causalRowsIgnoreTheFuture() {
        SplittableRandom random = new SplittableRandom(42);
        int len = 150;
        int hd = 64;
        float[] q = normal(random, len * hd, 2.0);
        float[] k = normal(random, len * hd, 2.0);
        float[] v = normal(random, len * hd, 1.0);
        float[] before = NativeKernels.attendBf16(q, k, v, 1, len, hd, true, null);
        for (int d = 0; d < hd; d++) {
            k[100 * hd + d] = 50;
            v[100 * hd + d] = -50;
        }
        float[] after = NativeKernels.attendBf16(q, k, v, 1, len, hd, true, null);
        for (int i = 0; i < 100 * hd; i++) {
            assertEquals(before[i], after[i], 0f, "position " + i / hd);
        }
        assertTrue(after[100 * hd] != before[100 * hd], "position 100 should see its new value");
    }

    @Test
    void rejectsAnEmptyShape() {
        assertThrows(RuntimeException.class,
                () -> NativeKernels.attendBf16(new float[0], new float[0], new float[0], 1, 0, 16, false, null));
    }

    static boolean cpuHasAvx512Bf16() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return line.contains(" avx512_bf16");
                }
            }
        } catch (java.io.IOException e) {
            return false;
        }
        return false;
    }
}

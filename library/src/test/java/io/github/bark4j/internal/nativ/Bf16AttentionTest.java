package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The BF16 passes' attention kernel ({@code bark4j_attention.h}) against a naive Java attention in
 * double on the same bfloat16-rounded q, k, v, and against its portable loops: causal and not, at
 * lengths around its 4-query and 64-key tiles and at bark's (1024 positions, head size 64).
 */
class Bf16AttentionTest extends KernelTestBase {
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

    private static double maxAbs(float[] x) {
        double m = 0;
        for (float f : x) {
            m = Math.max(m, Math.abs(f));
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
                double[] expected = NativeTestSupport.exactAttention(q, k, v, bh, len, hd, causal,
                        x -> NativeRowsTest.bf16((float) x));
                double bound = 2.5e-3 * maxAbs(v);
                float[] fast = run(bestIsa, q, k, v, bh, len, hd, causal, kernel);
                kernelRan |= kernel[0];
                float[] portable = run(NativeKernels.PORTABLE, q, k, v, bh, len, hd, causal, null);
                String at = bh + "x" + len + "x" + hd + (causal ? " causal" : "");
                double dFast = NativeTestSupport.maxDiff(fast, expected);
                double dPortable = NativeTestSupport.maxDiff(portable, expected);
                assertTrue(dFast <= bound, at + ": kernel off by " + dFast + " (bound " + bound + ")");
                assertTrue(dPortable <= bound, at + ": portable off by " + dPortable + " (bound " + bound + ")");
                double[] portableD = new double[portable.length];
                for (int i = 0; i < portable.length; i++) {
                    portableD[i] = portable[i];
                }
                double dBoth = NativeTestSupport.maxDiff(fast, portableD);
                assertTrue(dBoth <= bound, at + ": kernel vs portable " + dBoth);
            }
        }
        System.out.println("bf16 attention kernel in use: " + kernelRan);
        if (NativeKernels.useIsa(bestIsa) == NativeKernels.AVX512 && NativeTestSupport.cpuHas("avx512_bf16")) {
            assertTrue(kernelRan, "the CPU has AVX-512 BF16 but the portable loops ran");
        }
    }

    @Test
    void causalRowsIgnoreTheFuture() {
        NativeTestSupport.assertCausalRowsIgnoreTheFuture(new SplittableRandom(42),
                (q, k, v, len, hd) -> NativeKernels.attendBf16(q, k, v, 1, len, hd, true, null));
    }

    @Test
    void rejectsAnEmptyShape() {
        assertThrows(RuntimeException.class,
                () -> NativeKernels.attendBf16(new float[0], new float[0], new float[0], 1, 0, 16, false, null));
    }
}

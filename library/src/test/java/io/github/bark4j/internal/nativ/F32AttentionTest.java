package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The FP32 passes' attention kernel ({@code bark4j_attention.h}) against an FP64 attention and
 * libtorch's SDPA (what FP32 passes use without it): causal and not, at lengths around its 4-query
 * and 64-key tiles and its 16-key blocks, at head sizes 16 to 128, and at bark's (1024 positions,
 * head size 64). Its error from FP64 must stay within SDPA's own FP32 error (or 2e-6).
 */
class F32AttentionTest extends KernelTestBase {
    /** The kernel on (bh, len, hd) arrays; null where it does not run. */
    private static float[] kernel(NDManager m, float[] q, float[] k, float[] v, int bh, int len, int hd,
            boolean causal) {
        Shape shape = new Shape(bh, len, hd);
        NDArray y = m.full(shape, Float.NaN);
        boolean ran = NativeKernels.attendF32(m.create(q, shape), m.create(k, shape), m.create(v, shape), y, causal);
        return ran ? y.toFloatArray() : null;
    }

    private static float[] sdpa(NDManager m, float[] q, float[] k, float[] v, int bh, int len, int hd,
            boolean causal) {
        Shape shape = new Shape(1, bh, len, hd);
        NDArray y = NativeOps.scaledDotProductAttention(m.create(q, shape), m.create(k, shape), m.create(v, shape), causal);
        return y.toFloatArray();
    }

    @Test
    void staysWithinSdpasOwnErrorOfFp64() {
        assumeTrue(bestIsa == NativeKernels.AVX512, "the kernel runs on AVX-512 only");
        SplittableRandom random = new SplittableRandom(43);
        int[][] shapes = {{1, 1, 16}, {2, 3, 16}, {3, 5, 64}, {1, 15, 32}, {1, 17, 64}, {1, 63, 64}, {2, 64, 64},
            {1, 65, 16}, {2, 130, 64}, {1, 257, 48}, {1, 300, 128}, {12, 1024, 64}};
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            for (int[] shape : shapes) {
                int bh = shape[0];
                int len = shape[1];
                int hd = shape[2];
                for (boolean causal : new boolean[] {true, false}) {
                    if (bh * len * len * hd > 100_000_000 && causal) {
                        continue; // the FP64 reference is slow; bark's size runs once, not causal
                    }
                    // scores of a few units after scaling, as trained models have
                    float[] q = NativeKernelsTest.normal(random, bh * len * hd, 2.0);
                    float[] k = NativeKernelsTest.normal(random, bh * len * hd, 2.0);
                    float[] v = NativeKernelsTest.normal(random, bh * len * hd, 1.0);
                    double[] expected = NativeTestSupport.exactAttention(q, k, v, bh, len, hd, causal, x -> x);
                    float[] mine = kernel(m, q, k, v, bh, len, hd, causal);
                    String at = bh + "x" + len + "x" + hd + (causal ? " causal" : "");
                    assertTrue(mine != null, at + ": kernel not in use");
                    double dMine = NativeTestSupport.maxDiff(mine, expected);
                    double dSdpa = NativeTestSupport.maxDiff(sdpa(m, q, k, v, bh, len, hd, causal), expected);
                    assertTrue(dMine <= Math.max(2e-6, 1.5 * dSdpa), at + ": off FP64 by " + dMine + ", SDPA " + dSdpa);
                }
            }
        }
    }

    @Test
    void causalRowsIgnoreTheFuture() {
        assumeTrue(bestIsa == NativeKernels.AVX512, "the kernel runs on AVX-512 only");
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            NativeTestSupport.assertCausalRowsIgnoreTheFuture(new SplittableRandom(44),
                    (q, k, v, len, hd) -> kernel(m, q, k, v, 1, len, hd, true));
        }
    }

    /** Without AVX-512, or with a head size that is not a multiple of 16, passes keep SDPA. */
    @Test
    void fallsBackToSdpaWhereTheKernelCannotRun() {
        try (NDManager m = Engine.getEngine("PyTorch").newBaseManager()) {
            assertNull(kernel(m, new float[2 * 24], new float[2 * 24], new float[2 * 24], 1, 2, 24, false));
            NativeKernels.useIsa(NativeKernels.AVX2);
            try {
                assertNull(kernel(m, new float[2 * 16], new float[2 * 16], new float[2 * 16], 1, 2, 16, false));
            } finally {
                NativeKernels.useIsa(bestIsa);
            }
            NDArray a = m.zeros(new Shape(1, 4, 16));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeKernels.attendF32(a, a, a, m.zeros(new Shape(1, 4, 32)), false));
            assertThrows(IllegalArgumentException.class, () -> NativeKernels.attendF32(a, a, a,
                    a.toType(ai.djl.ndarray.types.DataType.FLOAT64, false), false));
        }
    }
}

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

import io.github.bark4j.internal.model.Ops;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The full passes' FP32 GEMM ({@code bark4j_gemm.h}) against libtorch's {@code linear} and an FP64
 * product: at the pass shapes of bark-small and bark (1024 positions, every weight), and at
 * shapes around its blocking (12-row strips, 96-row blocks, 32-output panels, k not a multiple of
 * 16), so every tail runs. Its error from FP64 must stay within libtorch's own FP32 error (or 1e-5).
 */
class NativeGemmTest extends KernelTestBase {
    /** (out, in) of the passes' matmuls: bark-small (hidden 768), bark (hidden 1024). */
    private static final int[][] PASS_SHAPES = {{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}, {4096, 1024},
        {1024, 4096}};
    /** (rows, out, in) around the blocking. */
    private static final int[][] EDGE_SHAPES = {
        {1, 1, 1}, {1, 33, 5}, {11, 17, 16}, {12, 32, 17}, {13, 40, 100}, {95, 64, 33}, {96, 31, 768},
        {97, 65, 31}, {200, 1, 3}, {887, 96, 64},
    };

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
        }
    }
}

package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.internal.model.Ops;
import io.github.bark4j.internal.nativ.NativeOps;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cloning models' matmul: where the bridge's GEMM takes a product it equals libtorch's
 * {@code linear} up to FP32 summation order, at HuBERT base's and the quantizer's shapes; everything
 * it must not take goes to libtorch unchanged.
 */
class ClonerMatmulTest {
    private NDManager m;

    @BeforeEach
    void manager() {
        m = NDManager.newBaseManager("PyTorch");
    }

    @AfterEach
    void release() {
        m.close();
    }

    /** Largest |a − b| over the largest |b|: FP32 summation order moves a K-term dot product by ~√K ulp. */
    private static double relativeError(NDArray a, NDArray b) {
        try (NDArray d = a.sub(b).abs().max(); NDArray s = b.abs().max()) {
            return d.getFloat() / s.getFloat();
        }
    }

    @Test
    void theKernelMatchesLibtorchAtTheRealShapes() {
        assumeTrue(NativeOps.isAvailable(), "the native bridge is not loaded: " + NativeOps.unavailableReason());
        // frames x in -> out: HuBERT's feature-encoder GEMM, q|k|v, attention out, MLP in and out, quantizer fc;
        // and ragged sizes (rows not a multiple of 12 or 96, outputs not a multiple of 32, K not of 16)
        long[][] shapes = {{4000, 1536, 512}, {499, 768, 2304}, {499, 768, 768}, {499, 768, 3072}, {499, 3072, 768},
            {419, 1024, 10_000}, {97, 1000, 333}, {13, 4100, 50}};
        for (long[] s : shapes) {
            NDArray x = m.randomNormal(new Shape(s[0], s[1]));
            NDArray w = m.randomNormal(0, (float) (1 / Math.sqrt(s[1])), new Shape(s[2], s[1]), DataType.FLOAT32);
            NDArray b = m.randomNormal(new Shape(s[2]));
            boolean kernel = ClonerMatmul.usesKernel(x, w);
            NDArray y = ClonerMatmul.linear(x, w, b);
            NDArray expected = Ops.linear(x, w, b);
            assertArrayEquals(expected.getShape().getShape(), y.getShape().getShape());
            double error = relativeError(y, expected);
            System.out.printf("%d x %d -> %d (kernel %s): relative error %.2g%n", s[0], s[1], s[2], kernel, error);
            assertTrue(error < 2e-5, s[0] + "x" + s[1] + "->" + s[2] + ": " + error);
            NDArray noBias = ClonerMatmul.linear(x, w, null);
            assertTrue(relativeError(noBias, Ops.linear(x, w, null)) < 2e-5);
        }
    }

    @Test
    void fp64SmallAndStridedOperandsStayWithLibtorch() {
        NDArray x = m.randomNormal(new Shape(256, 768));
        NDArray w = m.randomNormal(new Shape(768, 768));
        assertEquals(NativeOps.isAvailable(), ClonerMatmul.usesKernel(x, w));
        assertFalse(ClonerMatmul.usesKernel(x.toType(DataType.FLOAT64, false), w.toType(DataType.FLOAT64, false)));
        assertFalse(ClonerMatmul.usesKernel(m.randomNormal(new Shape(4, 64)), m.randomNormal(new Shape(64, 64))),
                "below MIN_MACS");
        NDArray strided = m.randomNormal(new Shape(768, 256)).transpose(); // (256, 768), not contiguous
        assertFalse(ClonerMatmul.usesKernel(strided, w));
        NDArray y = ClonerMatmul.linear(strided, w, null);
        assertEquals(0, relativeError(y, Ops.linear(strided, w, null)), "libtorch computes it, bit for bit");
        NDArray x64 = x.toType(DataType.FLOAT64, false);
        NDArray w64 = w.toType(DataType.FLOAT64, false);
        assertEquals(DataType.FLOAT64, ClonerMatmul.linear(x64, w64, null).getDataType());
    }
}

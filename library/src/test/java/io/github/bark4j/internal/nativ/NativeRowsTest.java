package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The row loops of the native step and passes ({@code bark4j_rows.h}: GELU, softmax, LayerNorm,
 * bfloat16 rounding) on every instruction set against naive Java references in double, at lengths
 * around the 16-lane vector width and at bark's sizes.
 */
class NativeRowsTest extends KernelTestBase {
    private static final int[] LENGTHS = {1, 7, 15, 16, 17, 64, 100, 768, 1000, 3072};

    private static List<Integer> isas() {
        List<Integer> isas = new ArrayList<>();
        for (int isa = NativeKernels.PORTABLE; isa <= bestIsa; isa++) {
            isas.add(isa);
        }
        return isas;
    }

    private static float[] run(int isa, int op, float[] x, float[] w, float[] b) {
        NativeKernels.useIsa(isa);
        try {
            return NativeKernels.rowOp(op, x, w, b);
        } finally {
            NativeKernels.useIsa(bestIsa);
        }
    }

    /** Round to nearest even, NaN kept quiet: torch's float → bfloat16, widened back. */
    static float bf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        int rounded = Float.isNaN(f) ? (bits >>> 16) | 0x40 : (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
        return Float.intBitsToFloat(rounded << 16);
    }

    /** GELU of known arguments: 0.5·x·(1 + erf(x/√2)), to 16 digits. */
    @Test
    void geluMatchesKnownValues() {
        float[] x = {1, -1, 2, 0.5f, 0, -3, 6};
        double[] expected = {0.8413447460685429, -0.15865525393145707, 1.9544997361036416, 0.34573123063700656, 0,
            -0.004049694650376895, 5.999999995065852};
        for (int isa : isas()) {
            float[] y = run(isa, NativeKernels.ROW_GELU, x, null, null);
            for (int i = 0; i < x.length; i++) {
                // libtorch's vectorised erf formula is within 1.5e-7 of erf
                assertEquals(expected[i], y[i], 2e-7 * Math.max(1, Math.abs(x[i])), "isa " + isa + ", gelu(" + x[i] + ")");
            }
        }
    }

    @Test
    void geluOnEveryIsaMatchesThePortableLoop() {
        SplittableRandom random = new SplittableRandom(1);
        for (int n : LENGTHS) {
            float[] x = NativeKernelsTest.normal(random, n, 3);
            float[] b = NativeKernelsTest.normal(random, n, 1);
            x[0] = n > 3 ? 40 : x[0];
            if (n > 3) {
                x[1] = -40;
                x[2] = -0.0f;
            }
            float[] portable = run(NativeKernels.PORTABLE, NativeKernels.ROW_GELU, x, null, b);
            float[] portableBf16 = run(NativeKernels.PORTABLE, NativeKernels.ROW_GELU_BF16, x, null, b);
            for (int isa : isas()) {
                float[] y = run(isa, NativeKernels.ROW_GELU, x, null, b);
                float[] yb = run(isa, NativeKernels.ROW_GELU_BF16, x, null, b);
                for (int i = 0; i < n; i++) {
                    double v = Math.abs(x[i] + b[i]);
                    assertEquals(portable[i], y[i], 3e-7 * Math.max(1, v), "isa " + isa + ", n " + n + ", i " + i);
                    // bfloat16 operands: the same up to one rounding step of the result (erf's
                    // absolute error dominates in the far negative tail, as in FP32)
                    assertEquals(portableBf16[i], yb[i], Math.abs(portableBf16[i]) / 128 + 3e-7 * Math.max(1, v),
                            "bf16 isa " + isa + ", n " + n + ", i " + i);
                }
            }
        }
    }

    @Test
    void softmaxMatchesDoublePrecision() {
        SplittableRandom random = new SplittableRandom(2);
        for (int n : LENGTHS) {
            float[] x = NativeKernelsTest.normal(random, n, 8);
            if (n > 2) {
                x[n - 1] = -300; // its weight underflows
            }
            float scale = 0.125f;
            double[] expected = new double[n];
            double best = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                best = Math.max(best, (double) x[i] * scale);
            }
            double sum = 0;
            for (int i = 0; i < n; i++) {
                expected[i] = Math.exp((double) x[i] * scale - best);
                sum += expected[i];
            }
            for (int isa : isas()) {
                float[] y = run(isa, NativeKernels.ROW_SOFTMAX, x, new float[] {scale}, null);
                for (int i = 0; i < n; i++) {
                    double e = expected[i] / sum;
                    // FP32 rounds the exponent x·scale − max to 2^-24 of its size; exp turns that
                    // into a relative error of the weight
                    double exponent = Math.abs((double) x[i] * scale - best);
                    assertEquals(e, y[i], e * (4e-7 + 1.2e-7 * exponent) + 1e-30, "isa " + isa + ", n " + n + ", i " + i);
                }
            }
        }
    }

    @Test
    void layerNormMatchesDoublePrecision() {
        SplittableRandom random = new SplittableRandom(3);
        for (int n : LENGTHS) {
            if (n == 1) {
                continue;
            }
            float[] x = NativeKernelsTest.normal(random, n, 2);
            for (int i = 0; i < n; i++) {
                x[i] += 3; // an offset mean, as residual streams have
            }
            float[] w = NativeKernelsTest.normal(random, n, 1);
            float[] b = NativeKernelsTest.normal(random, n, 1);
            double mean = 0;
            for (float v : x) {
                mean += v;
            }
            mean /= n;
            double var = 0;
            for (float v : x) {
                var += (v - mean) * (v - mean);
            }
            var /= n;
            double inv = 1 / Math.sqrt(var + 1e-5);
            for (int isa : isas()) {
                float[] y = run(isa, NativeKernels.ROW_NORM, x, w, b);
                float[] yb = run(isa, NativeKernels.ROW_NORM_BF16, x, w, b);
                for (int i = 0; i < n; i++) {
                    double e = (x[i] - mean) * inv * w[i] + b[i];
                    assertEquals(e, y[i], 1e-6 * Math.max(1, Math.abs(e)), "isa " + isa + ", n " + n + ", i " + i);
                    // written as bfloat16 operands: within one rounding of the FP32 result
                    assertEquals(e, yb[i], Math.abs(e) / 256 + 1e-6, "bf16 isa " + isa + ", n " + n + ", i " + i);
                }
            }
        }
    }

    /** Rounding to bfloat16 is bit-exact on every ISA: ties to even, NaN, infinities, subnormals. */
    @Test
    void bf16RoundingIsTorchsOnEveryIsa() {
        SplittableRandom random = new SplittableRandom(4);
        for (int n : LENGTHS) {
            float[] x = NativeKernelsTest.normal(random, n, 100);
            float[] special = {Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000), Float.NaN,
                Float.intBitsToFloat(0x7F800001), Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MAX_VALUE,
                Float.MIN_VALUE, -0.0f, Float.intBitsToFloat(0x007FFFFF), Float.intBitsToFloat(0x3F80FFFF)};
            for (int i = 0; i < Math.min(n, special.length); i++) {
                x[i] = special[i];
            }
            for (int isa : isas()) {
                float[] y = run(isa, NativeKernels.ROW_WIDEN_ADD_BF16, x, null, null);
                for (int i = 0; i < n; i++) {
                    assertEquals(Float.floatToRawIntBits(bf16(x[i])), Float.floatToRawIntBits(y[i]),
                            "isa " + isa + ", " + Integer.toHexString(Float.floatToRawIntBits(x[i])));
                }
            }
        }
    }
}

package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;

/** What the native bridge's tests share: the bridge check, the CPU's flags, a reference attention. */
public final class NativeTestSupport {
    private NativeTestSupport() {}

    /**
     * Fails unless the bridge loaded (the build makes it on linux-x86_64); skips instead where the
     * build was told not to make it ({@code -Dbark4j.native.skip=true}).
     */
    public static void requireBridge() {
        if (Boolean.getBoolean("bark4j.native.skip")) {
            assumeTrue(NativeLibrary.isAvailable(), "native bridge not built");
        }
        assertTrue(NativeLibrary.isAvailable(), () -> "bridge unavailable: " + NativeLibrary.unavailableReason());
    }

    /** Whether /proc/cpuinfo lists {@code flag} (e.g. avx512f, avx512_bf16) for this CPU. */
    static boolean cpuHas(String flag) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("flags")) {
                    return Arrays.asList(line.substring(line.indexOf(':') + 1).trim().split("\\s+")).contains(flag);
                }
            }
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * softmax(q kᵀ / √hd) v in double over (bh, len, hd) arrays, each input first passed through
     * {@code round} (identity, or rounding to bfloat16 for the BF16 kernel), probabilities unrounded.
     */
    static double[] exactAttention(float[] q, float[] k, float[] v, int bh, int len, int hd, boolean causal,
            DoubleUnaryOperator round) {
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
                        dot += round.applyAsDouble(q[o + t * hd + d]) * round.applyAsDouble(k[o + j * hd + d]);
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
                        acc += s[j] * round.applyAsDouble(v[o + j * hd + d]);
                    }
                    y[o + t * hd + d] = acc / sum;
                }
            }
        }
        return y;
    }

    static double maxDiff(float[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    /** One causal attention over (1, len, hd) q, k, v. */
    interface CausalAttention {
        float[] attend(float[] q, float[] k, float[] v, int len, int hd);
    }

    /**
     * A causal row sees only its past: changing a later key and value (position 100 of 150)
     * leaves every earlier output as it was, and changes position 100's.
     */
    static void assertCausalRowsIgnoreTheFuture(SplittableRandom random, CausalAttention attention) {
        int len = 150;
        int hd = 64;
        float[] q = NativeKernelsTest.normal(random, len * hd, 2.0);
        float[] k = NativeKernelsTest.normal(random, len * hd, 2.0);
        float[] v = NativeKernelsTest.normal(random, len * hd, 1.0);
        float[] before = attention.attend(q, k, v, len, hd);
        for (int d = 0; d < hd; d++) {
            k[100 * hd + d] = 50;
            v[100 * hd + d] = -50;
        }
        float[] after = attention.attend(q, k, v, len, hd);
        for (int i = 0; i < 100 * hd; i++) {
            assertEquals(before[i], after[i], 0f, "position " + i / hd);
        }
        assertTrue(after[100 * hd] != before[100 * hd], "position 100 should see its new value");
    }
}

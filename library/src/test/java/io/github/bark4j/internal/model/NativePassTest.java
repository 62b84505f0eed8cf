package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeTestSupport;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.testing.Diffs;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The native full pass ({@link NativeGpt#pass}: prompt, coarse re-prefill, fine window) against the
 * Java {@link Gpt} blocks it replaces: FP32 logits within 1e-5 (prompt and prefill; the fine
 * window as close to the FP64 model as the Java path) and FP64 within 1e-12 for all three stages, the KV cache it fills equal to the Java one (checked through the decode steps that read
 * it), BF16 within the first-pass bound of FP32, batched rows equal to single runs, typed errors,
 * and no native memory left behind.
 */
class NativePassTest {
    private static Pipeline java32;
    private static Pipeline java64;

    @BeforeAll
    static void load() {
        NativeTestSupport.requireBridge();
        java32 = NativeGptTest.build(Precision.FP32, false);
        java64 = NativeGptTest.build(Precision.FP64, false);
    }

    @AfterAll
    static void close() {
        if (java32 != null) {
            java32.close();
            java64.close();
        }
    }

    /** The model with whole passes (and decode steps) on {@code step}: SDPA is what the native pass runs. */
    private static Gpt fast(Gpt reference, NativeGpt step) {
        return reference.withAttention(AttentionKernel.SDPA).withNativeStep(step);
    }

    /** The Java reference with the same attention (SDPA), so only the pass's own arithmetic differs. */
    private static Gpt sdpa(Gpt reference) {
        return reference.withAttention(AttentionKernel.SDPA);
    }

    private static long[] randomIds(SplittableRandom random, int count, int vocab) {
        long[] ids = new long[count];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    /**
     * A causal prefill of {@code rows} random prompts of {@code length} positions into a cache,
     * then 4 decode steps on it, by both models. Returns the largest logit difference of the
     * prefill and of the steps (which read the cache the pass filled).
     */
    private static double[] comparePrefill(Gpt reference, Gpt candidate, int rows, int length, DataType dtype,
            long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int vocab = Math.min(reference.config().inputVocabSize(), reference.config().outputVocabSize());
        int out = reference.config().outputVocabSize();
        try (NDManager m = java32.model().manager().newSubManager();
                KvCache a = new KvCache(m, reference.config(), rows, length + 4, dtype);
                KvCache b = new KvCache(m, reference.config(), rows, length + 4, dtype)) {
            long[] ids = randomIds(random, rows * length, vocab);
            double[] expected = Tensors.toDoubles(
                    reference.forwardCausal(reference.embed(Tensors.ids(m, ids, rows, length)), a, true));
            double[] actual = Tensors.toDoubles(
                    candidate.forwardCausal(candidate.embed(Tensors.ids(m, ids, rows, length)), b, true));
            assertEquals(rows * out, actual.length);
            assertEquals(a.length(), b.length());
            double prefill = Diffs.maxAbsDiff(expected, actual);
            double steps = 0;
            for (int s = 0; s < 4; s++) {
                long[] feed = randomIds(random, rows, vocab);
                // both through the Java step: only the cache contents differ
                steps = Math.max(steps, Diffs.maxAbsDiff(reference.decode(m, feed, a, 0, out), reference.decode(m, feed, b, 0, out)));
            }
            return new double[] {prefill, steps};
        }
    }

    /** Every fine codebook's logits over a random window of {@code rows} rows by both models; the largest difference. */
    private static double compareFine(Gpt reference, Gpt candidate, int rows, int length, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        GptConfig c = reference.config();
        double worst = 0;
        try (NDManager m = java32.model().manager().newSubManager()) {
            long[] codes = randomIds(random, rows * length * c.nCodesTotal(), c.inputVocabSize());
            NDArray input = Tensors.ids(m, codes, rows, length, c.nCodesTotal());
            for (int k = c.nCodesGiven(); k < c.nCodesTotal(); k++) {
                NDArray expected = reference.forwardFine(input, k);
                NDArray actual = candidate.forwardFine(input, k);
                assertEquals(expected.getShape(), actual.getShape());
                worst = Math.max(worst, Diffs.maxAbsDiff(Tensors.toDoubles(expected), Tensors.toDoubles(actual)));
            }
        }
        return worst;
    }

    @Test
    void fp32PassesWithin1e5OfJavaForAllThreeStages() {
        BarkModel model = java32.model();
        try (NativeGpt semantic = NativeGpt.create(model.semantic, false);
                NativeGpt coarse = NativeGpt.create(model.coarse, false);
                NativeGpt fine = NativeGpt.create(model.fine, false)) {
            for (int[] shape : new int[][] {{1, 257}, {3, 17}, {2, 1}}) {
                double[] d = comparePrefill(sdpa(model.semantic), fast(model.semantic, semantic), shape[0], shape[1],
                        DataType.FLOAT32, shape[1]);
                assertTrue(d[0] <= 1e-5, "semantic prefill " + shape[0] + "x" + shape[1] + " differs by " + d[0]);
                assertTrue(d[1] <= 1e-5, "steps after the semantic prefill differ by " + d[1]);
            }
            double[] d = comparePrefill(sdpa(model.coarse), fast(model.coarse, coarse), 2, 300, DataType.FLOAT32, 9);
            assertTrue(d[0] <= 1e-5 && d[1] <= 1e-5, "coarse prefill / steps differ by " + d[0] + " / " + d[1]);
            // fine: 2 x 1024 positions, where FP32 paths differ from each other by more than 1e-5
            // (the Java path with EAGER vs with SDPA: up to 1.3e-5); so the bound is the FP64 model's
            // logits, which the native pass must match as closely as the Java path does
            Gpt fp64 = java64.model().fine;
            double nativeError = compareFine(fp64, fast(model.fine, fine), 2, 1024, 10);
            double javaError = compareFine(fp64, sdpa(model.fine), 2, 1024, 10);
            double f = compareFine(sdpa(model.fine), fast(model.fine, fine), 2, 1024, 10);
            System.out.println("fine FP32 logits vs FP64: native " + nativeError + ", Java " + javaError
                    + "; native vs Java " + f);
            assertTrue(nativeError <= 1.5 * javaError, "fine FP32 pass is off FP64 by " + nativeError
                    + ", the Java path by " + javaError);
            assertTrue(f <= 5e-5, "fine FP32 logits differ by " + f);
            // a prompt pass without a cache (the first-step logits)
            try (NDManager m = model.manager().newSubManager()) {
                long[] ids = randomIds(new SplittableRandom(11), 40, 10000);
                Gpt reference = sdpa(model.semantic);
                double[] expected = Tensors.toDoubles(reference.forwardCausal(
                        reference.embed(Tensors.ids(m, ids, 1, 40)), null, true));
                Gpt g = fast(model.semantic, semantic);
                double[] actual = Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, ids, 1, 40)), null, true));
                assertTrue(Diffs.maxAbsDiff(expected, actual) <= 1e-5);
                // and every position's logits (lastOnly false: 400k logits, so the FP32 spread of
                // the Java path itself, about 1.3e-5 between its EAGER and SDPA attention)
                expected = Tensors.toDoubles(reference.forwardCausal(
                        reference.embed(Tensors.ids(m, ids, 2, 20)), null, false));
                actual = Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, ids, 2, 20)), null, false));
                double all = Diffs.maxAbsDiff(expected, actual);
                assertTrue(all <= 2e-5, "every position's logits differ by " + all);
            }
        }
    }

    @Test
    void fp64PassesWithin1e12OfJava() {
        BarkModel model = java64.model();
        try (NativeGpt coarse = NativeGpt.create(model.coarse, false);
                NativeGpt fine = NativeGpt.create(model.fine, false)) {
            double[] d = comparePrefill(sdpa(model.coarse), fast(model.coarse, coarse), 2, 100, DataType.FLOAT64, 12);
            assertTrue(d[0] <= 1e-12 && d[1] <= 1e-12, "coarse FP64 prefill / steps differ by " + d[0] + " / " + d[1]);
            double f = compareFine(sdpa(model.fine), fast(model.fine, fine), 1, 300, 13);
            assertTrue(f <= 1e-12, "fine FP64 logits differ by " + f);
        }
    }

    /**
     * BF16 passes stay within the first-pass bound of FP32. Where they attend in FP32 they agree
     * closely with the Java BF16 path, which rounds to bfloat16 at the same places (only the
     * LayerNorm implementations differ, by an FP32 rounding that can move one bfloat16 rounding).
     * Where they attend in bfloat16 (AVX-512 BF16) they round q, k, v and the probabilities too,
     * which may add to the Java BF16 path's distance from FP32 only a fraction of it.
     */
    @Test
    void bf16PassesWithinTheFirstPassBoundOfFp32() {
        BarkModel model = java32.model();
        try (Bf16Matmuls sm = Bf16Matmuls.round(model.semantic.weights());
                Bf16Matmuls fm = Bf16Matmuls.round(model.fine.weights());
                NativeGpt semantic = NativeGpt.create(model.semantic.withBf16Matmuls(sm), true);
                NativeGpt fine = NativeGpt.create(model.fine.withBf16Matmuls(fm), true)) {
            Gpt javaSemantic = sdpa(model.semantic).withBf16Matmuls(sm);
            Gpt fastSemantic = fast(model.semantic, semantic).withBf16Matmuls(sm);
            double vsFp32 = comparePrefill(model.semantic, fastSemantic, 2, 257, DataType.FLOAT32, 14)[0];
            double vsJava = comparePrefill(javaSemantic, fastSemantic, 2, 257, DataType.FLOAT32, 14)[0];
            Gpt javaFine = sdpa(model.fine).withBf16Matmuls(fm);
            Gpt fastFine = fast(model.fine, fine).withBf16Matmuls(fm);
            double fineVsFp32 = compareFine(model.fine, fastFine, 1, 1024, 15);
            double fineVsJava = compareFine(javaFine, fastFine, 1, 1024, 15);
            System.out.println("BF16 native pass vs FP32: semantic " + vsFp32 + ", fine " + fineVsFp32
                    + "; vs the Java BF16 path: " + vsJava + ", " + fineVsJava);
            assertTrue(vsFp32 <= Bf16MatmulsTest.BF16_FIRST_PASS_BOUND, "semantic BF16 pass differs by " + vsFp32);
            assertTrue(fineVsFp32 <= Bf16MatmulsTest.BF16_FIRST_PASS_BOUND, "fine BF16 pass differs by " + fineVsFp32);
            assertTrue(vsFp32 > 0 && fineVsFp32 > 0, "BF16 computed nothing in bfloat16");
            if (NativeKernels.bf16Attention()) {
                double javaVsFp32 = comparePrefill(model.semantic, javaSemantic, 2, 257, DataType.FLOAT32, 14)[0];
                double javaFineVsFp32 = compareFine(model.fine, javaFine, 1, 1024, 15);
                System.out.println("bfloat16 attention; the Java BF16 path vs FP32: semantic " + javaVsFp32 + ", fine "
                        + javaFineVsFp32);
                assertTrue(vsFp32 <= 1.5 * javaVsFp32 && fineVsFp32 <= 1.5 * javaFineVsFp32,
                        "bfloat16 attention adds more than half the BF16 matmuls' error: " + vsFp32 + " vs " + javaVsFp32
                                + ", " + fineVsFp32 + " vs " + javaFineVsFp32);
            } else {
                assertTrue(vsJava <= vsFp32 / 2 && fineVsJava <= fineVsFp32 / 2,
                        "the native BF16 pass is not the Java BF16 path's arithmetic: " + vsJava + ", " + fineVsJava);
            }
        }
    }

    /**
     * The pass's elementwise loops (LayerNorm, bias + GELU, residual adds, bfloat16 rounding) give
     * the portable loops' results on every instruction set, with FP32 and with BF16 GEMM operands.
     */
    @Test
    void passMatchesOnEveryInstructionSet() {
        BarkModel model = java32.model();
        int best = NativeKernels.useIsa(NativeKernels.AVX512);
        try (NativeGpt fine = NativeGpt.create(model.fine, false); NativeGpt fineBf16 = NativeGpt.create(model.fine, true);
                NativeGpt coarse = NativeGpt.create(model.coarse, true)) {
            for (NativeGpt step : new NativeGpt[] {fine, fineBf16}) {
                Gpt g = fast(model.fine, step);
                double[] portable;
                try (NDManager m = model.manager().newSubManager()) {
                    NativeKernels.useIsa(NativeKernels.PORTABLE);
                    NDArray input = Tensors.ids(m, randomIds(new SplittableRandom(18), 300 * 8, 1056), 1, 300, 8);
                    portable = Tensors.toDoubles(g.forwardFine(input, 3));
                    for (int isa = NativeKernels.AVX2; isa <= best; isa++) {
                        NativeKernels.useIsa(isa);
                        double d = Diffs.maxAbsDiff(portable, Tensors.toDoubles(g.forwardFine(input, 3)));
                        System.out.println("fine pass, " + (step.isBf16() ? "BF16" : "FP32") + ", isa " + isa
                                + " vs portable: " + d);
                        // FP32: the AVX-512 GELU uses the erf formula libtorch vectorises (A&S 7.1.26, error
                        // below 1.5e-7), the portable one std::erf
                        assertTrue(d <= (step.isBf16() ? 0.05 : 3e-5), "isa " + isa + ": fine logits differ by " + d);
                    }
                }
            }
            NativeKernels.useIsa(NativeKernels.PORTABLE);
            Gpt g = fast(model.coarse, coarse);
            double[] portable;
            try (NDManager m = model.manager().newSubManager()) {
                long[] ids = randomIds(new SplittableRandom(19), 2 * 100, 12096);
                portable = Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, ids, 2, 100)), null, true));
                NativeKernels.useIsa(best);
                double d = Diffs.maxAbsDiff(portable, Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, ids, 2, 100)), null, true)));
                System.out.println("coarse BF16 prefill, isa " + best + " vs portable: " + d);
                assertTrue(d <= 0.05, "BF16 coarse prefill differs between instruction sets by " + d);
            }
        } finally {
            NativeKernels.useIsa(best);
        }
    }

    /** A row passed in a batch gets the logits it gets alone, within FP32 rounding (the GEMM's blocking may differ). */
    @Test
    void batchedRowsEqualSingleRuns() {
        BarkModel model = java32.model();
        try (NativeGpt step = NativeGpt.create(model.coarse, false); NDManager m = model.manager().newSubManager()) {
            Gpt g = fast(model.coarse, step);
            long[] ids = randomIds(new SplittableRandom(16), 2 * 50, 12096);
            double[] both = Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, ids, 2, 50)), null, true));
            for (int r = 0; r < 2; r++) {
                long[] one = java.util.Arrays.copyOfRange(ids, r * 50, (r + 1) * 50);
                double[] alone = Tensors.toDoubles(g.forwardCausal(g.embed(Tensors.ids(m, one, 1, 50)), null, true));
                double[] mine = java.util.Arrays.copyOfRange(both, r * 12096, (r + 1) * 12096);
                assertTrue(Diffs.maxAbsDiff(alone, mine) <= 1e-5, "row " + r);
            }
        }
    }

    @Test
    void rejectsWhatItCannotRun() {
        BarkModel model = java32.model();
        try (NativeGpt coarse = NativeGpt.create(model.coarse, false);
                NativeGpt fine = NativeGpt.create(model.fine, false);
                NDManager m = model.manager().newSubManager();
                KvCache used = new KvCache(m, model.coarse.config(), 1, 20, DataType.FLOAT32);
                KvCache small = new KvCache(m, model.coarse.config(), 1, 5, DataType.FLOAT32)) {
            NDArray x = m.zeros(new Shape(1, 10, 32), DataType.FLOAT32);
            NDArray strided = m.zeros(new Shape(2, 10, 32), DataType.FLOAT32).transpose(1, 0, 2);
            assertThrows(IllegalArgumentException.class, () -> coarse.pass(m.zeros(new Shape(1, 10, 31)), null, true));
            assertThrows(IllegalArgumentException.class,
                    () -> coarse.pass(m.zeros(new Shape(1, 10, 32), DataType.FLOAT64), null, true));
            assertThrows(IllegalArgumentException.class, () -> coarse.pass(m.zeros(new Shape(1, 1025, 32)), null, true));
            assertThrows(IllegalArgumentException.class, () -> coarse.pass(strided, null, true));
            assertThrows(IllegalArgumentException.class, () -> coarse.pass(x, small, true));
            assertThrows(IllegalArgumentException.class, () -> fine.pass(x, used, true));
            coarse.step(new long[] {1}, used, 0, 10);
            assertThrows(IllegalArgumentException.class, () -> coarse.pass(x, used, true));
            assertThrows(IllegalStateException.class, () -> fine.step(new long[] {1}, used, 0, 10));
            coarse.close();
            assertThrows(IllegalStateException.class, () -> coarse.pass(x, null, true));
        }
    }

    /**
     * 300 passes (prefills into a cache, and fine windows) make and hand back about 30 MB of
     * libtorch tensors in all at this size; the resident set does not grow with them.
     */
    @Test
    void passesLeaveNoNativeMemoryBehind() throws Exception {
        BarkModel model = java32.model();
        try (NativeGpt coarse = NativeGpt.create(model.coarse, true); NativeGpt fine = NativeGpt.create(model.fine, false)) {
            long before = 0;
            for (int i = 0; i < 320; i++) {
                if (i == 20) {
                    System.gc();
                    before = NativeGptTest.rssKb();
                }
                try (NDManager m = model.manager().newSubManager();
                        KvCache cache = new KvCache(m, model.coarse.config(), 2, 300, DataType.FLOAT32)) {
                    coarse.pass(m.randomNormal(new Shape(2, 300, 32)), cache, true).close();
                    fine.pass(m.randomNormal(new Shape(1, 1024, 32)), null, false).close();
                }
            }
            System.gc();
            long grown = NativeGptTest.rssKb() - before;
            assertTrue(grown < 64 * 1024, "RSS grew by " + grown + " kB over 300 passes");
        }
    }
}

package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.Attention;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeTestSupport;
import io.github.bark4j.internal.pipeline.Coarse;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.internal.pipeline.Sampler;
import io.github.bark4j.internal.pipeline.Semantic;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The native decode step ({@link NativeGpt}) against the Java {@link Gpt} it mirrors, step by step
 * on the same KV cache contents: FP32 logits within 1e-5, FP64 within 1e-12, BF16 within a stated
 * bound, batched rows equal to single runs, rows leaving the batch, and greedy token parity.
 */
class NativeGptTest {
    /**
     * BF16 weights move the fixture's decode-step logits by at most this much from FP32 (measured
     * 0.089 on the random-weight fixture, whose logits span about ±10; FP16's bound is 5e-2 with 3
     * more mantissa bits).
     */
    static final double BF16_LOGIT_BOUND = 0.15;

    private static Pipeline java32;
    private static Pipeline java64;

    @BeforeAll
    static void load() {
        NativeTestSupport.requireBridge();
        java32 = build(Precision.FP32, false);
        java64 = build(Precision.FP64, false);
    }

    @AfterAll
    static void close() {
        if (java32 != null) {
            java32.close();
            java64.close();
        }
    }

    static Pipeline build(Precision p, boolean nativeStep) {
        return TestModels.tinyBark(p, Attention.EAGER, nativeStep);
    }

    /**
     * Prefills two caches identically (Java path) with 3 random prompts, then decodes 12 steps with
     * the reference and the native step; after 5 steps row 1 leaves the batch. Returns the largest
     * logit difference seen.
     */
    private static double compareSteps(Gpt reference, NativeGpt fast, int from, int to, DataType dtype, long seed) {
        Gpt nativeGpt = reference.withNativeStep(fast);
        SplittableRandom random = new SplittableRandom(seed);
        int rows = 3;
        int prompt = 17;
        int vocab = Math.min(reference.config().inputVocabSize(), reference.config().outputVocabSize());
        double worst = 0;
        try (NDManager m = java32.model().manager().newSubManager();
                KvCache a = new KvCache(m, reference.config(), rows, prompt + 12, dtype);
                KvCache b = new KvCache(m, reference.config(), rows, prompt + 12, dtype)) {
            long[] ids = new long[rows * prompt];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(vocab);
            }
            reference.forwardCausal(reference.embed(Tensors.ids(m, ids, rows, prompt)), a, true);
            reference.forwardCausal(reference.embed(Tensors.ids(m, ids, rows, prompt)), b, true);
            for (int step = 0; step < 12; step++) {
                if (step == 5) {
                    a.keepRows(new long[] {0, 2});
                    b.keepRows(new long[] {0, 2});
                    rows = 2;
                }
                long[] feed = new long[rows];
                for (int r = 0; r < rows; r++) {
                    feed[r] = random.nextInt(vocab);
                }
                double[] expected = reference.decode(m, feed, a, from, to);
                double[] actual = nativeGpt.decode(m, feed, b, from, to);
                assertEquals(expected.length, actual.length);
                assertEquals(a.length(), b.length());
                for (int i = 0; i < expected.length; i++) {
                    worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                }
            }
        }
        return worst;
    }

    @Test
    void fp32StepLogitsWithin1e5OfJavaForSemanticAndCoarse() {
        BarkModel model = java32.model();
        try (NativeGpt semantic = NativeGpt.create(model.semantic, false);
                NativeGpt coarse = NativeGpt.create(model.coarse, false)) {
            for (int[] range : new int[][] {{0, Semantic.EOS + 1}, {0, 10048}, {5, 6}}) {
                double d = compareSteps(model.semantic, semantic, range[0], range[1], DataType.FLOAT32, 1);
                assertTrue(d <= 1e-5, "semantic FP32 step logits differ by " + d);
            }
            double d = compareSteps(model.coarse, coarse, Coarse.CODES_START, Coarse.CODES_END, DataType.FLOAT32, 2);
            assertTrue(d <= 1e-5, "coarse FP32 step logits differ by " + d);
        }
    }

    @Test
    void fp32StepMatchesOnEveryInstructionSet() {
        BarkModel model = java32.model();
        int best = NativeKernels.useIsa(NativeKernels.AVX512);
        try (NativeGpt coarse = NativeGpt.create(model.coarse, false)) {
            for (int isa = NativeKernels.PORTABLE; isa <= best; isa++) {
                NativeKernels.useIsa(isa);
                double d = compareSteps(model.coarse, coarse, 0, 12096, DataType.FLOAT32, 3);
                assertTrue(d <= 1e-5, "isa " + isa + ": coarse FP32 step logits differ by " + d);
            }
        } finally {
            NativeKernels.useIsa(best);
        }
    }

    @Test
    void fp64StepLogitsWithin1e12OfJava() {
        BarkModel model = java64.model();
        try (NativeGpt semantic = NativeGpt.create(model.semantic, false);
                NativeGpt coarse = NativeGpt.create(model.coarse, false)) {
            double d = compareSteps(model.semantic, semantic, 0, 10048, DataType.FLOAT64, 4);
            assertTrue(d <= 1e-12, "semantic FP64 step logits differ by " + d);
            d = compareSteps(model.coarse, coarse, 0, 12096, DataType.FLOAT64, 5);
            assertTrue(d <= 1e-12, "coarse FP64 step logits differ by " + d);
        }
    }

    @Test
    void bf16StepLogitsWithinTheBoundOfFp32() {
        BarkModel model = java32.model();
        try (NativeGpt semantic = NativeGpt.create(model.semantic, true);
                NativeGpt coarse = NativeGpt.create(model.coarse, true)) {
            assertTrue(semantic.isBf16());
            double ds = compareSteps(model.semantic, semantic, 0, 10048, DataType.FLOAT32, 6);
            double dc = compareSteps(model.coarse, coarse, 0, 12096, DataType.FLOAT32, 7);
            System.out.println("BF16 step logits vs FP32: semantic " + ds + ", coarse " + dc);
            assertTrue(ds <= BF16_LOGIT_BOUND, "semantic BF16 differs by " + ds);
            assertTrue(dc <= BF16_LOGIT_BOUND, "coarse BF16 differs by " + dc);
            // and it is not simply the FP32 path
            assertTrue(ds > 0 && dc > 0);
        }
    }

    /**
     * The greedy step's native argmax is the argmax of the logits the same step returns (first of
     * equal maxima), for several ranges, 3 rows and both stages.
     */
    @Test
    void nativeArgmaxIsTheArgmaxOfTheLogits() {
        BarkModel model = java32.model();
        SplittableRandom random = new SplittableRandom(12);
        int[][] ranges = {{0, 10001}, {0, 10000}, {10000, 11024}, {11024, 12048}, {5, 6}};
        for (Gpt reference : new Gpt[] {model.semantic, model.coarse}) {
            try (NativeGpt step = NativeGpt.create(reference, false); NDManager m = model.manager().newSubManager();
                    KvCache a = new KvCache(m, reference.config(), 3, 20, DataType.FLOAT32);
                    KvCache b = new KvCache(m, reference.config(), 3, 20, DataType.FLOAT32)) {
                Gpt fast = reference.withNativeStep(step);
                int vocab = Math.min(reference.config().inputVocabSize(), reference.config().outputVocabSize());
                for (int i = 0; i < 15; i++) {
                    int[] r = ranges[i % ranges.length];
                    if (r[1] > reference.config().outputVocabSize()) {
                        continue;
                    }
                    long[] ids = {random.nextInt(vocab), random.nextInt(vocab), random.nextInt(vocab)};
                    double[] logits = fast.decode(m, ids, a, r[0], r[1]);
                    int[] best = fast.decodeArgmax(m, ids, b, r[0], r[1]);
                    int width = r[1] - r[0];
                    for (int row = 0; row < 3; row++) {
                        assertEquals(Logits.argmax(logits, row * width, (row + 1) * width), best[row],
                                "row " + row + ", range " + r[0] + ".." + r[1]);
                    }
                }
            }
        }
    }

    /** A row decoded in a batch gets the logits it gets alone (rows never mix). */
    @Test
    void batchedRowsEqualSingleRuns() {
        BarkModel model = java32.model();
        Gpt gpt = model.semantic;
        try (NativeGpt step = NativeGpt.create(gpt, false); NDManager m = model.manager().newSubManager()) {
            Gpt fast = gpt.withNativeStep(step);
            long[] prompts = {7, 8, 9, 10, 11, 12, 1, 2, 3, 4, 5, 6, 3, 3, 3, 3, 3, 3};
            int rows = 3;
            int length = 6;
            try (KvCache batch = new KvCache(m, gpt.config(), rows, 20, DataType.FLOAT32)) {
                gpt.forwardCausal(gpt.embed(Tensors.ids(m, prompts, rows, length)), batch, true);
                double[][] single = new double[rows][];
                for (int r = 0; r < rows; r++) {
                    try (KvCache alone = new KvCache(m, gpt.config(), 1, 20, DataType.FLOAT32)) {
                        long[] p = Arrays.copyOfRange(prompts, r * length, (r + 1) * length);
                        gpt.forwardCausal(gpt.embed(Tensors.ids(m, p, 1, length)), alone, true);
                        single[r] = fast.decode(m, new long[] {40 + r}, alone, 0, 10048);
                    }
                }
                double[] together = fast.decode(m, new long[] {40, 41, 42}, batch, 0, 10048);
                for (int r = 0; r < rows; r++) {
                    double[] row = Arrays.copyOfRange(together, r * 10048, (r + 1) * 10048);
                    for (int i = 0; i < row.length; i++) {
                        // the prompt passes (libtorch GEMM, batch of 3 vs 1) differ by float rounding
                        assertEquals(single[r][i], row[i], 1e-5, "row " + r + " logit " + i);
                    }
                }
            }
        }
    }

    /**
     * Greedy FP32 semantic decoding of every golden case, native step vs Java path: the same token
     * at every step whose Java top-2 margin exceeds 1e-4 (teacher-forced on the Java tokens).
     */
    @Test
    void greedyFp32NativeTakesTheJavaTokenWhereverTheMarginAllows() throws Exception {
        try (Pipeline fast = build(Precision.FP32, true)) {
            assertTrue(fast.speed().nativeStep());
            assertNotNull(fast.model().semantic.nativeStep());
            assertNull(java32.model().semantic.nativeStep());
            for (Golden.Case c : Golden.cases()) {
                int[] ref = semantic(java32, c);
                int[] got = semantic(fast, c);
                int n = Math.min(ref.length, got.length);
                int step = n;
                for (int i = 0; i < n; i++) {
                    if (ref[i] != got[i]) {
                        step = i;
                        break;
                    }
                }
                if (step == n && ref.length == got.length) {
                    continue;
                }
                // a divergence is allowed only where the Java path's own top-2 margin was within 1e-4
                double margin = javaTop2Margin(c, ref, step);
                assertTrue(margin <= 1e-4, c.name() + ": native left the Java path at step " + step
                        + " where the margin was " + margin);
            }
        }
    }

    /** Greedy semantic tokens of a golden case (the stage alone: it is where decode steps dominate). */
    static int[] semantic(Pipeline s, Golden.Case c) {
        GenerationOptions o = options(c);
        try (NDManager m = s.model().manager().newSubManager()) {
            return Semantic.generate(s.model().semantic, m, new long[][] {c.textIds()}, o.voice(), o,
                    new Sampler[] {new Sampler(0)})[0];
        }
    }

    static GenerationOptions options(Golden.Case c) {
        GenerationOptions.Builder o = GenerationOptions.builder().greedy().maxSemanticSeconds(c.maxSemanticSeconds());
        if (c.voice() != null) {
            o.voice(VoicePreset.load(SharedFiles.voice(c.voice())));
        }
        return o.build();
    }

    /**
     * BF16 greedy semantic decoding of every golden case follows the golden FP64 tokens up to the
     * first step whose FP64 top-2 margin is within twice the BF16 logit bound (where rounding the
     * weights may legitimately change the answer).
     */
    @Test
    void greedyBf16FollowsGoldenWhereverTheFp64MarginIsWide() throws Exception {
        try (Pipeline bf16 = build(Precision.BF16, true)) {
            assertEquals(Precision.BF16, bf16.speed().precision());
            for (Golden.Case c : Golden.cases()) {
                int[] golden = c.semantic();
                int[] got = semantic(bf16, c);
                int n = Math.min(golden.length, got.length);
                int step = n;
                for (int i = 0; i < n; i++) {
                    if (golden[i] != got[i]) {
                        step = i;
                        break;
                    }
                }
                if (step == n && golden.length == got.length) {
                    continue;
                }
                double margin = top2Margin(java64, c, golden, step);
                // the prompt pass runs on the bf16 GEMM too: its wider bound applies
                assertTrue(margin <= 2 * Bf16MatmulsTest.BF16_FIRST_PASS_BOUND, c.name() + ": BF16 left the golden path at step " + step
                        + " where the FP64 margin was " + margin);
            }
        }
    }

    /** The Java FP32 path's top-2 logit margin at semantic step {@code step} (teacher-forced). */
    private static double javaTop2Margin(Golden.Case c, int[] tokens, int step) throws Exception {
        return top2Margin(java32, c, tokens, step);
    }

    private static double top2Margin(Pipeline s, Golden.Case c, int[] tokens, int step) throws Exception {
        Gpt gpt = s.model().semantic;
        DataType dtype = gpt.weights().positionEmbedding().getDataType();
        VoicePreset voice = c.voice() == null ? null : VoicePreset.load(SharedFiles.voice(c.voice()));
        long[] prompt = Semantic.promptIds(c.textIds(), voice);
        try (NDManager m = s.model().manager().newSubManager();
                KvCache cache = new KvCache(m, gpt.config(), 1, Semantic.PROMPT_LENGTH + step + 1, dtype)) {
            double[] logits = Tensors.toDoubles(gpt.forwardCausal(Semantic.promptEmbeddings(gpt, m, prompt, 1),
                    cache, true));
            for (int i = 0; i < step; i++) {
                logits = gpt.decode(m, new long[] {tokens[i]}, cache, 0, Semantic.EOS + 1);
            }
            double[] l = Arrays.copyOf(logits, Semantic.EOS + 1);
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length - 1] - sorted[sorted.length - 2];
        }
    }

    /** Resident set size of this process in kB, from /proc/self/status. */
    static long rssKb() throws Exception {
        for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS");
    }

    /**
     * 200 plans with bf16 copies (about 1.3 MB of native memory each for the fixture), each with
     * decode steps and a failing step, then closed: the process's resident set does not grow with
     * them (a leak would add about 260 MB).
     */
    @Test
    void plansAndStepsLeaveNoNativeMemoryBehind() throws Exception {
        BarkModel model = java32.model();
        long before = 0;
        for (int i = 0; i < 220; i++) {
            if (i == 20) {
                System.gc();
                before = rssKb(); // after the allocator and JIT have warmed up
            }
            try (NativeGpt step = NativeGpt.create(model.semantic, true); NDManager m = model.manager().newSubManager();
                    KvCache cache = new KvCache(m, model.semantic.config(), 2, 8, DataType.FLOAT32)) {
                step.step(new long[] {1, 2}, cache, 0, 10048);
                step.step(new long[] {3, 4}, cache, 0, 10001);
                assertThrows(RuntimeException.class, () -> step.step(new long[] {1, -1}, cache, 0, 10));
            }
        }
        System.gc();
        long grown = rssKb() - before;
        assertTrue(grown < 64 * 1024, "RSS grew by " + grown + " kB over 200 native plans");
    }

    @Test
    void rejectsWhatItCannotRun() {
        BarkModel model = java32.model();
        assertTrue(NativeGpt.supports(model.fine)); // whole passes only: NativePassTest
        assertThrows(IllegalArgumentException.class, () -> NativeGpt.create(java64.model().semantic, true));
        try (NativeGpt step = NativeGpt.create(model.semantic, false); NDManager m = model.manager().newSubManager();
                KvCache cache = new KvCache(m, model.semantic.config(), 2, 4, DataType.FLOAT32);
                KvCache wide = new KvCache(m, model.semantic.config(), 1, 4, DataType.FLOAT64)) {
            assertThrows(IllegalArgumentException.class, () -> step.step(new long[] {1}, cache, 0, 10));
            assertThrows(IllegalArgumentException.class, () -> step.step(new long[] {1, 2}, cache, 0, 10049));
            assertThrows(IllegalArgumentException.class, () -> step.step(new long[] {1, 2}, cache, 5, 5));
            assertThrows(IllegalArgumentException.class, () -> step.step(new long[] {1}, wide, 0, 10));
            // an id outside the vocabulary is a C++ error that leaves the cache as it was
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> step.step(new long[] {1, 129600}, cache, 0, 10));
            assertTrue(e.getMessage().contains("outside the input vocabulary"), e.getMessage());
            assertEquals(0, cache.length());
            for (int i = 0; i < 4; i++) {
                step.step(new long[] {1, 2}, cache, 0, 10);
            }
            assertThrows(IllegalStateException.class, () -> step.step(new long[] {1, 2}, cache, 0, 10));
            step.close();
            assertThrows(IllegalStateException.class, () -> step.step(new long[] {1}, wide, 0, 10));
        }
    }
}

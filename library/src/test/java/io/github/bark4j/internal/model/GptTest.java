package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.internal.pipeline.Semantic;
import io.github.bark4j.testing.Diffs;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

/**
 * The GPT against naive references on the fixture in FP64: KV-cached decoding equals a cache-free
 * pass, the eager attention kernel equals per-element loops, the fine model only looks at codebooks up
 * to the one it predicts, and batch rows do not influence each other.
 */
class GptTest {
    private static Pipeline synth;
    private static BarkModel model;
    private NDManager mgr;

    @BeforeAll
    static void load() {
        synth = TestModels.tinyBark(Precision.FP64);
        model = synth.model();
    }

    @AfterAll
    static void close() {
        synth.close();
    }

    @org.junit.jupiter.api.BeforeEach
    void manager() {
        mgr = model.manager().newSubManager();
    }

    @org.junit.jupiter.api.AfterEach
    void release() {
        mgr.close();
    }

    static long[] randomIds(Random r, int n, int bound) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextInt(bound);
        }
        return out;
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        FirstPassLogitsTest.assertClose(expected, actual, tol, what);
    }

    /** Rows [from, to) of logits (1, T, V) flattened as doubles. */
    static double[] rows(double[] logits, int vocab, int from, int to) {
        return Arrays.copyOfRange(logits, from * vocab, to * vocab);
    }

    /**
     * Feeds {@code prompt} then {@code tokens} through the KV cache in the chunk sizes given, comparing
     * every step's logits with the cache-free pass over the whole sequence.
     */
    private void checkCachedEqualsFull(Gpt gpt, NDArray prompt, long[] tokens, int[] chunks) {
        int v = gpt.config().outputVocabSize();
        int p = (int) prompt.getShape().get(1);
        NDArray all = NDArrays.concat(new NDList(prompt, gpt.embed(Tensors.ids(mgr, tokens, 1, tokens.length))), 1);
        double[] full = Tensors.toDoubles(gpt.forwardCausal(all, null, false));
        assertEquals((long) (p + tokens.length) * v, full.length);
        try (KvCache cache = new KvCache(mgr, gpt.config(), 1, p + tokens.length, DataType.FLOAT64)) {
            double[] first = Tensors.toDoubles(gpt.forwardCausal(prompt, cache, true));
            assertClose(rows(full, v, p - 1, p), first, 1e-9, gpt.config().name() + " prompt");
            assertEquals(p, cache.length());
            int pos = 0;
            for (int chunk : chunks) {
                long[] ids = Arrays.copyOfRange(tokens, pos, pos + chunk);
                NDArray x = gpt.embed(Tensors.ids(mgr, ids, 1, chunk));
                double[] step = Tensors.toDoubles(gpt.forwardCausal(x, cache, false));
                assertClose(rows(full, v, p + pos, p + pos + chunk), step, 1e-9,
                        gpt.config().name() + " tokens " + pos + ".." + (pos + chunk - 1));
                pos += chunk;
                assertEquals(p + pos, cache.length());
            }
            assertEquals(tokens.length, pos);
        }
    }

    @Test
    void semanticKvCacheEqualsFullForward() {
        Random r = new Random(1);
        Gpt gpt = model.semantic;
        long[] prompt = Semantic.promptIds(randomIds(r, 20, 119_547), null);
        NDArray embeds = Semantic.promptEmbeddings(gpt, mgr, prompt, 1);
        assertArrayEquals(new long[] {1, 257, 32}, embeds.getShape().getShape());
        checkCachedEqualsFull(gpt, embeds, randomIds(r, 14, 10_000), new int[] {1, 1, 1, 1, 4, 1, 3, 1, 1});
    }

    @Test
    void coarseKvCacheEqualsFullForward() {
        Random r = new Random(2);
        Gpt gpt = model.coarse;
        NDArray prompt = gpt.embed(Tensors.ids(mgr, randomIds(r, 100, 12_096), 1, 100));
        checkCachedEqualsFull(gpt, prompt, randomIds(r, 12, 12_096), new int[] {1, 2, 1, 5, 1, 1, 1});
    }

    @Test
    void cacheAndBlockLimitsAreEnforced() {
        Gpt gpt = model.coarse;
        try (KvCache cache = new KvCache(mgr, gpt.config(), 1, 4, DataType.FLOAT64)) {
            NDArray x = gpt.embed(Tensors.ids(mgr, new long[] {1, 2, 3}, 1, 3));
            gpt.forwardCausal(x, cache, true);
            assertThrows(IllegalStateException.class, () -> gpt.forwardCausal(x, cache, true), "cache overflow");
        }
        int block = gpt.config().blockSize();
        NDArray tooLong = mgr.zeros(new Shape(1, block + 1, gpt.config().hiddenSize()), DataType.FLOAT64);
        assertThrows(IllegalArgumentException.class, () -> gpt.forwardCausal(tooLong, null, true));
        assertThrows(IllegalStateException.class, () -> model.fine.forwardCausal(tooLong, null, true));
        NDArray codes = mgr.zeros(new Shape(1, 4, 8), DataType.INT64);
        assertThrows(IllegalStateException.class, () -> gpt.forwardFine(codes, 2));
        assertThrows(IllegalArgumentException.class, () -> model.fine.forwardFine(codes, 0), "codebook 0 is given");
        assertThrows(IllegalArgumentException.class, () -> model.fine.forwardFine(codes, 8));
    }

    /** Scaled dot-product attention with loops: query i sees keys j ≤ Tk − Tq + i when causal. */
    static double[] naiveAttention(double[] q, double[] k, double[] v, int b, int h, int tq, int tk, int hd,
            boolean causal) {
        double[] out = new double[b * h * tq * hd];
        double scale = 1 / Math.sqrt(hd);
        for (int bi = 0; bi < b; bi++) {
            for (int hi = 0; hi < h; hi++) {
                int qBase = (bi * h + hi) * tq * hd;
                int kBase = (bi * h + hi) * tk * hd;
                for (int i = 0; i < tq; i++) {
                    int visible = causal ? tk - tq + i + 1 : tk;
                    double[] scores = new double[visible];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < visible; j++) {
                        double s = 0;
                        for (int d = 0; d < hd; d++) {
                            s += q[qBase + i * hd + d] * k[kBase + j * hd + d];
                        }
                        scores[j] = s * scale;
                        max = Math.max(max, scores[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) {
                        scores[j] = Math.exp(scores[j] - max);
                        sum += scores[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        double acc = 0;
                        for (int j = 0; j < visible; j++) {
                            acc += scores[j] / sum * v[kBase + j * hd + d];
                        }
                        out[qBase + i * hd + d] = acc;
                    }
                }
            }
        }
        return out;
    }

    static double[] gaussian(Random r, int n, double scale) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = r.nextGaussian() * scale;
        }
        return out;
    }

    @Test
    void eagerAttentionEqualsNaiveLoops() {
        Random r = new Random(3);
        int[][] cases = { // b, h, tq, tk, hd
            {2, 3, 5, 9, 4}, {1, 2, 6, 6, 8}, {3, 1, 1, 7, 5}, {2, 2, 3, 3, 16}, {1, 4, 2, 11, 3}};
        for (int[] c : cases) {
            int b = c[0];
            int h = c[1];
            int tq = c[2];
            int tk = c[3];
            int hd = c[4];
            double[] q = gaussian(r, b * h * tq * hd, 2);
            double[] k = gaussian(r, b * h * tk * hd, 2);
            double[] v = gaussian(r, b * h * tk * hd, 1);
            for (boolean causal : new boolean[] {true, false}) {
                String what = Arrays.toString(c) + (causal ? " causal" : " full");
                double[] expected = naiveAttention(q, k, v, b, h, tq, tk, hd, causal);
                NDArray qa = mgr.create(q, new Shape(b, h, tq, hd));
                NDArray ka = mgr.create(k, new Shape(b, h, tk, hd));
                NDArray va = mgr.create(v, new Shape(b, h, tk, hd));
                NDArray y = AttentionKernel.EAGER.attend(qa, ka, va, causal);
                assertArrayEquals(new long[] {b, h, tq, hd}, y.getShape().getShape(), what);
                assertClose(expected, Tensors.toDoubles(y), 1e-12, what + " fp64");
                NDArray y32 = AttentionKernel.EAGER.attend(qa.toType(DataType.FLOAT32, false),
                        ka.toType(DataType.FLOAT32, false), va.toType(DataType.FLOAT32, false), causal);
                assertEquals(DataType.FLOAT32, y32.getDataType());
                assertClose(expected, Tensors.toDoubles(y32), 2e-5, what + " fp32");
            }
        }
    }

    @Test
    void causalMaskIsBottomRightAligned() {
        NDArray like = mgr.zeros(new Shape(1), DataType.FLOAT64);
        double[] m = Tensors.toDoubles(AttentionKernel.causalMask(like, 2, 5));
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 5; j++) {
                boolean visible = j <= 5 - 2 + i;
                assertEquals(visible ? 0.0 : Double.NEGATIVE_INFINITY, m[i * 5 + j], "query " + i + " key " + j);
            }
        }
    }

    /** Logits of the fine model for codebook k depend on codebooks 0..k and on nothing above k. */
    @Test
    void fineLogitsDependOnlyOnCodebooksUpToThePredictedOne() {
        Random r = new Random(4);
        int frames = 16;
        int books = model.fine.config().nCodesTotal();
        long[] codes = randomIds(r, frames * books, 1025); // 1024 is the pad code
        double[][] base = new double[books][];
        for (int k = 1; k < books; k++) {
            base[k] = Tensors.toDoubles(model.fine.forwardFine(Tensors.ids(mgr, codes, 1, frames, books), k));
            assertEquals((long) frames * model.fine.config().outputVocabSize(), base[k].length);
        }
        for (int j = 0; j < books; j++) {
            long[] changed = codes.clone();
            for (int t = 3; t < frames; t += 7) {
                changed[t * books + j] = (changed[t * books + j] + 1 + r.nextInt(1000)) % 1025;
            }
            for (int k = 1; k < books; k++) {
                double[] logits = Tensors.toDoubles(model.fine.forwardFine(Tensors.ids(mgr, changed, 1, frames, books), k));
                double diff = Diffs.maxAbsDiff(base[k], logits);
                if (j <= k) {
                    assertTrue(diff > 1e-6, "codebook " + j + " must influence the logits of codebook " + k);
                } else {
                    assertEquals(0.0, diff, "codebook " + j + " must not influence the logits of codebook " + k);
                }
            }
        }
    }

    @Test
    void causalBatchRowsEqualSingleRows() {
        Random r = new Random(5);
        for (Gpt gpt : new Gpt[] {model.semantic, model.coarse}) {
            int n = 40;
            int vocab = gpt.config().inputVocabSize();
            long[] ids = randomIds(r, 3 * n, vocab);
            double[] batched = Tensors.toDoubles(gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, ids, 3, n)), null, false));
            int rowSize = n * gpt.config().outputVocabSize();
            assertEquals(3L * rowSize, batched.length);
            for (int b = 0; b < 3; b++) {
                long[] row = Arrays.copyOfRange(ids, b * n, (b + 1) * n);
                double[] alone = Tensors.toDoubles(gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, row, 1, n)), null, false));
                assertClose(alone, Arrays.copyOfRange(batched, b * rowSize, (b + 1) * rowSize), 1e-10,
                        gpt.config().name() + " row " + b);
            }
            // and with the KV cache, one token at a time after a shared-length prompt
            try (KvCache cache = new KvCache(mgr, gpt.config(), 3, n, DataType.FLOAT64)) {
                long[] prompt = new long[3 * (n - 1)];
                long[] last = new long[3];
                for (int b = 0; b < 3; b++) {
                    System.arraycopy(ids, b * n, prompt, b * (n - 1), n - 1);
                    last[b] = ids[b * n + n - 1];
                }
                gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, prompt, 3, n - 1)), cache, true);
                double[] step = Tensors.toDoubles(gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, last, 3, 1)), cache, true));
                int v = gpt.config().outputVocabSize();
                for (int b = 0; b < 3; b++) {
                    assertClose(Arrays.copyOfRange(batched, b * rowSize + (n - 1) * v, (b + 1) * rowSize),
                            Arrays.copyOfRange(step, b * v, (b + 1) * v), 1e-9, gpt.config().name() + " cached row " + b);
                }
            }
        }
        // the semantic prompt builder keeps rows apart too
        long[] p1 = Semantic.promptIds(randomIds(r, 10, 119_547), null);
        long[] p2 = Semantic.promptIds(randomIds(r, 30, 119_547), null);
        long[] both = new long[p1.length * 2];
        System.arraycopy(p1, 0, both, 0, p1.length);
        System.arraycopy(p2, 0, both, p1.length, p2.length);
        double[] batched = Tensors.toDoubles(Semantic.promptEmbeddings(model.semantic, mgr, both, 2));
        double[] one = Tensors.toDoubles(Semantic.promptEmbeddings(model.semantic, mgr, p1, 1));
        double[] two = Tensors.toDoubles(Semantic.promptEmbeddings(model.semantic, mgr, p2, 1));
        assertArrayEquals(one, Arrays.copyOfRange(batched, 0, one.length), 0.0);
        assertArrayEquals(two, Arrays.copyOfRange(batched, one.length, batched.length), 0.0);
    }

    /** A batch that drops finished rows from its cache decodes the remaining rows as single runs do. */
    @Test
    void droppingCacheRowsLeavesTheOthersDecodingAsAlone() {
        Random r = new Random(7);
        Gpt gpt = model.coarse;
        int p = 30;
        int steps = 6;
        int vocab = gpt.config().inputVocabSize();
        int v = gpt.config().outputVocabSize();
        long[] prompts = randomIds(r, 3 * p, vocab);
        long[][] tokens = {randomIds(r, steps, vocab), randomIds(r, steps, vocab), randomIds(r, steps, vocab)};
        double[][] alone = new double[3][];
        for (int b = 0; b < 3; b++) {
            try (KvCache cache = new KvCache(mgr, gpt.config(), 1, p + steps, DataType.FLOAT64)) {
                gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, Arrays.copyOfRange(prompts, b * p, (b + 1) * p), 1, p)),
                        cache, true);
                for (int t = 0; t < steps; t++) {
                    alone[b] = Tensors.toDoubles(gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, new long[] {tokens[b][t]},
                            1, 1)), cache, true));
                }
            }
        }
        try (KvCache cache = new KvCache(mgr, gpt.config(), 3, p + steps, DataType.FLOAT64)) {
            gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, prompts, 3, p)), cache, true);
            int[] rows = {0, 1, 2};
            double[] last = null;
            for (int t = 0; t < steps; t++) {
                if (t == 2) {
                    cache.keepRows(new long[] {2, 0}); // row 1 finished; the order may change too
                    rows = new int[] {2, 0};
                }
                long[] feed = new long[rows.length];
                for (int j = 0; j < rows.length; j++) {
                    feed[j] = tokens[rows[j]][t];
                }
                last = Tensors.toDoubles(gpt.forwardCausal(gpt.embed(Tensors.ids(mgr, feed, rows.length, 1)), cache,
                        true));
            }
            assertEquals(p + steps, cache.length());
            for (int j = 0; j < rows.length; j++) {
                assertArrayEquals(alone[rows[j]], Arrays.copyOfRange(last, j * v, (j + 1) * v), 1e-12, "row " + rows[j]);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> cache.keepRows(new long[] {2}));
        }
    }

    @Test
    void fineBatchRowsEqualSingleRows() {
        Random r = new Random(6);
        int frames = 16;
        int books = model.fine.config().nCodesTotal();
        long[] codes = randomIds(r, 3 * frames * books, 1025);
        for (int k : new int[] {1, 4, 7}) {
            double[] batched = Tensors.toDoubles(model.fine.forwardFine(Tensors.ids(mgr, codes, 3, frames, books), k));
            int rowSize = frames * model.fine.config().outputVocabSize();
            for (int b = 0; b < 3; b++) {
                long[] row = Arrays.copyOfRange(codes, b * frames * books, (b + 1) * frames * books);
                double[] alone = Tensors.toDoubles(model.fine.forwardFine(Tensors.ids(mgr, row, 1, frames, books), k));
                assertClose(alone, Arrays.copyOfRange(batched, b * rowSize, (b + 1) * rowSize), 1e-10,
                        "fine codebook " + k + " row " + b);
            }
        }
    }

    @Test
    void copyKeepsATiedFineHeadTiedAndMapTreatsEachGroupApart() {
        GptWeights w = model.fine.weights();
        java.util.List<NDArray> heads = new java.util.ArrayList<>(w.heads());
        heads.set(0, w.inputEmbeddings().get(2)); // head 0 tied to codebook 2's table, as load() ties them
        GptWeights tied = new GptWeights(w.inputEmbeddings(), w.positionEmbedding(), w.layers(), w.finalNormWeight(),
                w.finalNormBias(), heads);
        GptWeights copy = tied.copyTo(mgr);
        assertTrue(copy.heads().get(0) == copy.inputEmbeddings().get(2), "a tied head is copied once");
        assertTrue(copy.inputEmbeddings().get(2) != w.inputEmbeddings().get(2));
        assertEquals(mgr, copy.heads().get(0).getManager());
        assertArrayEquals(w.inputEmbeddings().get(2).toDoubleArray(), copy.heads().get(0).toDoubleArray());

        GptWeights negatedNorms = w.map(a -> a, a -> Tensors.copyTo(a, mgr).neg());
        assertTrue(negatedNorms.layers().get(0).mlpInWeight() == w.layers().get(0).mlpInWeight());
        assertTrue(negatedNorms.inputEmbeddings().get(0) == w.inputEmbeddings().get(0));
        assertArrayEquals(w.layers().get(1).norm2Weight().neg().toDoubleArray(),
                negatedNorms.layers().get(1).norm2Weight().toDoubleArray());
        assertArrayEquals(w.heads().get(3).neg().toDoubleArray(), negatedNorms.heads().get(3).toDoubleArray());
    }
}

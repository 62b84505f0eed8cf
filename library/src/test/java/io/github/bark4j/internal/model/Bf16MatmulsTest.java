package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Attention;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.nativ.NativeKernelsTest;
import io.github.bark4j.internal.nativ.NativeTestSupport;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

/**
 * {@link Bf16Matmuls}, the bfloat16 matmuls of {@link Precision#BF16}: both paths against an
 * obvious FP64 product of the same rounded operands, the first-pass logits of all three stages
 * within a stated bound of FP32, errors, and no native memory left behind.
 */
class Bf16MatmulsTest {
    /**
     * First-pass logits (the last prompt position of semantic and coarse, every frame of fine) of
     * the fixture with bf16 matmuls stay this close to FP32: measured 0.17 (semantic), 0.24 (coarse)
     * and 0.38 (fine) on the random-weight fixture, whose logits reach about ±10. Wider than the
     * decode step's {@link NativeGptTest#BF16_LOGIT_BOUND} because libtorch's bf16 GEMM rounds the
     * activations and every product to bfloat16, four times per layer.
     */
    static final double BF16_FIRST_PASS_BOUND = 0.5;

    private static Pipeline fp32;

    @BeforeAll
    static void load() {
        NativeTestSupport.requireBridge();
        fp32 = TestModels.tinyBark(Precision.FP32, Attention.SDPA, false);
    }

    @AfterAll
    static void close() {
        if (fp32 != null) {
            fp32.close();
        }
    }

    private static float[] normal(SplittableRandom random, int n, double std) {
        return NativeKernelsTest.normal(random, n, std);
    }

    private static float bf16(float f) {
        return NativeKernelsTest.roundToBf16(f);
    }

    /** A one-layer-free "model": a GptWeights-shaped holder is not needed, the matrices alone are rounded. */
    private static GptWeights weightsOf(NDArray... matrices) {
        GptWeights.Layer layer = new GptWeights.Layer(null, null, matrices[0], null, matrices[1], null, null, null,
                matrices[2], null, matrices[3], null);
        return new GptWeights(List.of(), null, List.of(layer), null, null, List.of(matrices[4]));
    }

    /**
     * A BF16 model rounds each weight as the checkpoint is read, straight from its float32 bytes:
     * the same bfloat16 weights as rounding the loaded FP32 model (the small-batch kernel's
     * products agree exactly), and no FP32 copy is left where the model keeps none (every matmul
     * weight; a causal model's embedding table and head), while the fine model's heads and
     * embedding tables stay FP32.
     */
    @Test
    void roundingWhileLoadingEqualsRoundingTheLoadedModel() {
        SplittableRandom random = new SplittableRandom(9);
        try (Pipeline bf16 = TestModels.tinyBark(Precision.BF16);
                NDManager m = fp32.model().manager().newSubManager()) {
            Gpt[][] pairs = {{fp32.model().semantic, bf16.model().semantic}, {fp32.model().coarse, bf16.model().coarse},
                {fp32.model().fine, bf16.model().fine}};
            for (Gpt[] pair : pairs) {
                GptWeights full = pair[0].weights();
                GptWeights loaded = pair[1].weights();
                boolean causal = pair[0].config().isCausal();
                Bf16Matmuls rounded = pair[1].bf16Matmuls();
                try (Bf16Matmuls reference = Bf16Matmuls.round(full)) {
                    for (int l = 0; l < full.layers().size(); l++) {
                        GptWeights.Layer a = full.layers().get(l);
                        GptWeights.Layer b = loaded.layers().get(l);
                        NDArray[][] weights = {{a.attnProjWeight(), b.attnProjWeight()},
                            {a.attnOutWeight(), b.attnOutWeight()}, {a.mlpInWeight(), b.mlpInWeight()},
                            {a.mlpOutWeight(), b.mlpOutWeight()}};
                        for (NDArray[] w : weights) {
                            assertTrue(w[1].isReleased(), "no FP32 copy of a rounded matmul weight");
                            assertSameProducts(m, random, reference, w[0], rounded, w[1]);
                        }
                    }
                    for (int h = 0; h < full.heads().size(); h++) {
                        NDArray head = loaded.heads().get(h);
                        assertEquals(causal, head.isReleased(), "FP32 head kept only by the fine model");
                        assertSameProducts(m, random, reference, full.heads().get(h), rounded, head);
                    }
                }
                for (NDArray table : loaded.inputEmbeddings()) {
                    assertEquals(causal, rounded.holdsEmbedding(table), "bfloat16 embedding tables: causal models");
                    assertEquals(causal, table.isReleased(), "FP32 embedding tables: the fine model's");
                }
            }
        }
    }

    /** Rows x · Wᵀ through the small-batch kernel on two bfloat16 copies are identical. */
    private static void assertSameProducts(NDManager m, SplittableRandom random, Bf16Matmuls a, NDArray wa,
            Bf16Matmuls b, NDArray wb) {
        long in = wa.getShape().get(1);
        NDArray x = m.create(normal(random, (int) (3 * in), 1), new Shape(3, in));
        float[] ya = a.linear(x, wa, null).toFloatArray();
        float[] yb = b.linear(x, wb, null).toFloatArray();
        assertArrayEquals(ya, yb, 0f);
    }

    @Test
    void bothPathsMatchAnFp64ProductOfTheRoundedOperands() {
        SplittableRandom random = new SplittableRandom(5);
        int in = 200;
        int out = 96;
        try (NDManager m = fp32.model().manager().newSubManager()) {
            float[] w = normal(random, out * in, 1 / Math.sqrt(in));
            float[] b = normal(random, out, 1);
            NDArray weight = m.create(w, new Shape(out, in));
            NDArray bias = m.create(b, new Shape(out));
            NDArray[] filler = new NDArray[4];
            for (int i = 0; i < 4; i++) {
                filler[i] = m.zeros(new Shape(8, 8));
            }
            // a layer's matmul (a head over many rows stays FP32; see the logits test)
            try (Bf16Matmuls matmuls = Bf16Matmuls.round(
                    weightsOf(weight, filler[0], filler[1], filler[2], filler[3]))) {
                for (long[] xShape : new long[][] {{1, in}, {5, in}, {16, in}, {17, in}, {2, 40, in}}) {
                    Shape shape = new Shape(xShape);
                    int rows = (int) (shape.size() / in);
                    float[] x = normal(random, rows * in, 1);
                    NDArray y = matmuls.linear(m.create(x, shape), weight, bias);
                    assertEquals(shape.slice(0, shape.dimension() - 1).add(out), y.getShape());
                    float[] got = y.toFloatArray();
                    boolean gemm = rows > Bf16Matmuls.KERNEL_ROWS;
                    for (int r = 0; r < rows; r++) {
                        for (int o = 0; o < out; o++) {
                            double dot = 0;
                            for (int k = 0; k < in; k++) {
                                float xv = gemm ? bf16(x[r * in + k]) : x[r * in + k];
                                dot += (double) xv * bf16(w[o * in + k]);
                            }
                            double expected = dot + b[o];
                            double actual = got[r * out + o];
                            // the kernel keeps x and the sum FP32; the GEMM rounds its product to bfloat16
                            double tol = gemm ? Math.abs(dot) * 0x1p-8 + 1e-4 : 1e-5;
                            assertEquals(expected, actual, tol, rows + " rows, row " + r + ", output " + o);
                        }
                    }
                }
            }
        }
    }

    @Test
    void firstPassLogitsOfAllThreeStagesStayWithinTheBoundOfFp32() {
        BarkModel model = fp32.model();
        SplittableRandom random = new SplittableRandom(9);
        double[] worst = new double[3];
        double[] span = new double[3];
        try (NDManager m = model.manager().newSubManager()) {
            Gpt[] causal = {model.semantic, model.coarse};
            for (int s = 0; s < 2; s++) {
                Gpt gpt = causal[s];
                int vocab = Math.min(gpt.config().inputVocabSize(), gpt.config().outputVocabSize());
                // the last position's logits of 8 prompts, as the stages compute them
                long[] ids = new long[8 * 40];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = random.nextInt(vocab);
                }
                try (Bf16Matmuls matmuls = Bf16Matmuls.round(gpt.weights())) {
                    Gpt bf16 = gpt.withBf16Matmuls(matmuls);
                    float[] expected = gpt.forwardCausal(gpt.embed(Tensors.ids(m, ids, 8, 40)), null, true)
                            .toFloatArray();
                    float[] actual = bf16.forwardCausal(bf16.embed(Tensors.ids(m, ids, 8, 40)), null, true)
                            .toFloatArray();
                    worst[s] = maxDiff(expected, actual);
                    span[s] = maxAbs(expected);
                }
            }
            Gpt fine = model.fine;
            int frames = 64;
            int books = fine.config().nCodesTotal();
            long[] codes = new long[frames * books];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = random.nextInt(Vocabulary.CODEBOOK_SIZE);
            }
            try (Bf16Matmuls matmuls = Bf16Matmuls.round(fine.weights())) {
                Gpt bf16 = fine.withBf16Matmuls(matmuls);
                NDArray input = m.create(codes, new Shape(1, frames, books));
                for (int book = fine.config().nCodesGiven(); book < books; book++) {
                    float[] expected = fine.forwardFine(input, book).toFloatArray();
                    worst[2] = Math.max(worst[2], maxDiff(expected, bf16.forwardFine(input, book).toFloatArray()));
                    span[2] = Math.max(span[2], maxAbs(expected));
                }
            }
        }
        System.out.printf("BF16 first-pass logits vs FP32: semantic %.4f, coarse %.4f, fine %.4f"
                + " (largest FP32 logit magnitudes %.1f, %.1f, %.1f)%n", worst[0], worst[1], worst[2], span[0], span[1],
                span[2]);
        for (int s = 0; s < 3; s++) {
            assertTrue(worst[s] <= BF16_FIRST_PASS_BOUND, "stage " + s + " differs by " + worst[s]);
            assertTrue(worst[s] > 0, "stage " + s + " is not running in bfloat16");
        }
    }

    /**
     * A BF16 model keeps no FP32 copy that nothing reads (layer weights, the causal models'
     * embedding tables and heads), gathers their embeddings from the bfloat16 tables (exactly the rounded FP32
     * rows), and its first-pass logits, native passes included, stay within the bound of FP32.
     */
    @Test
    void aBf16ModelReadsItsEmbeddingsInBf16AndFreesTheFp32Copies() {
        try (Pipeline bf16 = TestModels.tinyBark(Precision.BF16); NDManager m = fp32.model().manager().newSubManager()) {
            BarkModel model = bf16.model();
            for (Gpt gpt : new Gpt[] {model.semantic, model.coarse, model.fine}) {
                GptWeights w = gpt.weights();
                assertTrue(w.layers().get(0).mlpInWeight().isReleased(), gpt.config().name());
                boolean causal = gpt.config().isCausal();
                w.inputEmbeddings().forEach(t -> assertEquals(causal, t.isReleased(), gpt.config().name() + " embeddings"));
                w.heads().forEach(h -> assertEquals(causal, h.isReleased(), gpt.config().name() + " heads"));
            }
            SplittableRandom random = new SplittableRandom(21);
            long[] ids = new long[2 * 40];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(129600);
            }
            float[] rows = model.semantic.embed(Tensors.ids(m, ids, 2, 40)).toFloatArray();
            float[] full = fp32.model().semantic.embed(Tensors.ids(m, ids, 2, 40)).toFloatArray();
            for (int i = 0; i < full.length; i++) {
                assertEquals(Float.floatToRawIntBits(bf16(full[i])), Float.floatToRawIntBits(rows[i]), "element " + i);
            }
            assertThrows(IllegalArgumentException.class,
                    () -> model.semantic.embed(Tensors.ids(m, new long[] {129600}, 1, 1)));
            Gpt reference = fp32.model().semantic;
            float[] expected = reference.forwardCausal(reference.embed(Tensors.ids(m, ids, 2, 40)), null, true)
                    .toFloatArray();
            float[] actual = model.semantic.forwardCausal(model.semantic.embed(Tensors.ids(m, ids, 2, 40)), null, true)
                    .toFloatArray();
            double semantic = maxDiff(expected, actual);
            long[] codes = new long[64 * 8];
            for (int i = 0; i < codes.length; i++) {
                codes[i] = random.nextInt(Vocabulary.CODEBOOK_SIZE);
            }
            NDArray input = m.create(codes, new Shape(1, 64, 8));
            double fine = 0;
            for (int book = 1; book < 8; book++) {
                fine = Math.max(fine, maxDiff(fp32.model().fine.forwardFine(input, book).toFloatArray(),
                        model.fine.forwardFine(input, book).toFloatArray()));
            }
            System.out.printf("BF16 model (bf16 embeddings, native passes) first-pass logits vs FP32: semantic %.4f,"
                    + " fine %.4f%n", semantic, fine);
            assertTrue(semantic <= BF16_FIRST_PASS_BOUND && fine <= BF16_FIRST_PASS_BOUND, semantic + ", " + fine);
        }
    }

    private static double maxAbs(float[] a) {
        double d = 0;
        for (float v : a) {
            d = Math.max(d, Math.abs(v));
        }
        return d;
    }

    private static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    @Test
    void refusesClosedCopiesUnknownWeightsAndNonFloat32() {
        try (NDManager m = fp32.model().manager().newSubManager()) {
            NDArray w = m.ones(new Shape(4, 4));
            Bf16Matmuls matmuls = Bf16Matmuls.round(weightsOf(w, w, w, w, w));
            NDArray x = m.ones(new Shape(1, 4));
            assertThrows(IllegalArgumentException.class, () -> matmuls.linear(x, m.ones(new Shape(4, 4)), null));
            matmuls.close();
            matmuls.close(); // idempotent
            assertThrows(IllegalStateException.class, () -> matmuls.linear(x, w, null));
            NDArray f64 = m.ones(new Shape(4, 4), DataType.FLOAT64);
            assertThrows(IllegalArgumentException.class, () -> Bf16Matmuls.round(weightsOf(w, w, w, w, f64)));
        }
    }

    /**
     * 30 rounds of the fixture's semantic weights and 400 GEMM-path calls on a 3072 x 768 matrix
     * (each makes two bfloat16 temporaries of about 0.5 MB), all freed: the resident set does not
     * grow with them (leaking the temporaries alone would add about 200 MB).
     */
    @Test
    void roundingAndGemmsLeaveNoNativeMemoryBehind() throws Exception {
        BarkModel model = fp32.model();
        SplittableRandom random = new SplittableRandom(3);
        try (NDManager m = model.manager().newSubManager()) {
            NDArray w = m.create(normal(random, 3072 * 768, 0.03), new Shape(3072, 768));
            NDArray x = m.create(normal(random, 64 * 768, 1), new Shape(64, 768));
            try (Bf16Matmuls big = Bf16Matmuls.round(weightsOf(w, w, w, w, w))) {
                long before = 0;
                for (int i = 0; i < 440; i++) {
                    if (i == 40) {
                        System.gc();
                        before = NativeGptTest.rssKb();
                    }
                    try (NDManager step = m.newSubManager()) {
                        big.linear(x, w, null).attach(step);
                        if (i % 10 == 0) {
                            Bf16Matmuls.round(model.semantic.weights()).close();
                        }
                    }
                }
                System.gc();
                long grown = NativeGptTest.rssKb() - before;
                assertTrue(grown < 48 * 1024, "RSS grew by " + grown + " kB");
            }
        }
    }
}

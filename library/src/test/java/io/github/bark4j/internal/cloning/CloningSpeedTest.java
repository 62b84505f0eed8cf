package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.TensorSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Time budgets at the real models' sizes (HuBERT base, gitmylo's version-0 quantizer), with random
 * weights: 10 s of audio through HuBERT up to layer 9 and its 500 frames through the quantizer, in
 * FP32 on the CPU. Opt-in ({@code -Dbark4j.speed=true}): they need an otherwise idle machine. On the
 * shared 2-core development VM (never idle) libtorch on one thread took 1.69 s of CPU for HuBERT and
 * 0.59 s for the quantizer; both are GEMM- (HuBERT, 125 GFLOP) and memory-bound (the quantizer reads
 * its 16 MB recurrent weights 1000 times). With the bridge's GEMM ({@link ClonerMatmul}) one thread took
 * 1.0-1.2 s for HuBERT, and both cores in a quiet moment 0.48 s for HuBERT and 0.27 s for the quantizer.
 */
@EnabledIfSystemProperty(named = "bark4j.speed", matches = "true")
class CloningSpeedTest {
    /** Random float32 tensors of given shapes, made on first use. */
    static final class RandomSource implements TensorSource {
        private final Map<String, long[]> shapes = new LinkedHashMap<>();
        private final Map<String, Double> scales = new LinkedHashMap<>();
        private final Random random = new Random(7);

        RandomSource put(String name, double scale, long... shape) {
            shapes.put(name, shape);
            scales.put(name, scale);
            return this;
        }

        @Override
        public Set<String> names() {
            return shapes.keySet();
        }

        @Override
        public RawTensor tensor(String name) {
            long[] shape = shapes.get(name);
            int n = Math.toIntExact(RawTensor.numElements(shape));
            ByteBuffer b = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
            double scale = scales.get(name);
            for (int i = 0; i < n; i++) {
                b.putFloat((float) (scale < 0 ? 1.0 : scale * random.nextGaussian()));
            }
            b.flip();
            return new RawTensor(name, DType.F32, shape, b);
        }

        @Override
        public void close() {}
    }

    static RandomSource hubertBase(HubertConfig c, int layers) {
        RandomSource s = new RandomSource();
        int in = 1;
        int[] dims = c.convDim();
        int[] kernels = c.convKernel();
        for (int i = 0; i < dims.length; i++) {
            s.put("feature_extractor.conv_layers." + i + ".conv.weight", Math.sqrt(2.0 / (in * kernels[i])), dims[i], in,
                    kernels[i]);
            in = dims[i];
        }
        s.put("feature_extractor.conv_layers.0.layer_norm.weight", -1, dims[0]);
        s.put("feature_extractor.conv_layers.0.layer_norm.bias", 0.02, dims[0]);
        int d = c.hiddenSize();
        int ff = c.intermediateSize();
        s.put("feature_projection.layer_norm.weight", -1, in).put("feature_projection.layer_norm.bias", 0.02, in);
        s.put("feature_projection.projection.weight", 0.02, d, in).put("feature_projection.projection.bias", 0.02, d);
        int k = c.numConvPosEmbeddings();
        s.put("encoder.pos_conv_embed.conv.weight_g", 0.1, 1, 1, k);
        s.put("encoder.pos_conv_embed.conv.weight_v", 0.02, d, d / c.numConvPosEmbeddingGroups(), k);
        s.put("encoder.pos_conv_embed.conv.bias", 0.02, d);
        s.put("encoder.layer_norm.weight", -1, d).put("encoder.layer_norm.bias", 0.02, d);
        for (int l = 0; l < layers; l++) {
            String p = "encoder.layers." + l + ".";
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                s.put(p + "attention." + proj + ".weight", 0.02, d, d).put(p + "attention." + proj + ".bias", 0.02, d);
            }
            s.put(p + "layer_norm.weight", -1, d).put(p + "layer_norm.bias", 0.02, d);
            s.put(p + "feed_forward.intermediate_dense.weight", 0.02, ff, d);
            s.put(p + "feed_forward.intermediate_dense.bias", 0.02, ff);
            s.put(p + "feed_forward.output_dense.weight", 0.02, d, ff);
            s.put(p + "feed_forward.output_dense.bias", 0.02, d);
            s.put(p + "final_layer_norm.weight", -1, d).put(p + "final_layer_norm.bias", 0.02, d);
        }
        return s;
    }

    /** Best of {@code runs} timed runs after one warm-up, in seconds. */
    static double bestSeconds(int runs, Runnable run) {
        run.run();
        long best = Long.MAX_VALUE;
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            run.run();
            best = Math.min(best, System.nanoTime() - t0);
        }
        return best / 1e9;
    }

    @Test
    void hubertBaseTakesWellUnderASecondAndAHalfForTenSeconds() {
        HubertConfig c = HubertConfig.parse("{}"); // transformers' defaults: HuBERT base
        float[] wav = new float[160_000];
        Random r = new Random(3);
        for (int i = 0; i < wav.length; i++) {
            wav[i] = (float) (0.1 * r.nextGaussian());
        }
        try (Hubert h = Hubert.load(hubertBase(c, 9), c, DataType.FLOAT32, 9)) {
            double s = bestSeconds(3, () -> {
                try (NDManager m = NDManager.newBaseManager()) {
                    NDArray f = h.features(m, wav);
                    assertEquals(499, f.getShape().get(0));
                }
            });
            System.out.printf("HuBERT base, 10 s of audio to layer 9, FP32: %.3f s%n", s);
            assertTrue(s < 1.5, "took " + s + " s");
        }
    }

    @Test
    void quantizerTakesWellUnderHalfASecondForFiveHundredFrames() {
        int in = 768;
        int hidden = 1024;
        RandomSource s = new RandomSource();
        double scale = 1 / Math.sqrt(hidden);
        for (int l = 0; l < 2; l++) {
            s.put("lstm.weight_ih_l" + l, scale, 4L * hidden, l == 0 ? in : hidden);
            s.put("lstm.weight_hh_l" + l, scale, 4L * hidden, hidden);
            s.put("lstm.bias_ih_l" + l, scale, 4L * hidden).put("lstm.bias_hh_l" + l, scale, 4L * hidden);
        }
        s.put("fc.weight", scale, 10_000, hidden).put("fc.bias", scale, 10_000);
        try (SemanticQuantizer q = SemanticQuantizer.load(Path.of("random"), s, null, DataType.FLOAT32);
                NDManager m = NDManager.newBaseManager()) {
            NDArray features = m.randomNormal(new ai.djl.ndarray.types.Shape(500, in));
            double t = bestSeconds(3, () -> assertEquals(500, q.tokens(features).length));
            System.out.printf("quantizer v0 (768 -> 1024 x 2 -> 10000), 500 frames, FP32: %.3f s%n", t);
            assertTrue(t < 0.5, "took " + t + " s");
        }
    }
}

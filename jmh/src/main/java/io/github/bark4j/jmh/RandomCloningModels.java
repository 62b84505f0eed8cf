package io.github.bark4j.jmh;

import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.cloning.Hubert;
import io.github.bark4j.internal.cloning.HubertConfig;
import io.github.bark4j.internal.cloning.SemanticQuantizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Voice cloning's two models with random weights at the real sizes, beside {@link RandomBarkModel}'s
 * Bark folders (whose checkpoints carry the EnCodec encoder) and cached the same way:
 *
 * <ul>
 *   <li>HuBERT base: facebook/hubert-base-ls960's {@code config.json} (shipped in this module:
 *       768 hidden, 12 layers of 12 heads, 3072 intermediate, a 7-convolution feature encoder of 512
 *       channels with GroupNorm, positional convolution 128 wide in 16 groups) and a
 *       {@code model.safetensors} with all its tensors under the Hugging Face names {@link Hubert}
 *       reads, the positional convolution weight-normed (weight_g / weight_v) as in the published file;
 *   <li>gitmylo's English quantizer, version 0 ({@code quantifier_hubert_base_ls960_14.pth}'s
 *       sizes): a 2-layer LSTM 768 → 1024 and fc 1024 → 10000, as a {@code .safetensors} file
 *       (which {@link SemanticQuantizer#load} reads by its name, like the {@code .pth}).
 * </ul>
 */
final class RandomCloningModels {
    /** Bump when the generated tensors change, so cached folders are rebuilt. */
    private static final int GENERATOR_VERSION = 1;
    /** The English quantizer's sizes (version 0: no intermediate layer). */
    static final int QUANTIZER_INPUT = 768;
    static final int QUANTIZER_HIDDEN = 1024;
    static final int QUANTIZER_LAYERS = 2;
    static final int SEMANTIC_VOCAB = 10_000;

    private RandomCloningModels() {}

    /** Prints the parameter count of each model; with the argument "generate", also generates them. */
    public static void main(String[] args) {
        HubertConfig c = HubertConfig.parse(hubertConfigJson());
        System.out.printf("hubert-base: %.1f M parameters%n", new HubertWeights(c, 0).parameterCount() / 1e6);
        System.out.printf("quantizer-en-v0: %.1f M parameters%n", new QuantizerWeights(0).parameterCount() / 1e6);
        if (args.length > 0 && args[0].equals("generate")) {
            System.out.println(hubertFolder());
            System.out.println(quantizerFile());
        }
    }

    static String hubertConfigJson() {
        String resource = "/io/github/bark4j/jmh/models/hubert-base/config.json";
        try (InputStream in = RandomCloningModels.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("The jar lacks " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A ready HuBERT base folder (config.json, model.safetensors), generated on first use. */
    static Path hubertFolder() {
        String config = hubertConfigJson();
        return RandomBarkModel.cached("hubert-base", config + "\n" + GENERATOR_VERSION, dir -> {
            Files.writeString(dir.resolve("config.json"), config);
            SafetensorsWriter.write(new HubertWeights(HubertConfig.parse(config), 4321L),
                    dir.resolve("model.safetensors"));
        });
    }

    /** A ready English v0 quantizer file, generated on first use. */
    static Path quantizerFile() {
        String key = QUANTIZER_INPUT + "," + QUANTIZER_HIDDEN + "," + QUANTIZER_LAYERS + "," + SEMANTIC_VOCAB + "\n"
                + GENERATOR_VERSION;
        Path dir = RandomBarkModel.cached("quantizer-en-v0", key,
                d -> SafetensorsWriter.write(new QuantizerWeights(8765L), d.resolve("quantizer.safetensors")));
        return dir.resolve("quantizer.safetensors");
    }

    /**
     * Every tensor of a Hugging Face {@code HubertModel} checkpoint (all layers, the mask embedding
     * too, as in hubert-base-ls960): feature convolutions at PyTorch's default scale, linear weights
     * with std 0.02, norm gains 1, biases 0.
     */
    static final class HubertWeights extends RandomTensors {
        HubertWeights(HubertConfig c, long seed) {
            super(seed);
            int[] dims = c.convDim();
            int[] kernels = c.convKernel();
            int in = 1;
            for (int i = 0; i < dims.length; i++) {
                String conv = "feature_extractor.conv_layers." + i + ".conv.";
                put(conv + "weight", Init.FAN_IN, dims[i], in, kernels[i]);
                if (c.convBias()) {
                    put(conv + "bias", Init.ZEROS, dims[i]);
                }
                in = dims[i];
            }
            norm("feature_extractor.conv_layers.0.layer_norm", dims[0]);
            int d = c.hiddenSize();
            norm("feature_projection.layer_norm", in);
            linear("feature_projection.projection", d, in);
            put("masked_spec_embed", Init.NORMALISH, d);
            int k = c.numConvPosEmbeddings();
            put("encoder.pos_conv_embed.conv.weight_g", Init.ONES, 1, 1, k);
            put("encoder.pos_conv_embed.conv.weight_v", Init.NORMALISH, d, d / c.numConvPosEmbeddingGroups(), k);
            put("encoder.pos_conv_embed.conv.bias", Init.ZEROS, d);
            norm("encoder.layer_norm", d);
            for (int l = 0; l < c.numHiddenLayers(); l++) {
                String p = "encoder.layers." + l + ".";
                for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
                    linear(p + "attention." + proj, d, d);
                }
                norm(p + "layer_norm", d);
                linear(p + "feed_forward.intermediate_dense", c.intermediateSize(), d);
                linear(p + "feed_forward.output_dense", d, c.intermediateSize());
                norm(p + "final_layer_norm", d);
            }
        }

        private void linear(String key, long out, long in) {
            put(key + ".weight", Init.NORMALISH, out, in);
            put(key + ".bias", Init.ZEROS, out);
        }

        private void norm(String key, long width) {
            put(key + ".weight", Init.ONES, width);
            put(key + ".bias", Init.ZEROS, width);
        }
    }

    /**
     * gitmylo's CustomTokenizer version 0 (LSTM layers, then fc to the semantic vocabulary) with
     * PyTorch's LSTM and Linear initialisation; {@link #QuantizerWeights(long)} at the English sizes.
     */
    static final class QuantizerWeights extends RandomTensors {
        QuantizerWeights(long seed) {
            this(seed, QUANTIZER_INPUT, QUANTIZER_HIDDEN, QUANTIZER_LAYERS);
        }

        QuantizerWeights(long seed, int input, int hidden, int layers) {
            super(seed);
            for (int l = 0; l < layers; l++) {
                put("lstm.weight_ih_l" + l, Init.LSTM, 4L * hidden, l == 0 ? input : hidden);
                put("lstm.weight_hh_l" + l, Init.LSTM, 4L * hidden, hidden);
                put("lstm.bias_ih_l" + l, Init.LSTM, 4L * hidden);
                put("lstm.bias_hh_l" + l, Init.LSTM, 4L * hidden);
            }
            put("fc.weight", Init.FAN_IN, SEMANTIC_VOCAB, hidden);
            put("fc.bias", Init.ZEROS, SEMANTIC_VOCAB);
        }
    }
}

package io.github.bark4j.internal.cloning;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.github.bark4j.ModelLoadException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The architecture of a HuBERT checkpoint, from its Hugging Face {@code config.json}
 * ({@code model_type} hubert). Only the base model's layout is supported: a feature encoder whose
 * first convolution is followed by a GroupNorm ({@code feat_extract_norm} "group"), a LayerNorm before
 * the feature projection, and post-LayerNorm transformer layers ({@code do_stable_layer_norm} false).
 * Absent fields take the defaults of transformers' {@code HubertConfig}, which are hubert-base's.
 *
 * @param convDim output channels of each feature-encoder convolution
 * @param convKernel kernel width of each convolution
 * @param convStride stride of each convolution
 * @param convBias whether the convolutions have biases
 * @param hiddenSize width of the transformer
 * @param numHiddenLayers transformer layers in the checkpoint
 * @param numAttentionHeads attention heads per layer
 * @param intermediateSize width of each layer's feed-forward block
 * @param numConvPosEmbeddings kernel width of the positional convolution
 * @param numConvPosEmbeddingGroups groups of the positional convolution
 * @param layerNormEps epsilon of every LayerNorm and of the GroupNorm
 */
public record HubertConfig(
        int[] convDim,
        int[] convKernel,
        int[] convStride,
        boolean convBias,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        int numConvPosEmbeddings,
        int numConvPosEmbeddingGroups,
        double layerNormEps) {

    public HubertConfig {
        convDim = convDim.clone();
        convKernel = convKernel.clone();
        convStride = convStride.clone();
        check(convDim.length > 0, "conv_dim must not be empty");
        check(convKernel.length == convDim.length && convStride.length == convDim.length,
                "conv_dim, conv_kernel and conv_stride must have the same length, got " + convDim.length + ", "
                        + convKernel.length + " and " + convStride.length);
        for (int i = 0; i < convDim.length; i++) {
            check(convDim[i] > 0 && convKernel[i] > 0 && convStride[i] > 0,
                    "conv_dim, conv_kernel and conv_stride must be positive, got " + Arrays.toString(convDim) + ", "
                            + Arrays.toString(convKernel) + " and " + Arrays.toString(convStride));
        }
        check(hiddenSize > 0, "hidden_size must be positive");
        check(numHiddenLayers >= 0, "num_hidden_layers must not be negative");
        check(numAttentionHeads > 0, "num_attention_heads must be positive");
        check(hiddenSize % numAttentionHeads == 0,
                "hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
        check(intermediateSize > 0, "intermediate_size must be positive");
        check(numConvPosEmbeddings > 0, "num_conv_pos_embeddings must be positive");
        check(numConvPosEmbeddingGroups > 0 && hiddenSize % numConvPosEmbeddingGroups == 0,
                "num_conv_pos_embedding_groups " + numConvPosEmbeddingGroups + " must be positive and divide hidden_size "
                        + hiddenSize);
        check(layerNormEps > 0 && Double.isFinite(layerNormEps), "layer_norm_eps must be positive");
    }

    /** Reads and validates {@code config.json}. */
    public static HubertConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("HuBERT config.json not found: " + file + " (a HuBERT folder, e.g. a copy of"
                    + " facebook/hubert-base-ls960, needs config.json and model.safetensors or pytorch_model.bin)");
        } catch (IOException e) {
            throw new ModelLoadException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(text);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException
                | NumberFormatException e) {
            throw new ModelLoadException("Malformed HuBERT config.json " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses the text of a Hugging Face HuBERT {@code config.json}. */
    public static HubertConfig parse(String json) {
        JsonElement rootEl = JsonParser.parseString(json);
        if (!rootEl.isJsonObject()) {
            throw new ModelLoadException("Malformed HuBERT config.json: not a JSON object");
        }
        JsonObject o = rootEl.getAsJsonObject();
        String modelType = string(o, "hubert", "model_type");
        if (!modelType.equals("hubert")) {
            throw new ModelLoadException("config.json has model_type '" + modelType + "', expected 'hubert'"
                    + " (voice cloning uses HuBERT base, e.g. facebook/hubert-base-ls960)");
        }
        // the layouts of HuBERT large and x-large (LayerNorm after every convolution, pre-LayerNorm
        // transformer) are not implemented; refuse them rather than compute something else
        String norm = string(o, "group", "feat_extract_norm");
        if (!norm.equals("group")) {
            throw new ModelLoadException("HuBERT feat_extract_norm '" + norm + "' is not supported: only the base"
                    + " model's 'group' layout is (use facebook/hubert-base-ls960)");
        }
        if (bool(o, false, "do_stable_layer_norm")) {
            throw new ModelLoadException("HuBERT with do_stable_layer_norm true (the large models' pre-LayerNorm"
                    + " layout) is not supported: only the base model's layout is (use facebook/hubert-base-ls960)");
        }
        if (!bool(o, true, "feat_proj_layer_norm")) {
            throw new ModelLoadException("HuBERT with feat_proj_layer_norm false is not supported: HuBERT base"
                    + " normalizes the features before their projection");
        }
        for (String key : new String[] {"hidden_act", "feat_extract_activation"}) {
            String act = string(o, "gelu", key);
            if (!act.equals("gelu")) {
                throw new ModelLoadException("HuBERT " + key + " '" + act + "' is not supported; only 'gelu' (the"
                        + " exact, erf form) is");
            }
        }
        int[] convDim = ints(o, "conv_dim", new int[] {512, 512, 512, 512, 512, 512, 512});
        int[] convKernel = ints(o, "conv_kernel", new int[] {10, 3, 3, 3, 3, 2, 2});
        int[] convStride = ints(o, "conv_stride", new int[] {5, 2, 2, 2, 2, 2, 2});
        if (o.has("num_feat_extract_layers") && !o.get("num_feat_extract_layers").isJsonNull()
                && integer(o, 0, "num_feat_extract_layers") != convDim.length) {
            throw new ModelLoadException("Invalid HuBERT config.json: num_feat_extract_layers "
                    + o.get("num_feat_extract_layers") + " differs from the " + convDim.length + " entries of conv_dim");
        }
        return new HubertConfig(convDim, convKernel, convStride,
                bool(o, false, "conv_bias"),
                integer(o, 768, "hidden_size"),
                integer(o, 12, "num_hidden_layers"),
                integer(o, 12, "num_attention_heads"),
                integer(o, 3072, "intermediate_size"),
                integer(o, 128, "num_conv_pos_embeddings"),
                integer(o, 16, "num_conv_pos_embedding_groups"),
                o.has("layer_norm_eps") && !o.get("layer_norm_eps").isJsonNull()
                        ? o.get("layer_norm_eps").getAsDouble() : 1e-5);
    }

    /** Channels the feature encoder hands to the feature projection. */
    public int featureChannels() {
        return convDim[convDim.length - 1];
    }

    /** Samples one output frame sees: 400 for HuBERT base (25 ms at 16 kHz). */
    public int receptiveField() {
        long field = 1;
        for (int i = convKernel.length - 1; i >= 0; i--) {
            field = (field - 1) * convStride[i] + convKernel[i];
        }
        return (int) Math.min(field, Integer.MAX_VALUE);
    }

    /** Samples between consecutive frames: 320 for HuBERT base (20 ms at 16 kHz). */
    public int hop() {
        long hop = 1;
        for (int s : convStride) {
            hop *= s;
        }
        return (int) Math.min(hop, Integer.MAX_VALUE);
    }

    /** Frames the feature encoder makes of {@code samples} samples; 0 when shorter than the receptive field. */
    public int frames(long samples) {
        long n = samples;
        for (int i = 0; i < convKernel.length; i++) {
            if (n < convKernel[i]) {
                return 0;
            }
            n = (n - convKernel[i]) / convStride[i] + 1;
        }
        return (int) n;
    }

    @Override
    public int[] convDim() {
        return convDim.clone();
    }

    @Override
    public int[] convKernel() {
        return convKernel.clone();
    }

    @Override
    public int[] convStride() {
        return convStride.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HubertConfig c && Arrays.equals(convDim, c.convDim)
                && Arrays.equals(convKernel, c.convKernel) && Arrays.equals(convStride, c.convStride)
                && convBias == c.convBias && hiddenSize == c.hiddenSize && numHiddenLayers == c.numHiddenLayers
                && numAttentionHeads == c.numAttentionHeads && intermediateSize == c.intermediateSize
                && numConvPosEmbeddings == c.numConvPosEmbeddings
                && numConvPosEmbeddingGroups == c.numConvPosEmbeddingGroups
                && Double.compare(layerNormEps, c.layerNormEps) == 0;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(new Object[] {Arrays.hashCode(convDim), Arrays.hashCode(convKernel),
            Arrays.hashCode(convStride), convBias, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize,
            numConvPosEmbeddings, numConvPosEmbeddingGroups, layerNormEps});
    }

    @Override
    public String toString() {
        return "HubertConfig[convDim=" + Arrays.toString(convDim) + ", convKernel=" + Arrays.toString(convKernel)
                + ", convStride=" + Arrays.toString(convStride) + ", convBias=" + convBias + ", hiddenSize="
                + hiddenSize + ", numHiddenLayers=" + numHiddenLayers + ", numAttentionHeads=" + numAttentionHeads
                + ", intermediateSize=" + intermediateSize + ", numConvPosEmbeddings=" + numConvPosEmbeddings
                + ", numConvPosEmbeddingGroups=" + numConvPosEmbeddingGroups + ", layerNormEps=" + layerNormEps + "]";
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new ModelLoadException("Invalid HuBERT config.json: " + what);
        }
    }

    private static int[] ints(JsonObject o, String key, int[] def) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return def;
        }
        if (!e.isJsonArray()) {
            throw new ModelLoadException("HuBERT config.json field '" + key + "' must be a list of integers, got " + e);
        }
        JsonArray a = e.getAsJsonArray();
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = toInt(key, a.get(i));
        }
        return out;
    }

    private static int integer(JsonObject o, int def, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : toInt(key, e);
    }

    private static int toInt(String key, JsonElement e) {
        double d = e.getAsDouble();
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw new ModelLoadException("HuBERT config.json field '" + key + "' must hold integers, got " + e);
        }
        return (int) d;
    }

    private static boolean bool(JsonObject o, boolean def, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsBoolean();
    }

    private static String string(JsonObject o, String def, String key) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? def : e.getAsString();
    }
}

package io.github.bark4j.internal.model;

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

/**
 * The architecture of a Bark checkpoint, from its Hugging Face {@code config.json}: three GPT
 * sub-configs and the EnCodec codec config. Defaults and attribute aliases follow the Hugging Face
 * config classes, so partial (diff-style) config files load as they do there.
 */
public record BarkConfig(GptConfig semantic, GptConfig coarse, GptConfig fine, CodecConfig codec) {

    public static BarkConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("config.json not found: " + file
                    + " (a Bark model folder needs config.json, tokenizer.json and model.safetensors"
                    + " or pytorch_model.bin)");
        } catch (IOException e) {
            throw new ModelLoadException("Cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(text);
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException
                | NumberFormatException e) {
            throw new ModelLoadException("Malformed config.json " + file + ": " + e.getMessage(), e);
        }
    }

    public static BarkConfig parse(String json) {
        JsonElement rootEl = JsonParser.parseString(json);
        if (!rootEl.isJsonObject()) {
            throw new ModelLoadException("Malformed config.json: not a JSON object");
        }
        JsonObject root = rootEl.getAsJsonObject();
        if (root.has("model_type") && !"bark".equals(root.get("model_type").getAsString())) {
            throw new ModelLoadException("config.json has model_type '"
                    + root.get("model_type").getAsString() + "', expected 'bark'");
        }
        GptConfig semantic = gpt("semantic_config", sub(root, "semantic_config"), false);
        GptConfig coarse = gpt("coarse_acoustics_config", sub(root, "coarse_acoustics_config"), false);
        GptConfig fine = gpt("fine_acoustics_config", sub(root, "fine_acoustics_config"), true);
        JsonObject codecJson = root.has("codec_config") && root.get("codec_config").isJsonObject()
                ? root.getAsJsonObject("codec_config") : new JsonObject();
        return new BarkConfig(semantic, coarse, fine, codec(codecJson));
    }

    private static JsonObject sub(JsonObject root, String key) {
        JsonElement e = root.get(key);
        if (e == null || !e.isJsonObject()) {
            throw new ModelLoadException("config.json lacks the '" + key + "' object");
        }
        return e.getAsJsonObject();
    }

    private static GptConfig gpt(String name, JsonObject o, boolean fine) {
        int layers = integer(o, 12, "num_layers", "num_hidden_layers");
        int heads = integer(o, 12, "num_heads", "num_attention_heads");
        int hidden = integer(o, 768, "hidden_size");
        int block = integer(o, 1024, "block_size", "window_size");
        int inVocab = integer(o, 10048, "input_vocab_size", "vocab_size");
        int outVocab = integer(o, 10048, "output_vocab_size");
        boolean bias = o.has("bias") ? o.get("bias").getAsBoolean() : true;
        int total = fine ? integer(o, 8, "n_codes_total") : 0;
        int given = fine ? integer(o, 1, "n_codes_given") : 0;
        if (fine && total < 2) {
            throw new ModelLoadException("Invalid " + name + ": n_codes_total must be at least 2");
        }
        return new GptConfig(name, block, inVocab, outVocab, layers, heads, hidden, bias, total, given);
    }

    private static CodecConfig codec(JsonObject o) {
        int[] ratios = {8, 5, 4, 2};
        if (o.has("upsampling_ratios")) {
            var arr = o.getAsJsonArray("upsampling_ratios");
            ratios = new int[arr.size()];
            for (int i = 0; i < ratios.length; i++) {
                ratios[i] = arr.get(i).getAsInt();
            }
        }
        int hidden = integer(o, 128, "hidden_size");
        int codebookDim = o.has("codebook_dim") && !o.get("codebook_dim").isJsonNull()
                ? o.get("codebook_dim").getAsInt() : hidden;
        return new CodecConfig(
                integer(o, 24000, "sampling_rate"),
                integer(o, 1, "audio_channels"),
                integer(o, 32, "num_filters"),
                integer(o, 1, "num_residual_layers"),
                ratios,
                integer(o, 7, "kernel_size"),
                integer(o, 7, "last_kernel_size"),
                integer(o, 3, "residual_kernel_size"),
                integer(o, 2, "dilation_growth_rate"),
                bool(o, true, "use_causal_conv"),
                string(o, "reflect", "pad_mode"),
                integer(o, 2, "compress"),
                integer(o, 2, "num_lstm_layers"),
                o.has("trim_right_ratio") ? o.get("trim_right_ratio").getAsDouble() : 1.0,
                integer(o, 1024, "codebook_size"),
                codebookDim,
                hidden,
                bool(o, true, "use_conv_shortcut"),
                string(o, "weight_norm", "norm_type"));
    }

    private static int integer(JsonObject o, int def, String... keys) {
        for (String k : keys) {
            JsonElement e = o.get(k);
            if (e != null && !e.isJsonNull()) {
                double d = e.getAsDouble();
                if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
                    throw new ModelLoadException("config.json field '" + k + "' must be an integer, got " + e);
                }
                return (int) d;
            }
        }
        return def;
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

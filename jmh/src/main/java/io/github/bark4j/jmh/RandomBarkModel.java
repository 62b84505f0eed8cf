package io.github.bark4j.jmh;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.model.BarkConfig;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.internal.model.CodecConfig;
import io.github.bark4j.internal.model.CodecDecoder;
import io.github.bark4j.internal.model.CodecEncoder;
import io.github.bark4j.internal.model.GptConfig;
import io.github.bark4j.internal.model.GptWeights;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Model folders with random weights at the real Bark sizes, built from the {@code config.json} files
 * shipped in this module ({@code io/github/bark4j/jmh/models/<name>/config.json}): the config, a small
 * generated WordPiece {@code tokenizer.json}, and a {@code model.safetensors} written through the
 * library's {@link SafetensorsWriter} with exactly the tensors the loader reads (and the EnCodec
 * encoder voice cloning reads), under their Hugging Face names. Weights are uniform with standard deviation 0.02 (Bark's initializer range), layer-norm
 * and weight-norm gains 1, biases 0, so activations stay in the normal float range (no denormals
 * that would distort timings). Nothing is downloaded.
 *
 * <p>Folders are cached under {@code -Dbark4j.jmh.models} (default {@code <tmpdir>/bark4j-jmh-models})
 * by a hash of the config, so the forks of one run (and later runs) generate each size once.
 */
final class RandomBarkModel {
    /**
     * Bump when the generated tensors change, so cached folders are rebuilt (2: with the EnCodec
     * encoder, which voice cloning reads).
     */
    private static final int GENERATOR_VERSION = 2;

    private RandomBarkModel() {}

    /** Prints the parameter count of each shipped size; with a size argument, also generates its folder. */
    public static void main(String[] args) {
        for (String size : sizes()) {
            RandomWeights w = new RandomWeights(BarkConfig.parse(configJson(size)), 0);
            System.out.printf("%s: %d tensors, %.1f M parameters%n", size, w.names().size(), w.parameterCount() / 1e6);
        }
        for (String size : args) {
            System.out.println(folder(size));
        }
    }

    /** The model sizes that have a shipped config. */
    static List<String> sizes() {
        return List.of("bark-small", "bark");
    }

    /** The shipped config.json of a size, as text. */
    static String configJson(String size) {
        String resource = "/io/github/bark4j/jmh/models/" + size + "/config.json";
        try (InputStream in = RandomBarkModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("No shipped config for model '" + size + "'; known: " + sizes());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A ready model folder for {@code size}, generated on first use. */
    static Path folder(String size) {
        String config = configJson(size);
        return cached(size, config + "\n" + GENERATOR_VERSION, dir -> {
            Files.writeString(dir.resolve("config.json"), config);
            Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
            SafetensorsWriter.write(new RandomWeights(BarkConfig.parse(config), 1234L),
                    dir.resolve("model.safetensors"));
        });
    }

    /** Writes a generated model's files into an empty folder. */
    @FunctionalInterface
    interface FolderWriter {
        void write(Path dir) throws IOException;
    }

    /**
     * The folder {@code <models>/<name>-<hash of key>}, filled by {@code writer} the first time (under a
     * file lock, so concurrent forks generate it once) and reused while {@code key} is the same:
     * {@code key} must change whenever what the writer writes does.
     */
    static Path cached(String name, String key, FolderWriter writer) {
        Path base = Path.of(System.getProperty("bark4j.jmh.models",
                Path.of(System.getProperty("java.io.tmpdir"), "bark4j-jmh-models").toString()));
        Path dir = base.resolve(name + "-" + hash(key));
        Path done = dir.resolve(".complete");
        try {
            Files.createDirectories(dir);
            try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
                if (!Files.exists(done)) {
                    long t0 = System.nanoTime();
                    writer.write(dir);
                    Files.writeString(done, "ok\n");
                    System.err.printf("bark4j-jmh: generated random %s weights in %s (%.1f s)%n", name, dir,
                            (System.nanoTime() - t0) / 1e9);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot prepare the random model folder " + dir, e);
        }
        return dir;
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A minimal cased WordPiece tokenizer in the Hugging Face format with Bark's special ids ([PAD] 0,
     * [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103) and single-character pieces, so any ASCII text
     * tokenizes. The token count only changes which of the 256 fixed text slots are filled, never the
     * amount of computation.
     */
    static String tokenizerJson() {
        Map<String, Integer> vocab = new LinkedHashMap<>();
        vocab.put("[PAD]", 0);
        for (int i = 1; i < 100; i++) {
            vocab.put("[unused" + i + "]", i);
        }
        vocab.put("[UNK]", 100);
        vocab.put("[CLS]", 101);
        vocab.put("[SEP]", 102);
        vocab.put("[MASK]", 103);
        int id = 104;
        for (char c = '!'; c <= '~'; c++) {
            vocab.put(String.valueOf(c), id++);
        }
        for (char c = '!'; c <= '~'; c++) {
            vocab.put("##" + c, id++);
        }
        JsonObject root = new JsonObject();
        root.addProperty("version", "1.0");
        root.add("truncation", null);
        root.add("padding", null);
        JsonArray added = new JsonArray();
        for (String special : List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")) {
            JsonObject t = new JsonObject();
            t.addProperty("id", vocab.get(special));
            t.addProperty("content", special);
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", true);
            added.add(t);
        }
        root.add("added_tokens", added);
        JsonObject normalizer = new JsonObject();
        normalizer.addProperty("type", "BertNormalizer");
        normalizer.addProperty("clean_text", true);
        normalizer.addProperty("handle_chinese_chars", true);
        normalizer.add("strip_accents", null);
        normalizer.addProperty("lowercase", false);
        root.add("normalizer", normalizer);
        JsonObject pre = new JsonObject();
        pre.addProperty("type", "BertPreTokenizer");
        root.add("pre_tokenizer", pre);
        root.add("post_processor", null);
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "WordPiece");
        decoder.addProperty("prefix", "##");
        decoder.addProperty("cleanup", true);
        root.add("decoder", decoder);
        JsonObject model = new JsonObject();
        model.addProperty("type", "WordPiece");
        model.addProperty("unk_token", "[UNK]");
        model.addProperty("continuing_subword_prefix", "##");
        model.addProperty("max_input_chars_per_word", 100);
        JsonObject v = new JsonObject();
        vocab.forEach(v::addProperty);
        model.add("vocab", v);
        root.add("model", model);
        Gson gson = new GsonBuilder().serializeNulls().create();
        return gson.toJson(root);
    }

    /**
     * The tensors {@link BarkModel#load} reads for a config, plus the EnCodec encoder that
     * {@link CodecEncoder#load} reads for voice cloning (as in suno/bark-small's checkpoint).
     */
    static final class RandomWeights extends RandomTensors {
        RandomWeights(BarkConfig c, long seed) {
            super(seed);
            gpt(BarkModel.SEMANTIC_PREFIX, c.semantic());
            gpt(BarkModel.COARSE_PREFIX, c.coarse());
            gpt(BarkModel.FINE_PREFIX, c.fine());
            codec(BarkModel.CODEC_PREFIX, c.codec(), c.fine().nCodesTotal());
            encoder(BarkModel.CODEC_PREFIX + "encoder.layers.", c.codec());
        }

        /** Mirrors {@link GptWeights#load}: the same keys, shapes and bias rules. */
        private void gpt(String p, GptConfig c) {
            long h = c.hiddenSize();
            boolean fine = !c.isCausal();
            boolean normBias = fine || c.bias();
            if (fine) {
                for (int i = 0; i < c.nCodesTotal(); i++) {
                    put(p + "input_embeds_layers." + i + ".weight", Init.NORMALISH, c.inputVocabSize(), h);
                }
            } else {
                put(p + "input_embeds_layer.weight", Init.NORMALISH, c.inputVocabSize(), h);
            }
            put(p + "position_embeds_layer.weight", Init.NORMALISH, c.blockSize(), h);
            for (int i = 0; i < c.numLayers(); i++) {
                String l = p + "layers." + i + ".";
                norm(l + "layernorm_1", h, normBias);
                linear(l + "attn.att_proj", 3 * h, h, c.bias());
                linear(l + "attn.out_proj", h, h, c.bias());
                norm(l + "layernorm_2", h, normBias);
                linear(l + "mlp.in_proj", 4 * h, h, c.bias());
                linear(l + "mlp.out_proj", h, 4 * h, c.bias());
            }
            norm(p + "layernorm_final", h, normBias);
            if (fine) {
                for (int i = 0; i < c.nCodesTotal() - c.nCodesGiven(); i++) {
                    put(p + "lm_heads." + i + ".weight", Init.NORMALISH, c.outputVocabSize(), h);
                }
            } else {
                put(p + "lm_head.weight", Init.NORMALISH, c.outputVocabSize(), h);
            }
        }

        /** Mirrors {@link CodecDecoder#load}: codebooks, SEANet decoder with weight norm, LSTM. */
        private void codec(String p, CodecConfig c, int codebooks) {
            for (int i = 0; i < codebooks; i++) {
                put(p + "quantizer.layers." + i + ".codebook.embed", Init.NORMALISH, c.codebookSize(), c.codebookDim());
            }
            String d = p + "decoder.layers.";
            int index = 0;
            int channels = (1 << c.upsamplingRatios().length) * c.numFilters();
            conv(d + index++ + ".conv", channels, c.hiddenSize(), c.kernelSize(), false);
            lstm(d + index++ + ".lstm", channels, c.numLstmLayers());
            for (int ratio : c.upsamplingRatios()) {
                index++; // ELU
                conv(d + index++ + ".conv", channels / 2, channels, 2 * ratio, true);
                channels /= 2;
                for (int j = 0; j < c.numResidualLayers(); j++) {
                    String r = d + index++ + ".";
                    int hidden = channels / c.compress();
                    conv(r + "block.1.conv", hidden, channels, c.residualKernelSize(), false);
                    conv(r + "block.3.conv", channels, hidden, 1, false);
                    if (c.useConvShortcut()) {
                        conv(r + "shortcut.conv", channels, channels, 1, false);
                    }
                }
            }
            index++; // ELU
            conv(d + index + ".conv", c.audioChannels(), c.numFilters(), c.lastKernelSize(), false);
        }

        /** Weight-normed conv: gain (first dim), direction, bias. Transposed convs are (in, out, k). */
        private void conv(String key, int out, int in, int kernel, boolean transposed) {
            long first = transposed ? in : out;
            long second = transposed ? out : in;
            put(key + ".weight_g", Init.ONES, first, 1, 1);
            put(key + ".weight_v", Init.NORMALISH, first, second, kernel);
            put(key + ".bias", Init.ZEROS, out);
        }

        private void linear(String key, long out, long in, boolean bias) {
            put(key + ".weight", Init.NORMALISH, out, in);
            if (bias) {
                put(key + ".bias", Init.ZEROS, out);
            }
        }

        private void norm(String key, long h, boolean bias) {
            put(key + ".weight", Init.ONES, h);
            if (bias) {
                put(key + ".bias", Init.ZEROS, h);
            }
        }

        /**
         * Mirrors {@link CodecEncoder#load}: the SEANet encoder under Hugging Face's EncodecEncoder
         * numbering (conv; per ratio in reverse residual unit, ELU, strided conv doubling the
         * channels; LSTM; ELU; conv), weight-normed as in the published checkpoints.
         */
        private void encoder(String e, CodecConfig c) {
            int index = 0;
            int channels = c.numFilters();
            conv(e + index++ + ".conv", channels, c.audioChannels(), c.kernelSize(), false);
            int[] ratios = c.upsamplingRatios();
            for (int r = ratios.length - 1; r >= 0; r--) {
                for (int j = 0; j < c.numResidualLayers(); j++) {
                    String u = e + index++ + ".";
                    int hidden = channels / c.compress();
                    conv(u + "block.1.conv", hidden, channels, c.residualKernelSize(), false);
                    conv(u + "block.3.conv", channels, hidden, 1, false);
                    if (c.useConvShortcut()) {
                        conv(u + "shortcut.conv", channels, channels, 1, false);
                    }
                }
                index++; // ELU
                conv(e + index++ + ".conv", 2 * channels, channels, 2 * ratios[r], false);
                channels *= 2;
            }
            lstm(e + index++ + ".lstm", channels, c.numLstmLayers());
            index++; // ELU
            conv(e + index + ".conv", c.hiddenSize(), channels, c.lastKernelSize(), false);
        }

        private void lstm(String key, int channels, int layers) {
            for (int l = 0; l < layers; l++) {
                put(key + ".weight_ih_l" + l, Init.LSTM, 4L * channels, channels);
                put(key + ".weight_hh_l" + l, Init.LSTM, 4L * channels, channels);
                put(key + ".bias_ih_l" + l, Init.LSTM, 4L * channels);
                put(key + ".bias_hh_l" + l, Init.LSTM, 4L * channels);
            }
        }
    }
}

package io.github.bark4j.jmh;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.audio.Audio;
import io.github.bark4j.internal.audio.WavReader;
import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.cloning.Hubert;
import io.github.bark4j.internal.cloning.HubertConfig;
import io.github.bark4j.internal.cloning.SemanticQuantizer;
import io.github.bark4j.internal.model.BarkConfig;
import io.github.bark4j.internal.model.CodecEncoder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The generated cloning models load with the library's own loaders, which accept no missing and no
 * unknown tensor, and run: each generator at small sizes of the shipped configs (the real ones are
 * hundreds of MB); and the benchmark's recording is a WAV the library reads, as long and as loud as
 * intended.
 */
class RandomCloningModelsTest {
    @TempDir
    Path tmp;

    /** The shipped bark-small config with tiny GPTs and an EnCodec of 8 filters. */
    private static String tinyBarkConfig() {
        JsonObject c = JsonParser.parseString(RandomBarkModel.configJson("bark-small")).getAsJsonObject();
        for (String gpt : new String[] {"semantic_config", "coarse_acoustics_config", "fine_acoustics_config"}) {
            JsonObject g = c.getAsJsonObject(gpt);
            g.addProperty("hidden_size", 16);
            g.addProperty("num_layers", 1);
            g.addProperty("num_heads", 2);
        }
        c.getAsJsonObject("codec_config").addProperty("num_filters", 8);
        return c.toString();
    }

    @Test
    void theBarkFolderCarriesTheEncoderTheClonerLoads() throws IOException {
        String json = tinyBarkConfig();
        Files.writeString(tmp.resolve("config.json"), json);
        BarkConfig config = BarkConfig.parse(json);
        RandomBarkModel.RandomWeights weights = new RandomBarkModel.RandomWeights(config, 3);
        assertTrue(weights.names().contains("codec_model.encoder.layers.13.lstm.weight_hh_l1"), "the LSTM's place");
        SafetensorsWriter.write(weights, tmp.resolve("model.safetensors"));
        try (NDManager m = NDManager.newBaseManager("PyTorch");
                CodecEncoder encoder = CodecEncoder.load(tmp, Precision.FP32, m)) {
            float[] wav = CloningBenchmark.speechLike(0.5, encoder.sampleRate(), 1)[0];
            int[][] codes = encoder.encode(wav);
            assertEquals(8, codes.length);
            assertEquals((wav.length + 319) / 320, codes[0].length);
        }
    }

    @Test
    void theHubertFolderLoadsAndRunsToLayerNine() throws IOException {
        JsonObject c = JsonParser.parseString(RandomCloningModels.hubertConfigJson()).getAsJsonObject();
        assertEquals(768, c.get("hidden_size").getAsInt(), "the shipped config is HuBERT base");
        JsonArray dims = new JsonArray();
        for (int i = 0; i < 7; i++) {
            dims.add(16);
        }
        c.add("conv_dim", dims);
        c.addProperty("hidden_size", 32);
        c.addProperty("intermediate_size", 64);
        c.addProperty("num_attention_heads", 2);
        Files.writeString(tmp.resolve("config.json"), c.toString());
        SafetensorsWriter.write(new RandomCloningModels.HubertWeights(HubertConfig.parse(c.toString()), 5),
                tmp.resolve("model.safetensors"));
        try (Hubert hubert = Hubert.load(tmp, DataType.FLOAT32); NDManager m = NDManager.newBaseManager("PyTorch")) {
            float[] wav = CloningBenchmark.speechLike(1, 16_000, 2)[0];
            NDArray features = hubert.features(m, wav);
            assertArrayEquals(new long[] {49, 32}, features.getShape().getShape());
            assertTrue(Float.isFinite(features.abs().max().getFloat()));
        }
    }

    @Test
    void theQuantizerIsAVersionZeroCheckpoint() {
        Path file = tmp.resolve("q.safetensors");
        SafetensorsWriter.write(new RandomCloningModels.QuantizerWeights(7, 32, 64, 2), file);
        try (SemanticQuantizer q = SemanticQuantizer.load(file, DataType.FLOAT32);
                NDManager m = NDManager.newBaseManager("PyTorch")) {
            assertEquals(0, q.version());
            assertEquals(32, q.inputSize());
            assertEquals(64, q.hiddenSize());
            int[] tokens = q.tokens(m.randomNormal(new ai.djl.ndarray.types.Shape(20, 32)));
            assertEquals(20, tokens.length);
            for (int t : tokens) {
                assertTrue(t >= 0 && t < RandomCloningModels.SEMANTIC_VOCAB);
            }
        }
        assertEquals(26.0, new RandomCloningModels.QuantizerWeights(0).parameterCount() / 1e6, 0.1,
                "the English quantizer's 26 M parameters");
    }

    @Test
    void theRecordingIsTenSecondsOfLoudEnoughStereoAt44kHz() {
        float[][] stereo = CloningBenchmark.speechLike(CloningBenchmark.SECONDS, CloningBenchmark.WAV_RATE, 11);
        byte[] wav = CloningBenchmark.wav16(stereo, CloningBenchmark.WAV_RATE);
        Audio audio = WavReader.read(wav, "the benchmark recording", 30);
        assertEquals(CloningBenchmark.WAV_RATE, audio.sampleRate());
        assertEquals(441_000, audio.samples().length);
        double peak = 0;
        double sum = 0;
        for (double s : audio.samples()) {
            peak = Math.max(peak, Math.abs(s));
            sum += s * s;
        }
        double rms = Math.sqrt(sum / audio.samples().length);
        assertTrue(peak < 0.99 && peak > 0.2, "peak " + peak);
        assertTrue(rms > 0.03, "rms " + rms);
        assertArrayEquals(stereo[0], CloningBenchmark.speechLike(CloningBenchmark.SECONDS, CloningBenchmark.WAV_RATE,
                11)[0], "deterministic");
    }
}

package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelLoadException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

class HubertConfigTest {

    @Test
    void fixtureConfigParses() {
        HubertConfig c = HubertConfig.load(CloneFixture.hubertDir().resolve("config.json"));
        assertArrayEquals(new int[] {32, 32, 32, 32, 32, 32, 32}, c.convDim());
        assertArrayEquals(new int[] {10, 3, 3, 3, 3, 2, 2}, c.convKernel());
        assertArrayEquals(new int[] {5, 2, 2, 2, 2, 2, 2}, c.convStride());
        assertFalse(c.convBias());
        assertEquals(32, c.hiddenSize());
        assertEquals(12, c.numHiddenLayers());
        assertEquals(2, c.numAttentionHeads());
        assertEquals(64, c.intermediateSize());
        assertEquals(128, c.numConvPosEmbeddings());
        assertEquals(16, c.numConvPosEmbeddingGroups());
        assertEquals(1e-5, c.layerNormEps());
        assertEquals(32, c.featureChannels());
        assertEquals(400, c.receptiveField());
        assertEquals(320, c.hop());
    }

    /** Absent fields take transformers' HubertConfig defaults, which are HuBERT base's. */
    @Test
    void defaultsAreHubertBase() {
        HubertConfig c = HubertConfig.parse("{\"model_type\": \"hubert\"}");
        assertArrayEquals(new int[] {512, 512, 512, 512, 512, 512, 512}, c.convDim());
        assertEquals(768, c.hiddenSize());
        assertEquals(12, c.numHiddenLayers());
        assertEquals(12, c.numAttentionHeads());
        assertEquals(3072, c.intermediateSize());
        assertEquals(512, c.featureChannels());
        assertEquals(400, c.receptiveField());
        assertEquals(320, c.hop());
        assertEquals(c, HubertConfig.parse("{}"));
    }

    /** Frame counts follow every convolution's floor, as the fixture's frames_formula says. */
    @Test
    void frameCountsMatchTheReferenceFormula() {
        HubertConfig c = HubertConfig.parse("{}");
        for (CloneFixture.Recording r : CloneFixture.recordings()) {
            long samples = CloneFixture.npyShape(r.wav16())[0];
            assertEquals(r.frames(), c.frames(samples), r.name());
        }
        for (long n = 0; n < 5000; n++) {
            long expected = n < 400 ? 0 : (n - 400) / 320 + 1;
            assertEquals(expected, c.frames(n), "samples " + n);
        }
    }

    @Test
    void unsupportedLayoutsAreRefusedWithAReason() {
        assertRefused("{\"model_type\": \"wav2vec2\"}", "model_type 'wav2vec2'");
        assertRefused("{\"feat_extract_norm\": \"layer\"}", "feat_extract_norm 'layer'");
        assertRefused("{\"do_stable_layer_norm\": true}", "do_stable_layer_norm");
        assertRefused("{\"feat_proj_layer_norm\": false}", "feat_proj_layer_norm");
        assertRefused("{\"hidden_act\": \"relu\"}", "hidden_act 'relu'");
        assertRefused("{\"feat_extract_activation\": \"gelu_new\"}", "feat_extract_activation");
    }

    @Test
    void inconsistentSizesAreRefused() {
        assertRefused("{\"hidden_size\": 100, \"num_attention_heads\": 12, \"num_conv_pos_embedding_groups\": 4}",
                "not a multiple of num_attention_heads");
        assertRefused("{\"hidden_size\": 96, \"num_attention_heads\": 12, \"num_conv_pos_embedding_groups\": 5}",
                "num_conv_pos_embedding_groups 5");
        assertRefused("{\"conv_dim\": [512, 512], \"conv_kernel\": [10, 3, 3], \"conv_stride\": [5, 2]}",
                "same length");
        assertRefused("{\"conv_dim\": [], \"conv_kernel\": [], \"conv_stride\": []}", "must not be empty");
        assertRefused("{\"conv_stride\": [5, 2, 2, 0, 2, 2, 2]}", "must be positive");
        assertRefused("{\"hidden_size\": 0}", "hidden_size must be positive");
        assertRefused("{\"intermediate_size\": -1}", "intermediate_size");
        assertRefused("{\"num_conv_pos_embeddings\": 0}", "num_conv_pos_embeddings");
        assertRefused("{\"layer_norm_eps\": 0}", "layer_norm_eps");
        assertRefused("{\"num_hidden_layers\": 2.5}", "must hold integers");
        assertRefused("{\"conv_dim\": 512}", "list of integers");
        assertRefused("{\"num_feat_extract_layers\": 6}", "num_feat_extract_layers");
        assertRefused("[1, 2]", "not a JSON object");
    }

    @Test
    void missingOrMalformedFilesAreLoadErrors(@TempDir Path tmp) throws IOException {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> HubertConfig.load(tmp.resolve("config.json")));
        assertTrue(e.getMessage().contains("not found"), e.getMessage());
        Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"hidden_size\": ");
        e = assertThrows(ModelLoadException.class, () -> HubertConfig.load(bad));
        assertTrue(e.getMessage().contains("Malformed"), e.getMessage());
        Path word = Files.writeString(tmp.resolve("word.json"), "{\"hidden_size\": \"big\"}");
        e = assertThrows(ModelLoadException.class, () -> HubertConfig.load(word));
        assertTrue(e.getMessage().contains("Malformed"), e.getMessage());
    }

    private static void assertRefused(String json, String reason) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> HubertConfig.parse(json), json);
        assertTrue(e.getMessage().contains(reason), json + ": " + e.getMessage());
    }
}

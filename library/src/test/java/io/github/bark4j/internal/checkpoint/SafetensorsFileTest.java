package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.model.BarkConfig;
import io.github.bark4j.internal.model.CodecConfig;
import io.github.bark4j.internal.model.GptConfig;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/** The safetensors reader on files built byte by byte in the test, and on the fixture's weights. */
class SafetensorsFileTest {

    @TempDir
    Path tmp;

    /** Writes 8-byte length + header + data; the header is taken verbatim (no padding, no checks). */
    static Path writeRaw(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    /** A tensor to put in a hand-built file. */
    record Spec(String name, String dtype, long[] shape, byte[] bytes) {}

    /** Builds a well-formed file from specs, tensors laid out in order. */
    static Path write(Path file, Spec... specs) throws IOException {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\",\"who\":\"test\"}");
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        for (Spec s : specs) {
            long begin = data.size();
            data.write(s.bytes());
            header.append(",\"").append(s.name()).append("\":{\"dtype\":\"").append(s.dtype())
                    .append("\",\"shape\":").append(Arrays.toString(s.shape()))
                    .append(",\"data_offsets\":[").append(begin).append(",").append(data.size()).append("]}");
        }
        header.append("}");
        while ((header.length() + 8) % 8 != 0) {
            header.append(' ');
        }
        return writeRaw(file, header.toString(), data.toByteArray());
    }

    static byte[] le(int width, long... values) {
        return NpyTest.bytes(ByteOrder.LITTLE_ENDIAN, width, values);
    }

    static byte[] f32(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static byte[] f64(double... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        return b.array();
    }

    /** IEEE binary16 decoded the slow way, from its definition. */
    static double naiveHalf(int bits) {
        int sign = (bits >> 15) & 1;
        int exp = (bits >> 10) & 0x1F;
        int mant = bits & 0x3FF;
        double s = sign == 1 ? -1 : 1;
        if (exp == 0x1F) {
            return mant == 0 ? s * Double.POSITIVE_INFINITY : Double.NaN;
        }
        if (exp == 0) {
            return s * Math.pow(2, -14) * (mant / 1024.0);
        }
        return s * Math.pow(2, exp - 15) * (1 + mant / 1024.0);
    }

    @Test
    void readsEveryDtype() throws IOException {
        float[] floats = {0f, 1.5f, -2.25f, 3.0e-8f, Float.MAX_VALUE, -0f};
        double[] doubles = {Math.PI, -1e300, 4.9e-324, 0.1};
        long[] longs = {Long.MIN_VALUE, -1, 0, 1, Long.MAX_VALUE, 123456789012345L};
        int[] halves = {0x3C00, 0xC000, 0x3555, 0x7BFF, 0x0001, 0x8400, 0x7C00, 0xFC00, 0x0000, 0x03FF, 0x8000};
        float[] bfSource = {1f, -3.25f, 1e-3f, 65504f, -7.5e20f, 0.33333334f};
        long[] halfBits = Arrays.stream(halves).asLongStream().toArray();
        long[] bfBits = new long[bfSource.length];
        for (int i = 0; i < bfSource.length; i++) {
            bfBits[i] = Float.floatToIntBits(bfSource[i]) >>> 16;
        }
        Path file = write(tmp.resolve("all.safetensors"),
                new Spec("f32", "F32", new long[] {2, 3}, f32(floats)),
                new Spec("f16", "F16", new long[] {11}, le(2, halfBits)),
                new Spec("bf16", "BF16", new long[] {3, 2}, le(2, bfBits)),
                new Spec("f64", "F64", new long[] {4}, f64(doubles)),
                new Spec("i64", "I64", new long[] {3, 1, 2}, le(8, longs)),
                new Spec("bool", "BOOL", new long[] {5}, le(1, 1, 0, 0, 1, 1)),
                new Spec("scalar", "F32", new long[] {}, f32(42.5f)),
                new Spec("empty", "F32", new long[] {0, 4}, new byte[0]));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(Set.of("f32", "f16", "bf16", "f64", "i64", "bool", "scalar", "empty"), st.names());
            assertEquals(Map.of("format", "pt", "who", "test"), st.metadata());

            RawTensor t = st.tensor("f32");
            assertEquals(DType.F32, t.dtype());
            assertArrayEquals(new long[] {2, 3}, t.shape());
            assertArrayEquals(floats, t.toFloatArray());

            float[] h = st.tensor("f16").toFloatArray();
            for (int i = 0; i < halves.length; i++) {
                assertEquals(naiveHalf(halves[i]), h[i], 0.0, "half 0x" + Integer.toHexString(halves[i]));
            }
            assertEquals(Float.floatToIntBits(-0f), Float.floatToIntBits(h[10]), "0x8000 is negative zero");
            assertEquals(Float.floatToIntBits(0f), Float.floatToIntBits(h[8]));

            float[] bf = st.tensor("bf16").toFloatArray();
            for (int i = 0; i < bfSource.length; i++) {
                float truncated = Float.intBitsToFloat(Float.floatToIntBits(bfSource[i]) & 0xFFFF0000);
                assertEquals(truncated, bf[i], 0.0f);
                assertEquals(bfSource[i], bf[i], Math.abs(bfSource[i]) / 128, "bf16 keeps 8 bits of mantissa");
            }
            assertEquals(DType.BF16, st.tensor("bf16").dtype());

            RawTensor d = st.tensor("f64");
            ByteBuffer db = d.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < doubles.length; i++) {
                assertEquals(doubles[i], db.getDouble(i * 8), 0.0);
            }
            assertArrayEquals(longs, st.tensor("i64").toLongArray());
            assertArrayEquals(new long[] {3, 1, 2}, st.tensor("i64").shape());
            assertArrayEquals(new long[] {1, 0, 0, 1, 1}, st.tensor("bool").toLongArray());
            assertEquals(0, st.tensor("scalar").rank());
            assertArrayEquals(new float[] {42.5f}, st.tensor("scalar").toFloatArray());
            assertEquals(0, st.tensor("empty").numElements());
            assertEquals(0, st.tensor("empty").toFloatArray().length);

            ModelLoadException e = assertThrows(ModelLoadException.class, () -> st.tensor("nope"));
            assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
            assertThrows(ModelLoadException.class, () -> st.tensor("f32").toLongArray(),
                    "float tensors are not read as integers");
        }
    }

    private ModelLoadException malformed(String header, byte[] data) throws IOException {
        Path f = writeRaw(tmp.resolve("bad-" + System.nanoTime() + ".safetensors"), header, data);
        return assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(f).close());
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = tmp.resolve("long.safetensors");
        ByteBuffer b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(1000).put("{}".getBytes(StandardCharsets.UTF_8));
        Files.write(f, b.array());
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(f));
        assertMentions(e, "header length 1000", "20 bytes", f.toString());

        Path negative = tmp.resolve("neg.safetensors");
        b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).putLong(0);
        Files.write(negative, b.array());
        assertMentions(assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(negative)), "header length");
    }

    @Test
    void truncatedFiles() throws IOException {
        Path tiny = tmp.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 0, 0});
        assertMentions(assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(tiny)), "3 bytes");
        Path empty = tmp.resolve("empty.safetensors");
        Files.write(empty, new byte[0]);
        assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(empty));

        // a good file cut in the middle of its data
        Path good = write(tmp.resolve("good.safetensors"), new Spec("w", "F32", new long[] {4, 4}, f32(new float[16])));
        byte[] all = Files.readAllBytes(good);
        Path cut = tmp.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 10));
        assertMentions(assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(cut)), "'w'", "byte range");
        // cut inside the header
        Path cutHeader = tmp.resolve("cutheader.safetensors");
        Files.write(cutHeader, Arrays.copyOf(all, 20));
        assertMentions(assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(cutHeader)), "header length");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        ModelLoadException e = malformed("{\"w\": {\"dtype\": \"F32\", ", new byte[0]);
        assertMentions(e, "Malformed safetensors");
        assertMentions(malformed("[1, 2, 3]", new byte[0]), "not a JSON object");
        assertMentions(malformed("\"just a string\"", new byte[0]), "not a JSON object");
        // an entry that is not an object, or lacks its fields
        assertMentions(malformed("{\"w\": 5}", new byte[0]), "Malformed safetensors");
        assertMentions(malformed("{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", new byte[4]),
                "Malformed safetensors");
        assertMentions(malformed("{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", new byte[4]), "Malformed safetensors");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertMentions(malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[4]),
                "'w'", "[0, 8)", "4 data bytes");
        assertMentions(malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[4]),
                "'w'", "byte range");
        assertMentions(malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", new byte[8]),
                "'w'", "byte range");
    }

    @Test
    void byteCountNotMatchingShapeAndDtype() throws IOException {
        assertMentions(malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", new byte[24]),
                "'w'", "20 bytes", "24");
        assertMentions(malformed("{\"w\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,12]}}", new byte[24]),
                "'w'", "12 bytes", "24");
        assertMentions(malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]),
                "Negative dimension");
        // a shape whose element count overflows a long
        ModelLoadException e = malformed("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,0]}}", new byte[0]);
        assertMentions(e, "Malformed safetensors");
    }

    @Test
    void unknownDtype() throws IOException {
        assertMentions(malformed("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", new byte[4]),
                "Unsupported dtype F8_E4M3", "'w'");
        assertMentions(malformed("{\"w\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]),
                "C64");
    }

    @Test
    void missingFileIsAModelLoadException() {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> SafetensorsFile.open(tmp.resolve("absent.safetensors")));
        assertMentions(e, "not found", "absent.safetensors");
    }

    /** The fixture's weights: every key the config implies, with the shape it implies. */
    @Test
    void fixtureHasTheKeysAndShapesTheConfigImplies() {
        BarkConfig c = BarkConfig.load(SharedFiles.tinyBark().resolve("config.json"));
        GptConfig sem = c.semantic();
        GptConfig coarse = c.coarse();
        GptConfig fine = c.fine();
        long h = sem.hiddenSize();
        Map<String, long[]> expected = new java.util.LinkedHashMap<>();
        expected.put("semantic.input_embeds_layer.weight", new long[] {sem.inputVocabSize(), h});
        expected.put("semantic.position_embeds_layer.weight", new long[] {sem.blockSize(), h});
        expected.put("semantic.lm_head.weight", new long[] {sem.outputVocabSize(), h});
        expected.put("semantic.layers.0.attn.att_proj.weight", new long[] {3 * h, h});
        expected.put("semantic.layers." + (sem.numLayers() - 1) + ".mlp.in_proj.weight", new long[] {4 * h, h});
        expected.put("semantic.layernorm_final.weight", new long[] {h});
        expected.put("coarse_acoustics.input_embeds_layer.weight",
                new long[] {coarse.inputVocabSize(), coarse.hiddenSize()});
        expected.put("coarse_acoustics.lm_head.weight", new long[] {coarse.outputVocabSize(), coarse.hiddenSize()});
        for (int i = 0; i < fine.nCodesTotal(); i++) {
            expected.put("fine_acoustics.input_embeds_layers." + i + ".weight",
                    new long[] {fine.inputVocabSize(), fine.hiddenSize()});
        }
        for (int i = 0; i < fine.nCodesTotal() - fine.nCodesGiven(); i++) {
            expected.put("fine_acoustics.lm_heads." + i + ".weight",
                    new long[] {fine.outputVocabSize(), fine.hiddenSize()});
        }
        expected.put("fine_acoustics.layers.0.attn.att_proj.bias", new long[] {3L * fine.hiddenSize()});
        CodecConfig codec = c.codec();
        long firstChannels = (1L << codec.upsamplingRatios().length) * codec.numFilters();
        expected.put("codec_model.decoder.layers.0.conv.weight_v",
                new long[] {firstChannels, codec.hiddenSize(), codec.kernelSize()});
        expected.put("codec_model.decoder.layers.0.conv.weight_g", new long[] {firstChannels, 1, 1});
        expected.put("codec_model.decoder.layers.1.lstm.weight_ih_l0", new long[] {4 * firstChannels, firstChannels});
        for (int i = 0; i < 8; i++) {
            expected.put("codec_model.quantizer.layers." + i + ".codebook.embed",
                    new long[] {codec.codebookSize(), codec.codebookDim()});
        }
        try (SafetensorsFile st = SafetensorsFile.open(SharedFiles.tinyBark().resolve("model.safetensors"))) {
            for (var e : expected.entrySet()) {
                assertTrue(st.names().contains(e.getKey()), e.getKey());
                RawTensor t = st.tensor(e.getKey());
                assertArrayEquals(e.getValue(), t.shape(), e.getKey());
                assertEquals(DType.F32, t.dtype(), e.getKey());
            }
            assertFalse(st.names().contains("semantic.layers.0.attn.att_proj.bias"), "semantic has bias: false");
            assertTrue(st.names().stream().noneMatch(n -> n.startsWith("codec_model.encoder.")), "no encoder weights");
            // values are finite and not all zero
            float[] emb = st.tensor("semantic.position_embeds_layer.weight").toFloatArray();
            double abs = 0;
            for (float v : emb) {
                assertTrue(Float.isFinite(v));
                abs += Math.abs(v);
            }
            assertTrue(abs > 0);
        }
    }
}

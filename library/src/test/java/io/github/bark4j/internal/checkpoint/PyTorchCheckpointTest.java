package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.ZipFile;

class PyTorchCheckpointTest {

    @TempDir
    Path tmp;

    // ---- the real torch.save fixture ----------------------------------------------------------

    @Test
    void tinyBarkBinHasEverySafetensorsTensorWithIdenticalBytes() {
        Path dir = SharedFiles.tinyBark();
        try (PyTorchCheckpoint bin = PyTorchCheckpoint.open(dir.resolve("pytorch_model.bin"));
                SafetensorsFile st = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertFalse(st.names().isEmpty());
            for (String name : st.names()) {
                assertTrue(bin.contains(name), "missing in pytorch_model.bin: " + name);
                RawTensor expected = st.tensor(name);
                RawTensor actual = bin.tensor(name);
                assertEquals(expected.dtype(), actual.dtype(), name);
                assertArrayEquals(expected.shape(), actual.shape(), name);
                assertEquals(expected.data(), actual.data(), "bytes differ: " + name);
            }
            Set<String> extra = new TreeSet<>(bin.names());
            extra.removeAll(st.names());
            System.out.println("pytorch_model.bin has " + bin.names().size() + " tensors; beyond model.safetensors: " + extra);
            assertEquals(Set.of("semantic.layers.0.attn.bias", "semantic.layers.1.attn.bias",
                    "coarse_acoustics.layers.0.attn.bias", "coarse_acoustics.layers.1.attn.bias"), extra);
            for (String name : extra) {
                RawTensor mask = bin.tensor(name);
                assertEquals(DType.BOOL, mask.dtype(), name);
                assertArrayEquals(new long[] {1, 1, 1024, 1024}, mask.shape(), name);
                ByteBuffer b = mask.data();
                for (int i = 0; i < 1024; i++) {
                    for (int j = 0; j < 1024; j++) {
                        int want = j <= i ? 1 : 0;
                        if (b.get(i * 1024 + j) != want) {
                            fail(name + "[" + i + "][" + j + "] = " + b.get(i * 1024 + j) + ", want " + want);
                        }
                    }
                }
            }
        }
    }

    @Test
    void tinyBarkTiedFineHeadsComeOutUnderBothNames() {
        try (PyTorchCheckpoint bin = PyTorchCheckpoint.open(SharedFiles.tinyBark().resolve("pytorch_model.bin"))) {
            for (int i = 0; i < 7; i++) {
                RawTensor head = bin.tensor("fine_acoustics.lm_heads." + i + ".weight");
                RawTensor embed = bin.tensor("fine_acoustics.input_embeds_layers." + (i + 1) + ".weight");
                assertArrayEquals(embed.shape(), head.shape());
                assertEquals(embed.data(), head.data(), "lm_heads." + i);
            }
            assertNotEquals(bin.tensor("fine_acoustics.input_embeds_layers.0.weight").data(),
                    bin.tensor("fine_acoustics.lm_heads.0.weight").data());
        }
    }

    // ---- synthetic checkpoints: every dtype, strided views, zip64 ------------------------------

    private static final String[] STORAGES = {"DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage",
        "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"};
    private static final DType[] DTYPES = {DType.F64, DType.F32, DType.F16, DType.BF16,
        DType.I64, DType.I32, DType.I16, DType.I8, DType.U8, DType.BOOL};

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + 1);
        }
        return b;
    }

    /** A state dict shaped like torch.save's output, with views the Hub files do not have. */
    private static TorchZip syntheticCheckpoint() {
        TorchZip z = TorchZip.checkpoint("archive", syntheticPickle());
        z.add("archive/data/0", floats(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
        for (int i = 0; i < STORAGES.length; i++) {
            z.add("archive/data/s" + i, pattern(3 * DTYPES[i].bytes, i));
        }
        z.add("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        return z;
    }

    private static byte[] syntheticPickle() {
        PickleBytes p = PickleBytes.proto2();
        p.orderedDict().put(0).mark();
        long[] s34 = {3, 4};
        p.str("a").tensor("FloatStorage", "0", 12, 0, s34, new long[] {4, 1}).put(1);
        p.str("aT").tensor("FloatStorage", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4});
        p.str("row").tensor("FloatStorage", "0", 12, 4, new long[] {4}, new long[] {1});
        p.str("col").tensor("FloatStorage", "0", 12, 1, new long[] {3}, new long[] {4});
        p.str("scalar").tensor("FloatStorage", "0", 12, 11, new long[] {}, new long[] {});
        p.str("bcast").tensor("FloatStorage", "0", 12, 0, new long[] {2, 3}, new long[] {0, 1});
        p.str("empty").tensor("FloatStorage", "0", 12, 12, new long[] {0, 3}, new long[] {3, 1});
        p.str("tied").get(1);
        p.str("param").global("torch._utils", "_rebuild_parameter").mark()
                .tensor("FloatStorage", "0", 12, 0, s34, new long[] {4, 1}).op(0x88).orderedDict().op('t').op('R');
        for (int i = 0; i < STORAGES.length; i++) {
            p.str("t_" + STORAGES[i]).tensor(STORAGES[i], "s" + i, 3, 0, new long[] {3}, new long[] {1});
        }
        p.op('u');
        // state_dict()._metadata, set with BUILD as pickle does for an OrderedDict's attributes
        p.op('}').shortStr("_metadata").orderedDict().mark().shortStr("").op('}').shortStr("version").integer(1)
                .op('s').op('u').op('s').op('b');
        return p.stop().bytes();
    }

    private static void assertValues(RawTensor t, long[] shape, float... values) {
        assertArrayEquals(shape, t.shape(), t.name());
        assertArrayEquals(values, t.toFloatArray(), t.name());
    }

    @ParameterizedTest(name = "zip64={0}")
    @ValueSource(booleans = {false, true})
    void syntheticCheckpointYieldsEveryDtypeAndView(boolean zip64) throws IOException {
        Path file = syntheticCheckpoint().zip64(zip64).write(tmp.resolve("synthetic.bin"));
        if (zip64) {
            // the hand-written zip64 layout is one the JDK reads too
            try (ZipFile jdk = new ZipFile(file.toFile()); InputStream in = jdk.getInputStream(jdk.getEntry("archive/data/0"))) {
                assertArrayEquals(floats(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), in.readAllBytes());
            }
        }
        try (PyTorchCheckpoint ck = PyTorchCheckpoint.open(file)) {
            List<String> expectedOrder = new ArrayList<>(List.of("a", "aT", "row", "col", "scalar", "bcast", "empty",
                    "tied", "param"));
            for (String s : STORAGES) {
                expectedOrder.add("t_" + s);
            }
            assertEquals(expectedOrder, new ArrayList<>(ck.names()));
            assertValues(ck.tensor("a"), new long[] {3, 4}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
            assertValues(ck.tensor("aT"), new long[] {4, 3}, 0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11);
            assertValues(ck.tensor("row"), new long[] {4}, 4, 5, 6, 7);
            assertValues(ck.tensor("col"), new long[] {3}, 1, 5, 9);
            assertValues(ck.tensor("scalar"), new long[] {}, 11);
            assertValues(ck.tensor("bcast"), new long[] {2, 3}, 0, 1, 2, 0, 1, 2);
            assertValues(ck.tensor("empty"), new long[] {0, 3});
            assertValues(ck.tensor("tied"), new long[] {3, 4}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
            assertValues(ck.tensor("param"), new long[] {3, 4}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
            for (int i = 0; i < STORAGES.length; i++) {
                RawTensor t = ck.tensor("t_" + STORAGES[i]);
                assertEquals(DTYPES[i], t.dtype(), STORAGES[i]);
                assertEquals(ByteBuffer.wrap(pattern(3 * DTYPES[i].bytes, i)), t.data(), STORAGES[i]);
            }
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> ck.tensor("nope"));
            assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        }
    }

    @Test
    void deflatedPickleIsAcceptedAndUnalignedDataFound() throws IOException {
        PickleBytes p = PickleBytes.proto2().op('}').mark()
                .str("w").tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('u').stop();
        TorchZip z = new TorchZip().align(false);
        z.addDeflated("m/data.pkl", p.bytes()).add("m/data/0", floats(1.5f, -2f));
        try (PyTorchCheckpoint ck = PyTorchCheckpoint.open(z.write(tmp.resolve("d.bin")))) {
            assertValues(ck.tensor("w"), new long[] {2}, 1.5f, -2f);
        }
    }

    // ---- malformed files ------------------------------------------------------------------------

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    private static ModelLoadException assertMalformed(Path file, String... phrases) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> PyTorchCheckpoint.open(file).close());
        assertEquals(ModelLoadException.class, e.getClass(), e.getMessage());
        for (String phrase : phrases) {
            assertTrue(e.getMessage().contains(phrase), "'" + phrase + "' not in: " + e.getMessage());
        }
        return e;
    }

    private static byte[] oneTensorPickle(String storageType, long numel, long offset, long[] size, long[] stride) {
        return PickleBytes.proto2().op('}').mark().str("w").tensor(storageType, "0", numel, offset, size, stride)
                .op('u').stop().bytes();
    }

    private Path oneTensor(long numel, long offset, long[] size, long[] stride, int storageBytes) throws IOException {
        return TorchZip.checkpoint("m", oneTensorPickle("FloatStorage", numel, offset, size, stride))
                .add("m/data/0", new byte[storageBytes]).write(tmp.resolve("one.bin"));
    }

    @Test
    void missingAndNonZipFilesAreRefused() throws IOException {
        assertMalformed(tmp.resolve("absent.bin"), "not found");
        assertMalformed(write("empty.bin", new byte[0]), "too short");
        assertMalformed(write("text.bin", "this is not a checkpoint at all, just some text".getBytes(StandardCharsets.UTF_8)),
                "end-of-central-directory");
        byte[] legacy = PickleBytes.proto2().integer(0x1950a86a20f9469cL).stop().bytes();
        assertMalformed(write("legacy.bin", Arrays.copyOf(legacy, 64)), "legacy");
    }

    @Test
    void truncatedFixtureIsRefused() throws IOException {
        byte[] head = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(SharedFiles.tinyBark().resolve("pytorch_model.bin"))) {
            assertEquals(head.length, in.readNBytes(head, 0, head.length));
        }
        assertMalformed(write("truncated.bin", head), "end-of-central-directory");
    }

    @Test
    void zipWithoutDataPklIsRefused() throws IOException {
        Path f = new TorchZip().add("m/data/0", new byte[8]).add("m/version", "3\n".getBytes(StandardCharsets.US_ASCII))
                .write(tmp.resolve("nopkl.bin"));
        assertMalformed(f, "data.pkl");
    }

    @Test
    void missingStorageIsRefused() throws IOException {
        Path f = TorchZip.checkpoint("m", oneTensorPickle("FloatStorage", 2, 0, new long[] {2}, new long[] {1}))
                .write(tmp.resolve("nostorage.bin"));
        assertMalformed(f, "'w'", "storage '0'", "m/data/0");
    }

    @Test
    void storageOfWrongSizeIsRefused() throws IOException {
        assertMalformed(oneTensor(4, 0, new long[] {4}, new long[] {1}, 12), "holds 12 bytes", "16 bytes");
    }

    @Test
    void compressedStorageIsRefused() throws IOException {
        Path f = TorchZip.checkpoint("m", oneTensorPickle("FloatStorage", 2, 0, new long[] {2}, new long[] {1}))
                .addDeflated("m/data/0", new byte[8]).write(tmp.resolve("deflated.bin"));
        assertMalformed(f, "m/data/0", "compressed");
    }

    @Test
    void viewsOutsideTheirStorageAreRefused() throws IOException {
        assertMalformed(oneTensor(4, 0, new long[] {5}, new long[] {1}, 16), "past the end");
        assertMalformed(oneTensor(4, 0, new long[] {2, 2}, new long[] {3, 1}, 16), "past the end");
        assertMalformed(oneTensor(4, 3, new long[] {2}, new long[] {1}, 16), "past the end");
        assertMalformed(oneTensor(4, -1, new long[] {2}, new long[] {1}, 16), "past the end");
        assertMalformed(oneTensor(4, 0, new long[] {2}, new long[] {-1}, 16), "negative");
        assertMalformed(oneTensor(4, 0, new long[] {-2}, new long[] {1}, 16), "negative");
        assertMalformed(oneTensor(4, 0, new long[] {1L << 40, 1L << 40}, new long[] {0, 0}, 16), "'w'", "64-bit");
        assertMalformed(oneTensor(4, 0, new long[] {1L << 20, 1L << 20}, new long[] {0, 0}, 16), "'w'", "2 GiB");
    }

    @Test
    void bigEndianCheckpointIsRefused() throws IOException {
        TorchZip z = new TorchZip().add("m/data.pkl", oneTensorPickle("FloatStorage", 2, 0, new long[] {2}, new long[] {1}))
                .add("m/byteorder", "big".getBytes(StandardCharsets.US_ASCII)).add("m/data/0", new byte[8]);
        assertMalformed(z.write(tmp.resolve("big.bin")), "big-endian");
    }

    private Path withPickle(byte[] pickle) throws IOException {
        return TorchZip.checkpoint("m", pickle).add("m/data/0", new byte[8]).write(tmp.resolve("p.bin"));
    }

    @Test
    void brokenPicklesAreRefused() throws IOException {
        byte[] good = oneTensorPickle("FloatStorage", 2, 0, new long[] {2}, new long[] {1});
        assertMalformed(withPickle(Arrays.copyOf(good, good.length - 1)), "without a STOP");
        assertMalformed(withPickle(Arrays.copyOf(good, 7)), "ends early");
        assertMalformed(withPickle(Arrays.copyOf(good, 12)), "unterminated");
        assertMalformed(withPickle(new byte[0]), "without a STOP");
        assertMalformed(withPickle(PickleBytes.proto2().op(']').stop().bytes()), "a list", "not a state dict");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').get(7).stop().bytes()), "memo entry 7");
        assertMalformed(withPickle(PickleBytes.proto2().op('R').stop().bytes()), "empty stack");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').op('u').stop().bytes()), "no MARK");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').op('}').stop().bytes()), "2 values");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').shortStr("k").op('s').stop().bytes()), "empty stack");
        assertMalformed(withPickle(PickleBytes.proto2().op(0x8a).op(9).raw(new byte[9]).stop().bytes()), "64-bit");
        assertMalformed(withPickle(PickleBytes.proto2().op('X').raw(new byte[] {-1, -1, -1, 127}).stop().bytes()), "ends early");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').op('V').stop().bytes()), "opcode 0x56");
        assertMalformed(withPickle(PickleBytes.proto2().op('}').op(']').op('}').op('s').stop().bytes()), "dict key");
        // a tensor whose storage id is not ('storage', type, key, location, numel)
        assertMalformed(withPickle(PickleBytes.proto2().op('}').shortStr("w").global("torch._utils", "_rebuild_tensor_v2")
                .mark().mark().str("storage").op('t').op('Q').op('t').op('R').op('s').stop().bytes()), "persistent id");
        // _rebuild_tensor_v2 with a size that is not a tuple of ints
        assertMalformed(withPickle(PickleBytes.proto2().op('}').shortStr("w").global("torch._utils", "_rebuild_tensor_v2")
                .mark().mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(2).op('t').op('Q')
                .integer(0).shortStr("x").tuple(1).op(0x89).orderedDict().op('t').op('R').op('s').stop().bytes()),
                "unexpected arguments");
        // a state dict entry that is not a tensor
        assertMalformed(withPickle(PickleBytes.proto2().op('}').shortStr("w").integer(3).op('s').stop().bytes()),
                "'w'", "not a tensor");
    }

    /** Every prefix of a valid file, and random byte flips in the zip and in the pickle: a typed error or success, nothing else. */
    @Test
    void corruptedFilesFailOnlyWithModelLoadException() throws IOException {
        byte[] good = syntheticCheckpoint().zip64(true).bytes();
        Path f = tmp.resolve("fuzz.bin");
        for (int n = 0; n < good.length; n += 23) {
            Files.write(f, Arrays.copyOf(good, n));
            assertThrows(ModelLoadException.class, () -> PyTorchCheckpoint.open(f).close(), "prefix " + n);
        }
        Random rnd = new Random(42);
        int loaded = 0;
        for (int iter = 0; iter < 300; iter++) {
            byte[] bad = good.clone();
            for (int k = 0; k < 1 + rnd.nextInt(3); k++) {
                bad[rnd.nextInt(bad.length)] = (byte) rnd.nextInt(256);
            }
            loaded += openAndReadAll(f, bad) ? 1 : 0;
        }
        byte[] pickle = syntheticPickle();
        for (int iter = 0; iter < 300; iter++) {
            byte[] bad = pickle.clone();
            bad[rnd.nextInt(bad.length)] = (byte) rnd.nextInt(256);
            TorchZip z = TorchZip.checkpoint("archive", bad);
            z.add("archive/data/0", new byte[48]);
            for (int i = 0; i < STORAGES.length; i++) {
                z.add("archive/data/s" + i, new byte[3 * DTYPES[i].bytes]);
            }
            loaded += openAndReadAll(f, z.bytes()) ? 1 : 0;
        }
        assertTrue(loaded > 0, "some harmless mutations should still load");
    }

    private static boolean openAndReadAll(Path f, byte[] bytes) throws IOException {
        Files.write(f, bytes);
        try (PyTorchCheckpoint ck = PyTorchCheckpoint.open(f)) {
            for (String name : ck.names()) {
                ck.tensor(name).data();
            }
            return true;
        } catch (ModelLoadException expected) {
            assertFalse(expected.getMessage() == null || expected.getMessage().isEmpty());
            return false;
        }
    }
}

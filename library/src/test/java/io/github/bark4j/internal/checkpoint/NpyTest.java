package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** NumPy .npy / .npz parsing on arrays built byte by byte, and every real voice preset. */
class NpyTest {

    @TempDir
    Path tmp;

    /** A .npy file: magic, version, header length (2 or 4 bytes), header dict padded to 64, data. */
    static byte[] npy(int major, String dict, byte[] data) {
        int lenBytes = major == 1 ? 2 : 4;
        int unpadded = 6 + 2 + lenBytes + dict.length() + 1;
        String header = dict + " ".repeat((64 - unpadded % 64) % 64) + "\n";
        ByteBuffer b = ByteBuffer.allocate(8 + lenBytes + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'}).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) header.length());
        } else {
            b.putInt(header.length());
        }
        b.put(header.getBytes(StandardCharsets.ISO_8859_1)).put(data);
        return b.array();
    }

    static String dict(String descr, boolean fortran, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape
                + ", }";
    }

    static byte[] bytes(ByteOrder order, int width, long... values) {
        ByteBuffer b = ByteBuffer.allocate(width * values.length).order(order);
        for (long v : values) {
            switch (width) {
                case 1 -> b.put((byte) v);
                case 2 -> b.putShort((short) v);
                case 4 -> b.putInt((int) v);
                default -> b.putLong(v);
            }
        }
        return b.array();
    }

    static RawTensor parse(byte[] npy) {
        return Npy.parse("x", npy, "test");
    }

    static double[] doubles(RawTensor t) {
        float[] f = t.toFloatArray();
        double[] out = new double[f.length];
        if (t.dtype() == DType.F64) {
            ByteBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < out.length; i++) {
                out[i] = b.getDouble(i * 8);
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) {
            out[i] = f[i];
        }
        return out;
    }

    @Test
    void integerDtypes() {
        long[] i8 = {Long.MIN_VALUE, -3, 0, 7, Long.MAX_VALUE, 1L << 40};
        RawTensor t = parse(npy(1, dict("<i8", false, "(2, 3)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, i8)));
        assertEquals(DType.I64, t.dtype());
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertArrayEquals(i8, t.toLongArray());

        long[] i4 = {Integer.MIN_VALUE, -1, 0, 99, Integer.MAX_VALUE};
        t = parse(npy(1, dict("<i4", false, "(5,)"), bytes(ByteOrder.LITTLE_ENDIAN, 4, i4)));
        assertEquals(DType.I32, t.dtype());
        assertArrayEquals(i4, t.toLongArray());

        // big-endian int32 is converted to little-endian values
        t = parse(npy(1, dict(">i4", false, "(5,)"), bytes(ByteOrder.BIG_ENDIAN, 4, i4)));
        assertEquals(DType.I32, t.dtype());
        assertArrayEquals(i4, t.toLongArray());

        long[] u2 = {0, 1, 1023, 40000, 65535};
        t = parse(npy(1, dict("<u2", false, "(5,)"), bytes(ByteOrder.LITTLE_ENDIAN, 2, u2)));
        assertEquals(DType.U16, t.dtype());
        assertArrayEquals(u2, t.toLongArray(), "uint16 is read unsigned");

        long[] u1 = {0, 128, 255, 7};
        t = parse(npy(1, dict("|u1", false, "(2, 2)"), bytes(ByteOrder.LITTLE_ENDIAN, 1, u1)));
        assertEquals(DType.U8, t.dtype());
        assertArrayEquals(u1, t.toLongArray(), "uint8 is read unsigned");

        t = parse(npy(1, dict("|b1", false, "(4,)"), bytes(ByteOrder.LITTLE_ENDIAN, 1, 1, 0, 1, 1)));
        assertEquals(DType.BOOL, t.dtype());
        assertArrayEquals(new long[] {1, 0, 1, 1}, t.toLongArray());
    }

    @Test
    void floatDtypes() {
        float[] f4 = {1.5f, -0.25f, 3.4e38f, 1e-40f};
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : f4) {
            b.putFloat(v);
        }
        RawTensor t = parse(npy(1, dict("<f4", false, "(4,)"), b.array()));
        assertEquals(DType.F32, t.dtype());
        assertArrayEquals(f4, t.toFloatArray());
        assertThrows(ModelLoadException.class, t::toLongArray);

        double[] f8 = {Math.E, -1e-300, 1e300, 0.1};
        for (ByteOrder order : new ByteOrder[] {ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN}) {
            ByteBuffer d = ByteBuffer.allocate(32).order(order);
            for (double v : f8) {
                d.putDouble(v);
            }
            String descr = order == ByteOrder.BIG_ENDIAN ? ">f8" : "<f8";
            t = parse(npy(1, dict(descr, false, "(2, 2)"), d.array()));
            assertEquals(DType.F64, t.dtype());
            assertArrayEquals(f8, doubles(t), 0.0, descr);
        }
    }

    @Test
    void fortranOrderIsConvertedToC() {
        // C-order values v[i][j][k] = 100i + 10j + k for shape (2, 3, 4); Fortran order stores i fastest
        int[] shape = {2, 3, 4};
        long[] fortran = new long[24];
        long[] c = new long[24];
        int n = 0;
        for (int k = 0; k < 4; k++) {
            for (int j = 0; j < 3; j++) {
                for (int i = 0; i < 2; i++) {
                    fortran[n++] = 100L * i + 10L * j + k;
                }
            }
        }
        n = 0;
        for (int i = 0; i < shape[0]; i++) {
            for (int j = 0; j < shape[1]; j++) {
                for (int k = 0; k < shape[2]; k++) {
                    c[n++] = 100L * i + 10L * j + k;
                }
            }
        }
        RawTensor t = parse(npy(1, dict("<i8", true, "(2, 3, 4)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, fortran)));
        assertArrayEquals(new long[] {2, 3, 4}, t.shape());
        assertArrayEquals(c, t.toLongArray());

        // 2-D big-endian Fortran: both conversions at once
        long[] f2 = {1, 4, 2, 5, 3, 6}; // [[1,2,3],[4,5,6]] column-major
        t = parse(npy(1, dict(">i4", true, "(2, 3)"), bytes(ByteOrder.BIG_ENDIAN, 4, f2)));
        assertArrayEquals(new long[] {1, 2, 3, 4, 5, 6}, t.toLongArray());

        // 1-D Fortran is the same as C
        t = parse(npy(1, dict("<i8", true, "(3,)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, 7, 8, 9)));
        assertArrayEquals(new long[] {7, 8, 9}, t.toLongArray());
    }

    @Test
    void versionTwoHeaderAndOtherShapes() {
        long[] v = {5, 6, 7, 8};
        RawTensor t = parse(npy(2, dict("<i8", false, "(4,)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, v)));
        assertArrayEquals(v, t.toLongArray());
        t = parse(npy(3, dict("<i8", false, "(1, 4)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, v)));
        assertArrayEquals(new long[] {1, 4}, t.shape());
        // scalar and empty arrays
        t = parse(npy(1, dict("<i8", false, "()"), bytes(ByteOrder.LITTLE_ENDIAN, 8, 42)));
        assertEquals(0, t.rank());
        assertArrayEquals(new long[] {42}, t.toLongArray());
        t = parse(npy(1, dict("<i8", false, "(0,)"), new byte[0]));
        assertEquals(0, t.numElements());
        // keys in another order and Python 2 long suffixes
        t = parse(npy(1, "{'shape': (2L, 2L), 'fortran_order': False, 'descr': '<i8'}",
                bytes(ByteOrder.LITTLE_ENDIAN, 8, v)));
        assertArrayEquals(new long[] {2, 2}, t.shape());
        assertArrayEquals(v, t.toLongArray());
    }

    @Test
    void writeThenReadRoundTrips() throws IOException {
        long[] shape = {3, 5};
        ByteBuffer ints = ByteBuffer.allocate(15 * 8).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer floats = ByteBuffer.allocate(15 * 8).order(ByteOrder.LITTLE_ENDIAN);
        long[] expectedInts = new long[15];
        double[] expectedDoubles = new double[15];
        for (int i = 0; i < 15; i++) {
            expectedInts[i] = (long) i * i - 50;
            expectedDoubles[i] = Math.sin(i) * 1e5;
            ints.putLong(expectedInts[i]);
            floats.putDouble(expectedDoubles[i]);
        }
        ints.flip();
        floats.flip();
        byte[] a = Npy.write(shape, DType.I64, ints);
        assertEquals(0, (a.length - 15 * 8) % 64, "data is 64-byte aligned as NumPy writes it");
        Path file = tmp.resolve("ints.npy");
        Files.write(file, a);
        RawTensor t = Npy.read(file);
        assertEquals("ints", t.name());
        assertArrayEquals(shape, t.shape());
        assertArrayEquals(expectedInts, t.toLongArray());

        RawTensor d = parse(Npy.write(shape, DType.F64, floats));
        assertArrayEquals(expectedDoubles, doubles(d), 0.0);

        ByteBuffer one = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(9);
        one.flip();
        RawTensor v = parse(Npy.write(new long[] {1}, DType.I64, one));
        assertArrayEquals(new long[] {1}, v.shape(), "1-D shapes are written as (n,)");
        assertArrayEquals(new long[] {9}, v.toLongArray());
        assertThrows(IllegalArgumentException.class, () -> Npy.write(new long[] {1}, DType.BF16, ByteBuffer.allocate(2)));
    }

    private static void zip(Path file, boolean deflate, Map<String, byte[]> members) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(os)) {
            for (var e : members.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(e.getValue().length);
                    entry.setCompressedSize(e.getValue().length);
                    entry.setCrc(crc.getValue());
                }
                z.putNextEntry(entry);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
    }

    @Test
    void npzStoredAndDeflated() throws IOException {
        byte[] a = npy(1, dict("<i8", false, "(3,)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, 1, 2, 3));
        byte[] b = npy(1, dict("<u2", false, "(2, 2)"), bytes(ByteOrder.LITTLE_ENDIAN, 2, 10, 20, 30, 65000));
        for (boolean deflate : new boolean[] {false, true}) {
            Path file = tmp.resolve("arrays-" + deflate + ".npz");
            Map<String, byte[]> members = new java.util.LinkedHashMap<>();
            members.put("alpha.npy", a);
            members.put("beta.npy", b);
            zip(file, deflate, members);
            Map<String, RawTensor> read = Npy.readNpz(file);
            assertEquals(List.of("alpha", "beta"), new ArrayList<>(read.keySet()));
            assertArrayEquals(new long[] {1, 2, 3}, read.get("alpha").toLongArray());
            assertArrayEquals(new long[] {10, 20, 30, 65000}, read.get("beta").toLongArray());
            assertArrayEquals(new long[] {2, 2}, read.get("beta").shape());
        }
    }

    private static void assertMalformed(byte[] bytes, String... mentions) {
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Npy.parse("x", bytes, "where.npy"));
        assertTrue(e.getMessage().contains("where.npy"), e.getMessage());
        for (String m : mentions) {
            assertTrue(e.getMessage().contains(m), "'" + e.getMessage() + "' should mention '" + m + "'");
        }
    }

    @Test
    void malformedArrays() {
        byte[] good = npy(1, dict("<i8", false, "(4,)"), bytes(ByteOrder.LITTLE_ENDIAN, 8, 1, 2, 3, 4));
        assertMalformed(new byte[] {1, 2, 3}, "too short");
        byte[] badMagic = good.clone();
        badMagic[1] = 'X';
        assertMalformed(badMagic, "bad magic");
        byte[] badVersion = good.clone();
        badVersion[6] = 9;
        assertMalformed(badVersion, "version 9");
        assertMalformed(java.util.Arrays.copyOf(good, 40), "Truncated .npy header");
        assertMalformed(java.util.Arrays.copyOf(good, good.length - 1), "Truncated .npy data");
        assertMalformed(npy(1, dict("|O", false, "(2,)"), new byte[16]), "'O'", "object");
        assertMalformed(npy(1, dict("<U8", false, "(2,)"), new byte[64]), "U8");
        assertMalformed(npy(1, dict("<c16", false, "(2,)"), new byte[32]), "c16");
        assertMalformed(npy(1, "{'descr': '<i8', 'shape': (4,), }", new byte[32]), "Malformed .npy header");
        assertMalformed(npy(1, "not a dict at all", new byte[32]), "Malformed .npy header");
        assertMalformed(npy(1, dict("<i8", false, "(two, 2)"), new byte[32]), "Malformed .npy shape");
        assertMalformed(npy(1, dict("<i8", false, "(-4,)"), new byte[32]), "Negative dimension");
        assertMalformed(npy(1, dict("?i8", false, "(4,)"), new byte[32]), "byte order");
        // element counts that overflow must not wrap around to a small byte count
        assertMalformed(npy(1, dict("<f8", false, "(4611686018427387904,)"), new byte[0]));
        assertMalformed(npy(1, dict("<i8", false, "(4294967296, 4294967296)"), new byte[0]));
    }

    @Test
    void malformedNpz() throws IOException {
        Path notZip = tmp.resolve("plain.npz");
        Files.writeString(notZip, "hello, not a zip");
        ModelLoadException e = assertThrows(ModelLoadException.class, () -> Npy.readNpz(notZip));
        assertTrue(e.getMessage().contains("plain.npz"), e.getMessage());
        assertThrows(ModelLoadException.class, () -> Npy.readNpz(tmp.resolve("absent.npz")));
        assertThrows(ModelLoadException.class, () -> Npy.read(tmp.resolve("absent.npy")));

        Path badMember = tmp.resolve("bad.npz");
        zip(badMember, true, Map.of("obj.npy", npy(1, dict("|O", false, "(1,)"), new byte[8])));
        e = assertThrows(ModelLoadException.class, () -> Npy.readNpz(badMember));
        assertTrue(e.getMessage().contains("obj.npy"), e.getMessage());

        // an archive cut short
        Path good = tmp.resolve("good.npz");
        zip(good, true, Map.of("a.npy", npy(1, dict("<i8", false, "(64,)"), new byte[512])));
        byte[] all = Files.readAllBytes(good);
        Path cut = tmp.resolve("cut.npz");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        assertThrows(ModelLoadException.class, () -> Npy.readNpz(cut));
    }

    /** Every preset shipped in shared/voices loads and is a valid Bark prompt. */
    @Test
    void allRealVoicesLoad() throws IOException {
        Path voices = SharedFiles.shared().resolve("voices");
        List<Path> files;
        try (Stream<Path> walk = Files.walk(voices)) {
            files = walk.filter(p -> p.toString().endsWith(".npz")).sorted().toList();
        }
        assertTrue(files.size() >= 100, "found " + files.size() + " presets");
        for (Path f : files) {
            VoicePreset v = VoicePreset.load(f);
            assertEquals(2, v.coarsePrompt().length, f.toString());
            assertEquals(8, v.finePrompt().length, f.toString());
            assertTrue(v.semanticPrompt().length > 0, f.toString());
        }
        // announcer is stored as uint16, the others as int64
        Map<String, RawTensor> announcer = Npy.readNpz(voices.resolve("announcer.npz"));
        assertEquals(DType.U16, announcer.get("semantic_prompt").dtype());
        Map<String, RawTensor> v2 = Npy.readNpz(voices.resolve("v2/en_speaker_6.npz"));
        assertEquals(DType.I64, v2.get("semantic_prompt").dtype());
        long[] raw = announcer.get("semantic_prompt").toLongArray();
        int[] loaded = VoicePreset.load(voices.resolve("announcer.npz")).semanticPrompt();
        assertEquals(raw.length, loaded.length);
        for (int i = 0; i < raw.length; i++) {
            assertEquals(raw[i], loaded[i]);
        }
    }
}

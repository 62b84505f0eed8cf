package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Voice preset validation, save/load and immutability. */
class VoicePresetTest {

    @TempDir
    Path tmp;

    static int[] semantic(int n) {
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = (i * 37) % 10_000;
        }
        return s;
    }

    static int[][] codes(int rows, int frames) {
        int[][] c = new int[rows][frames];
        for (int k = 0; k < rows; k++) {
            for (int t = 0; t < frames; t++) {
                c[k][t] = (k * 131 + t * 7) % 1024;
            }
        }
        return c;
    }

    /** An int64 .npy member. */
    static byte[] npyLongs(long[] shape, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        b.flip();
        return Npy.write(shape, DType.I64, b);
    }

    static byte[] npyDoubles(long[] shape, double... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        b.flip();
        return Npy.write(shape, DType.F64, b);
    }

    static long[] flat(int[][] a) {
        return java.util.Arrays.stream(a).flatMapToInt(java.util.Arrays::stream).asLongStream().toArray();
    }

    static Map<String, byte[]> valid() {
        Map<String, byte[]> m = new LinkedHashMap<>();
        m.put("semantic_prompt", npyLongs(new long[] {6}, java.util.Arrays.stream(semantic(6)).asLongStream().toArray()));
        m.put("coarse_prompt", npyLongs(new long[] {2, 9}, flat(codes(2, 9))));
        m.put("fine_prompt", npyLongs(new long[] {8, 9}, flat(codes(8, 9))));
        return m;
    }

    private Path npz(Map<String, byte[]> members) throws IOException {
        Path f = Files.createTempFile(tmp, "voice", ".npz");
        try (OutputStream os = Files.newOutputStream(f); ZipOutputStream z = new ZipOutputStream(os)) {
            for (var e : members.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey() + ".npy"));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return f;
    }

    /** Loading the npz with one member replaced fails and names the array. */
    private void assertInvalidFile(String member, byte[] replacement, String... mentions) throws IOException {
        Map<String, byte[]> m = valid();
        if (replacement == null) {
            m.remove(member);
        } else {
            m.put(member, replacement);
        }
        Path f = npz(m);
        InvalidVoiceException e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.load(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(member), "'" + e.getMessage() + "' should name " + member);
        for (String s : mentions) {
            assertTrue(e.getMessage().contains(s), "'" + e.getMessage() + "' should mention '" + s + "'");
        }
    }

    @Test
    void validFileLoads() throws IOException {
        VoicePreset v = VoicePreset.load(npz(valid()));
        assertArrayEquals(semantic(6), v.semanticPrompt());
        assertArrayEquals(codes(2, 9), v.coarsePrompt());
        assertArrayEquals(codes(8, 9), v.finePrompt());
    }

    @Test
    void invalidFilesNameTheArray() throws IOException {
        assertInvalidFile("semantic_prompt", npyLongs(new long[] {2, 3}, 1, 2, 3, 4, 5, 6), "1-D");
        assertInvalidFile("coarse_prompt", npyLongs(new long[] {3, 2}, 1, 2, 3, 4, 5, 6), "2 rows");
        assertInvalidFile("coarse_prompt", npyLongs(new long[] {6}, 1, 2, 3, 4, 5, 6), "2-D");
        assertInvalidFile("fine_prompt", npyLongs(new long[] {1, 3}, 1, 2, 3), "at least 2 rows");
        assertInvalidFile("semantic_prompt", npyLongs(new long[] {3}, 1, 10_000, 3), "10000");
        assertInvalidFile("semantic_prompt", npyLongs(new long[] {3}, 1, -1, 3), "-1");
        assertInvalidFile("semantic_prompt", npyLongs(new long[] {2}, 1L << 40, 3));
        assertInvalidFile("coarse_prompt", npyLongs(new long[] {2, 2}, 0, 1024, 5, 6), "1024");
        assertInvalidFile("fine_prompt", npyLongs(new long[] {2, 2}, 0, 1, -1, 6), "-1");
        assertInvalidFile("semantic_prompt", npyLongs(new long[] {0}), "empty");
        assertInvalidFile("coarse_prompt", npyLongs(new long[] {2, 0}), "empty");
        assertInvalidFile("fine_prompt", npyLongs(new long[] {8, 0}), "empty");
        assertInvalidFile("semantic_prompt", npyDoubles(new long[] {2}, 1.0, 2.0), "integers");
        assertInvalidFile("coarse_prompt", npyDoubles(new long[] {2, 1}, 1.0, 2.0), "integers");
        assertInvalidFile("fine_prompt", null, "missing: fine_prompt");
        assertInvalidFile("semantic_prompt", null, "missing: semantic_prompt");
    }

    @Test
    void missingOrBrokenFile() throws IOException {
        Path absent = tmp.resolve("absent.npz");
        InvalidVoiceException e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.load(absent));
        assertTrue(e.getMessage().contains("absent.npz"), e.getMessage());
        Path text = tmp.resolve("text.npz");
        Files.writeString(text, "not a zip");
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.load(text));
        assertTrue(e.getMessage().contains("text.npz"), e.getMessage());
        assertThrows(InvalidVoiceException.class, () -> VoicePreset.load(null));
    }

    @Test
    void ofValidates() {
        assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(null, codes(2, 3), codes(8, 3)));
        assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(semantic(3), null, codes(8, 3)));
        assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(semantic(3), codes(2, 3), null));
        InvalidVoiceException e = assertThrows(InvalidVoiceException.class,
                () -> VoicePreset.of(semantic(3), new int[][] {{1, 2, 3}, {4, 5}}, codes(8, 3)));
        assertTrue(e.getMessage().contains("coarse_prompt") && e.getMessage().contains("same length"), e.getMessage());
        e = assertThrows(InvalidVoiceException.class,
                () -> VoicePreset.of(semantic(3), codes(2, 3), new int[][] {{1}, {2}, null}));
        assertTrue(e.getMessage().contains("fine_prompt"), e.getMessage());
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(new int[0], codes(2, 3), codes(8, 3)));
        assertTrue(e.getMessage().contains("semantic_prompt"), e.getMessage());
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(semantic(3), new int[2][0], codes(8, 3)));
        assertTrue(e.getMessage().contains("coarse_prompt"), e.getMessage());
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(semantic(3), codes(3, 3), codes(8, 3)));
        assertTrue(e.getMessage().contains("coarse_prompt"), e.getMessage());
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(new int[] {10_000}, codes(2, 3), codes(8, 3)));
        assertTrue(e.getMessage().contains("semantic_prompt") && e.getMessage().contains("10000"), e.getMessage());
        int[][] badFine = codes(8, 3);
        badFine[7][2] = 1024;
        e = assertThrows(InvalidVoiceException.class, () -> VoicePreset.of(semantic(3), codes(2, 3), badFine));
        assertTrue(e.getMessage().contains("fine_prompt") && e.getMessage().contains("1024"), e.getMessage());
        // the boundaries themselves are valid
        VoicePreset edge = VoicePreset.of(new int[] {0, 9_999}, new int[][] {{0}, {1023}}, new int[][] {{1023}, {0}});
        assertArrayEquals(new int[] {0, 9_999}, edge.semanticPrompt());
    }

    @Test
    void saveThenLoadRoundTrips() {
        VoicePreset v = VoicePreset.of(semantic(50), codes(2, 75), codes(8, 75));
        Path file = tmp.resolve("sub/dir/me.npz");
        v.save(file);
        VoicePreset back = VoicePreset.load(file);
        assertArrayEquals(v.semanticPrompt(), back.semanticPrompt());
        assertArrayEquals(v.coarsePrompt(), back.coarsePrompt());
        assertArrayEquals(v.finePrompt(), back.finePrompt());
        // saved as the original format: int64 arrays with the right shapes
        Map<String, RawTensor> arrays = Npy.readNpz(file);
        assertEquals(DType.I64, arrays.get("semantic_prompt").dtype());
        assertArrayEquals(new long[] {50}, arrays.get("semantic_prompt").shape());
        assertArrayEquals(new long[] {2, 75}, arrays.get("coarse_prompt").shape());
        assertArrayEquals(new long[] {8, 75}, arrays.get("fine_prompt").shape());
        // overwriting works too, and a real preset survives a round trip
        VoicePreset real = VoicePreset.load(SharedFiles.voice("v2/en_speaker_6"));
        real.save(file);
        VoicePreset realBack = VoicePreset.load(file);
        assertArrayEquals(real.semanticPrompt(), realBack.semanticPrompt());
        assertArrayEquals(real.finePrompt(), realBack.finePrompt());
    }

    @Test
    void accessorsReturnCopies() {
        int[] s = semantic(4);
        int[][] c = codes(2, 3);
        int[][] f = codes(8, 3);
        VoicePreset v = VoicePreset.of(s, c, f);
        // the preset copied its inputs
        s[0] = 9;
        c[1][1] = 9;
        f[7][2] = 9;
        assertArrayEquals(semantic(4), v.semanticPrompt());
        assertArrayEquals(codes(2, 3), v.coarsePrompt());
        assertArrayEquals(codes(8, 3), v.finePrompt());
        // and its accessors give copies
        v.semanticPrompt()[0] = 1234;
        v.coarsePrompt()[0][0] = 1000;
        v.finePrompt()[3][1] = 1000;
        assertArrayEquals(semantic(4), v.semanticPrompt());
        assertArrayEquals(codes(2, 3), v.coarsePrompt());
        assertArrayEquals(codes(8, 3), v.finePrompt());
        assertTrue(v.toString().contains("2x3"), v.toString());
    }
}

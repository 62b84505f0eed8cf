package io.github.bark4j.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes WAV files byte by byte for the tests: every field is the caller's, so a test can build valid
 * files of each encoding as well as broken ones (wrong sizes, odd chunk layouts, missing pad bytes).
 */
public final class TestWavs {
    public static final int PCM = 1;
    public static final int FLOAT = 3;
    public static final int EXTENSIBLE = 0xFFFE;
    /** The bytes of KSDATAFORMAT_SUBTYPE_* after its first two (the format tag). */
    private static final byte[] GUID_TAIL = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00, 0x00,
            (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71};

    private TestWavs() {}

    /** A 16-byte fmt chunk body, the block align and byte rate derived from the others. */
    public static byte[] fmt(int tag, int channels, int rate, int bits) {
        return fmt(tag, channels, rate, bits, channels * (bits / 8));
    }

    /** A 16-byte fmt chunk body with the given block align. */
    public static byte[] fmt(int tag, int channels, int rate, int bits, int blockAlign) {
        return le(16).putShort((short) tag).putShort((short) channels).putInt(rate).putInt(rate * blockAlign)
                .putShort((short) blockAlign).putShort((short) bits).array();
    }

    /** A 40-byte WAVE_FORMAT_EXTENSIBLE fmt body: {@code bits} is the container size. */
    public static byte[] fmtExtensible(int subTag, int channels, int rate, int bits, int validBits) {
        ByteBuffer b = le(40);
        b.put(fmt(EXTENSIBLE, channels, rate, bits));
        b.putShort((short) 22).putShort((short) validBits).putInt((1 << channels) - 1);
        b.putShort((short) subTag).put(GUID_TAIL);
        return b.array();
    }

    /** A chunk: id, size, body and the pad byte after an odd-sized body. */
    public static byte[] chunk(String id, byte[] body) {
        return chunk(id, body.length, body, true);
    }

    /** A chunk whose size field says {@code declaredSize} (0xFFFFFFFF and the like allowed). */
    public static byte[] chunk(String id, long declaredSize, byte[] body, boolean padIfOdd) {
        boolean pad = padIfOdd && body.length % 2 == 1;
        ByteBuffer b = le(8 + body.length + (pad ? 1 : 0));
        b.put(id.getBytes(StandardCharsets.ISO_8859_1)).putInt((int) declaredSize).put(body);
        return b.array();
    }

    /** A RIFF/WAVE file of the given chunks with the right RIFF size. */
    public static byte[] riff(byte[]... chunks) {
        return riff("RIFF", -1, chunks);
    }

    /** A file starting {@code magic}, size, "WAVE"; {@code declaredSize} -1 writes the true size. */
    public static byte[] riff(String magic, long declaredSize, byte[]... chunks) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(magic.getBytes(StandardCharsets.ISO_8859_1));
        int total = 4;
        for (byte[] c : chunks) {
            total += c.length;
        }
        out.writeBytes(le(4).putInt((int) (declaredSize < 0 ? total : declaredSize)).array());
        out.writeBytes("WAVE".getBytes(StandardCharsets.ISO_8859_1));
        for (byte[] c : chunks) {
            out.writeBytes(c);
        }
        return out.toByteArray();
    }

    /** The simplest file: fmt and data chunks. */
    public static byte[] wav(int tag, int channels, int rate, int bits, byte[] data) {
        return riff(chunk("fmt ", fmt(tag, channels, rate, bits)), chunk("data", data));
    }

    /** Integer samples, little-endian, {@code bits / 8} bytes each (8-bit values as the unsigned byte). */
    public static byte[] ints(int bits, long... values) {
        int width = bits / 8;
        ByteBuffer b = le(width * values.length);
        for (long v : values) {
            for (int i = 0; i < width; i++) {
                b.put((byte) (v >> (8 * i)));
            }
        }
        return b.array();
    }

    public static byte[] floats(float... values) {
        ByteBuffer b = le(4 * values.length);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    public static byte[] doubles(double... values) {
        ByteBuffer b = le(8 * values.length);
        for (double v : values) {
            b.putDouble(v);
        }
        return b.array();
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}

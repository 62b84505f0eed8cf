package io.github.bark4j.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

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

    /**
     * One small file (a tenth of a second of a tone with noise) of each encoding and layout the reader
     * supports: 8-bit, 16-bit with LIST and odd-sized chunks, 24-bit stereo, 32-bit, float 32 with fact,
     * float 64, extensible 24-in-32 5.1, RF64, and a stream whose sizes were never filled in.
     */
    public static List<byte[]> examples() {
        List<byte[]> out = new ArrayList<>();
        byte[] list = chunk("LIST", concat("INFO".getBytes(StandardCharsets.US_ASCII),
                chunk("INAM", "tone\0".getBytes(StandardCharsets.US_ASCII))));
        byte[] odd = chunk("bext", new byte[] {1, 2, 3});
        out.add(wav(PCM, 1, 8000, 8, ints(8, tone(800, 1, 8, true))));
        out.add(riff(list, chunk("fmt ", fmt(PCM, 1, 16000, 16)), odd, chunk("data", ints(16, tone(1600, 1, 16,
                false))), list));
        out.add(wav(PCM, 2, 44100, 24, ints(24, tone(4410, 2, 24, false))));
        out.add(wav(PCM, 1, 22050, 32, ints(32, tone(2205, 1, 32, false))));
        long[] f32 = tone(4800, 1, 24, false);
        float[] floats = new float[f32.length];
        for (int i = 0; i < f32.length; i++) {
            floats[i] = f32[i] / (float) (1 << 23);
        }
        out.add(riff(chunk("fmt ", concat(fmt(FLOAT, 1, 48000, 32), new byte[2])), chunk("fact", ints(32, 4800)),
                chunk("data", floats(floats))));
        double[] doubles = new double[1200 * 2];
        long[] f64 = tone(1200, 2, 32, false);
        for (int i = 0; i < doubles.length; i++) {
            doubles[i] = f64[i] / 2147483648.0;
        }
        out.add(wav(FLOAT, 2, 12000, 64, doubles(doubles)));
        long[] in32 = tone(3200, 6, 24, false);
        for (int i = 0; i < in32.length; i++) {
            in32[i] <<= 8; // 24 valid bits, left-justified in the 32-bit container
        }
        out.add(riff(chunk("fmt ", fmtExtensible(PCM, 6, 32000, 32, 24)), chunk("data", ints(32, in32))));
        byte[] samples = ints(16, tone(2400, 1, 16, false));
        byte[] ds64 = chunk("ds64", concat(ints(32, 0, 0), ints(32, samples.length, 0), ints(32, 2400, 0),
                ints(32, 0)));
        out.add(riff("RF64", 0xFFFFFFFFL, ds64, chunk("fmt ", fmt(PCM, 1, 24000, 16)), chunk("data", 0xFFFFFFFFL,
                samples, false)));
        out.add(riff("RIFF", 0, chunk("fmt ", fmt(PCM, 2, 16000, 16)), chunk("data", 0xFFFFFFFFL,
                ints(16, tone(1600, 2, 16, false)), false)));
        return out;
    }

    /** {@code frames} frames of {@code channels} interleaved integer samples of {@code bits}: a tone with noise. */
    private static long[] tone(int frames, int channels, int bits, boolean unsigned) {
        Random r = new Random(frames * 31L + channels);
        long[] v = new long[frames * channels];
        double full = (1L << (bits - 1)) - 1;
        for (int t = 0; t < frames; t++) {
            for (int c = 0; c < channels; c++) {
                double x = 0.4 * Math.sin(2 * Math.PI * t * (c + 1) / 40.0) + 0.1 * r.nextGaussian();
                long q = Math.round(Math.max(-1, Math.min(1, x)) * full);
                v[t * channels + c] = unsigned ? q + (1L << (bits - 1)) : q;
            }
        }
        return v;
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

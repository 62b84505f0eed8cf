package io.github.bark4j.examples.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.OptionalDouble;

/**
 * How many seconds of audio an uploaded WAV holds, read from its chunk headers alone, so the server
 * can refuse an over-long recording before cloning decodes it. Only the duration is read here: whether
 * the file is a WAV the library can use is the library's call ({@code Synthesizer.cloneVoice} names
 * what is wrong), so anything this cannot measure gets an empty answer and goes on to the library.
 */
final class WavDuration {
    private WavDuration() {}

    /**
     * The seconds of sample data in {@code wav}: the {@code data} chunk's bytes (its declared size, or
     * the bytes present when that is larger or the streaming placeholder 0xFFFFFFFF) over the byte rate
     * of the {@code fmt} chunk; empty when the bytes are not a RIFF/WAVE with both chunks and a
     * positive sample rate and block size.
     */
    static OptionalDouble seconds(byte[] wav) {
        ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
        if (wav.length < 12 || !tag(wav, 0, "RIFF") || !tag(wav, 8, "WAVE")) {
            return OptionalDouble.empty();
        }
        long rate = 0;
        int blockAlign = 0;
        long at = 12;
        while (at + 8 <= wav.length) {
            int pos = (int) at;
            long size = Integer.toUnsignedLong(b.getInt(pos + 4));
            long body = pos + 8L;
            if (tag(wav, pos, "fmt ")) {
                if (size < 16 || body + 16 > wav.length) {
                    return OptionalDouble.empty();
                }
                rate = Integer.toUnsignedLong(b.getInt((int) body + 4));
                blockAlign = Short.toUnsignedInt(b.getShort((int) body + 12));
            } else if (tag(wav, pos, "data")) {
                if (rate == 0 || blockAlign == 0) {
                    return OptionalDouble.empty(); // no usable fmt before the data
                }
                long present = wav.length - body;
                long bytes = Math.min(size, present);
                return OptionalDouble.of((double) (bytes / blockAlign) / rate);
            }
            at = body + size + (size & 1); // chunks are padded to an even length
        }
        return OptionalDouble.empty();
    }

    private static boolean tag(byte[] b, int at, String id) {
        for (int i = 0; i < 4; i++) {
            if (at + i >= b.length || b[at + i] != id.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}

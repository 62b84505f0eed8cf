package io.github.bark4j.examples.server;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * The response formats: 16-bit little-endian mono PCM, bare ({@code pcm}, as OpenAI sends it) or in a
 * WAV container ({@code wav}). A streamed WAV has a header with an open length (0xFFFFFFFF in both
 * size fields, as streaming TTS servers send it); a buffered one has the exact sizes.
 */
enum AudioFormat {
    WAV("wav", "audio/wav"),
    PCM("pcm", "audio/pcm");

    private final String id;
    private final String mediaType;

    AudioFormat(String id, String mediaType) {
        this.id = id;
        this.mediaType = mediaType;
    }

    String id() {
        return id;
    }

    String mediaType() {
        return mediaType;
    }

    static Optional<AudioFormat> parse(String s) {
        return Arrays.stream(values()).filter(f -> f.id.equals(s.toLowerCase(Locale.ROOT))).findFirst();
    }

    static String supported() {
        return String.join(", ", Arrays.stream(values()).map(AudioFormat::id).toArray(String[]::new));
    }

    /** The bytes before the first sample: a WAV header (with exact sizes when dataBytes >= 0), or none. */
    byte[] header(int sampleRate, long dataBytes) {
        if (this == PCM) {
            return new byte[0];
        }
        int data = dataBytes < 0 ? -1 : (int) dataBytes; // -1 == 0xFFFFFFFF: length unknown while streaming
        int riff = dataBytes < 0 ? -1 : (int) (36 + dataBytes);
        ByteBuffer b = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {'R', 'I', 'F', 'F'}).putInt(riff).put(new byte[] {'W', 'A', 'V', 'E'});
        b.put(new byte[] {'f', 'm', 't', ' '}).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(sampleRate).putInt(sampleRate * 2).putShort((short) 2).putShort((short) 16);
        b.put(new byte[] {'d', 'a', 't', 'a'}).putInt(data);
        return b.array();
    }

    /** Samples as 16-bit little-endian PCM, clipped to [-1, 1] and rounded as {@code Speech.writeWav} does. */
    static byte[] pcm16(float[] samples) {
        ByteBuffer b = ByteBuffer.allocate(samples.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float s : samples) {
            float c = Math.max(-1f, Math.min(1f, s));
            b.putShort((short) Math.round(c * 32767f));
        }
        return b.array();
    }
}

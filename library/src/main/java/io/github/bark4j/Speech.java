package io.github.bark4j;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/**
 * The result of one synthesis: mono audio plus the tokens of every stage, and any warnings (such as
 * text cut to 256 tokens). Immutable; accessors return copies.
 */
public final class Speech {
    private final float[] samples;
    private final int sampleRate;
    private final int[] semantic;
    private final int[][] coarse;
    private final int[][] fine;
    private final List<String> warnings;
    private final boolean textTruncated;

    Speech(float[] samples, int sampleRate, int[] semantic, int[][] coarse, int[][] fine, List<String> warnings,
            boolean textTruncated) {
        this.samples = samples;
        this.sampleRate = sampleRate;
        this.semantic = semantic;
        this.coarse = coarse;
        this.fine = fine;
        this.warnings = List.copyOf(warnings);
        this.textTruncated = textTruncated;
    }

    /** Mono samples in [-1, 1] (not clipped), at {@link #sampleRate()}. */
    public float[] samples() {
        return samples.clone();
    }

    public int sampleRate() {
        return sampleRate;
    }

    public double durationSeconds() {
        return (double) samples.length / sampleRate;
    }

    public int[] semanticTokens() {
        return semantic.clone();
    }

    /** The two coarse codebooks, codes 0..1023, shape (2, frames). */
    public int[][] coarseTokens() {
        return copy(coarse);
    }

    /** All fine codebooks, codes 0..1023, shape (8, frames). */
    public int[][] fineTokens() {
        return copy(fine);
    }

    /** Human-readable warnings about this generation (empty when none). */
    public List<String> warnings() {
        return warnings;
    }

    /** True when the text had more than 256 tokens and only the first 256 were spoken. */
    public boolean textTruncated() {
        return textTruncated;
    }

    /** This generation as a voice preset: later calls with it continue in the same voice. */
    public VoicePreset toVoicePreset() {
        return VoicePreset.of(semantic, coarse, fine);
    }

    /** Writes 16-bit PCM mono WAV (samples clipped to [-1, 1]), atomically. */
    public void writeWav(Path file) {
        try {
            AtomicFiles.write(file, this::writeWav);
        } catch (IOException e) {
            throw new BarkException("Cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Writes 16-bit PCM mono WAV bytes to a stream (not closed). */
    public void writeWav(OutputStream out) throws IOException {
        int dataBytes = samples.length * 2;
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {'R', 'I', 'F', 'F'}).putInt(36 + dataBytes).put(new byte[] {'W', 'A', 'V', 'E'});
        b.put(new byte[] {'f', 'm', 't', ' '}).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(sampleRate).putInt(sampleRate * 2).putShort((short) 2).putShort((short) 16);
        b.put(new byte[] {'d', 'a', 't', 'a'}).putInt(dataBytes);
        for (float s : samples) {
            float c = Math.max(-1f, Math.min(1f, s));
            b.putShort((short) Math.round(c * 32767f));
        }
        out.write(b.array());
    }

    private static int[][] copy(int[][] a) {
        int[][] out = new int[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
        }
        return out;
    }
}

package io.github.bark4j;

import io.github.bark4j.internal.io.AtomicFiles;
import io.github.bark4j.internal.pipeline.Utterance;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/**
 * The result of one synthesis: mono audio plus the tokens of every stage, the spoken segments of the
 * text, and any warnings (such as text cut to 256 tokens). Immutable; accessors return copies.
 *
 * <p>Long-form speech is several generations joined with pauses: its token arrays are those of the
 * segments one after another (pauses have no tokens), and {@link #segments()} says where each
 * segment's audio lies in {@link #samples()}.
 */
public final class Speech {
    private final float[] samples;
    private final int sampleRate;
    private final int[] semantic;
    private final int[][] coarse;
    private final int[][] fine;
    private final List<String> warnings;
    private final boolean textTruncated;
    private final List<Segment> segments;

    /**
     * One generated piece of the text and where its audio lies: samples {@code [startSample,
     * endSample)} of {@link Speech#samples()}, pauses excluded. The text is the segment's text with
     * whitespace normalized (runs collapsed to one space, trimmed).
     */
    public record Segment(String text, int startSample, int endSample) {
        public Segment {
            java.util.Objects.requireNonNull(text, "text");
            if (startSample < 0 || endSample < startSample) {
                throw new IllegalArgumentException("bad sample range [" + startSample + ", " + endSample + ")");
            }
        }
    }

    /** Audio without known text: one segment, with empty text, covering all samples. */
    Speech(float[] samples, int sampleRate, int[] semantic, int[][] coarse, int[][] fine, List<String> warnings,
            boolean textTruncated) {
        this(samples, sampleRate, semantic, coarse, fine, warnings, textTruncated,
                List.of(new Segment("", 0, samples.length)));
    }

    Speech(float[] samples, int sampleRate, int[] semantic, int[][] coarse, int[][] fine, List<String> warnings,
            boolean textTruncated, List<Segment> segments) {
        this.samples = samples;
        this.sampleRate = sampleRate;
        this.semantic = semantic;
        this.coarse = coarse;
        this.fine = fine;
        this.warnings = List.copyOf(warnings);
        this.textTruncated = textTruncated;
        this.segments = List.copyOf(segments);
    }

    /** The public view of what the pipeline produced. */
    Speech(Utterance u) {
        this(u.samples(), u.sampleRate(), u.semantic(), u.coarse(), u.fine(), u.warnings(), u.textTruncated(),
                u.segments());
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

    /**
     * The segments of the text, in order, with their place in {@link #samples()}: one for a single
     * generation, one per generation for long-form speech.
     */
    public List<Segment> segments() {
        return segments;
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

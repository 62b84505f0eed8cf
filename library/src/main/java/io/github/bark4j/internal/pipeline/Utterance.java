package io.github.bark4j.internal.pipeline;

import io.github.bark4j.Speech;
import io.github.bark4j.VoicePreset;

import java.util.ArrayList;
import java.util.List;

/**
 * What a generation produced, as the pipeline hands it up: mono samples, the tokens of every stage,
 * the spoken segments and the warnings. The facade turns it into the public {@link Speech}; the
 * arrays are not copied here, so nobody may write to them after construction.
 *
 * @param coarse the two coarse codebooks, codes 0..1023, shape (2, frames)
 * @param fine all fine codebooks, shape (8, frames)
 * @param textTruncated whether the text was cut to 256 tokens (single generations only)
 */
public record Utterance(float[] samples, int sampleRate, int[] semantic, int[][] coarse, int[][] fine,
        List<String> warnings, boolean textTruncated, List<Speech.Segment> segments) {

    public Utterance {
        warnings = List.copyOf(warnings);
        segments = List.copyOf(segments);
    }

    /** Whether {@link #toVoicePreset()} has something to continue from (the generation spoke). */
    public boolean canBeVoice() {
        return semantic.length > 0 && fine[0].length > 0;
    }

    /** This generation as a voice preset: later generations with it continue in the same voice. */
    public VoicePreset toVoicePreset() {
        return VoicePreset.of(semantic, coarse, fine);
    }

    /**
     * Consecutive segments joined with {@code pauseSamples} zeros between them; tokens are
     * concatenated, warnings kept with the segment they concern.
     */
    public static Utterance join(List<Utterance> parts, int pauseSamples) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        int total = 0;
        int semanticLength = 0;
        int frames = 0;
        for (Utterance p : parts) {
            total += p.samples.length;
            semanticLength += p.semantic.length;
            frames += p.fine[0].length;
        }
        total += pauseSamples * (parts.size() - 1);
        float[] samples = new float[total];
        int[] semantic = new int[semanticLength];
        int[][] coarse = new int[parts.get(0).coarse.length][frames];
        int[][] fine = new int[parts.get(0).fine.length][frames];
        List<String> warnings = new ArrayList<>();
        List<Speech.Segment> segments = new ArrayList<>();
        boolean truncated = false;
        int at = 0;
        int sem = 0;
        int frame = 0;
        for (int i = 0; i < parts.size(); i++) {
            Utterance p = parts.get(i);
            if (i > 0) {
                at += pauseSamples; // the array is already zero there
            }
            System.arraycopy(p.samples, 0, samples, at, p.samples.length);
            for (Speech.Segment s : p.segments) {
                segments.add(new Speech.Segment(s.text(), at + s.startSample(), at + s.endSample()));
            }
            at += p.samples.length;
            System.arraycopy(p.semantic, 0, semantic, sem, p.semantic.length);
            sem += p.semantic.length;
            int n = p.fine[0].length;
            for (int k = 0; k < coarse.length; k++) {
                System.arraycopy(p.coarse[k], 0, coarse[k], frame, n);
            }
            for (int k = 0; k < fine.length; k++) {
                System.arraycopy(p.fine[k], 0, fine[k], frame, n);
            }
            frame += n;
            for (String w : p.warnings) {
                warnings.add("Segment " + (i + 1) + ": " + w);
            }
            truncated |= p.textTruncated;
        }
        return new Utterance(samples, parts.get(0).sampleRate, semantic, coarse, fine, warnings, truncated, segments);
    }
}

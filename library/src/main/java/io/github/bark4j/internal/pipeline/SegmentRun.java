package io.github.bark4j.internal.pipeline;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The generations of one long text, in order, one {@link Utterance} per segment, produced batch by batch
 * as they are asked for. This is where the long-form rules live:
 * <ul>
 * <li>Voice: with a preset every segment uses it; without one, segments are generated one at a time
 *     until one speaks, and that segment's {@link Utterance#toVoicePreset()} is the voice of all later
 *     segments.</li>
 * <li>Seeds: segment i samples from {@code seed + i}, whatever the batching, so a segment equals a
 *     single generation of its text with that seed (and the voice above).</li>
 * <li>Batching: segments that share a voice run in batches of at most {@code maxBatch}; with
 *     {@code firstAlone} the first segment runs alone so that its audio comes first.</li>
 * </ul>
 */
public final class SegmentRun implements Iterator<Utterance> {

    /** Runs one batch of generations: texts with one voice, row i with {@code seeds[i]}. */
    @FunctionalInterface
    public interface Batch {
        List<Utterance> run(List<String> texts, VoicePreset voice, long[] seeds);
    }

    private final List<String> segments;
    private final GenerationOptions options;
    private final long seed;
    private final boolean firstAlone;
    private final Batch batch;
    private final Deque<Utterance> ready = new ArrayDeque<>();
    private VoicePreset voice;
    private int generated;

    public SegmentRun(List<String> segments, VoicePreset preset, GenerationOptions options, long seed, boolean firstAlone,
            Batch batch) {
        this.segments = List.copyOf(segments);
        this.voice = preset;
        this.options = options;
        this.seed = seed;
        this.firstAlone = firstAlone;
        this.batch = batch;
    }

    public int size() {
        return segments.size();
    }

    @Override
    public boolean hasNext() {
        return !ready.isEmpty() || generated < segments.size();
    }

    @Override
    public Utterance next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        if (ready.isEmpty()) {
            generateMore();
        }
        return ready.poll();
    }

    private void generateMore() {
        if (generated == 0) {
            options.progress().onSegment(0, segments.size());
        }
        int n = voice == null || (firstAlone && generated == 0) ? 1
                : Math.min(options.maxBatch(), segments.size() - generated);
        long[] seeds = new long[n];
        for (int i = 0; i < n; i++) {
            seeds[i] = seed + generated + i;
        }
        List<Utterance> out = batch.run(segments.subList(generated, generated + n), voice, seeds);
        for (Utterance s : out) {
            if (voice == null && s.canBeVoice()) {
                voice = s.toVoicePreset();
            }
            ready.add(s);
            generated++;
            options.progress().onSegment(generated, segments.size());
        }
    }
}

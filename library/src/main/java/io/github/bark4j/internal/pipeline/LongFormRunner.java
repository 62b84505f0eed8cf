package io.github.bark4j.internal.pipeline;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.InvalidInputException;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.Cancellation;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Speech of any length: a text is split into segments ({@link Segmenter}), the segments are generated
 * in batches through the {@link Pipeline} ({@link SegmentRun} holds the voice, seed and batching
 * rules), and their audio is joined with pauses ({@link Utterance#join}). The facade calls one of
 * {@link #speak}, {@link #speakAll} or {@link #segments}; each runs inside
 * {@link ModelLifetime#whileOpen} (a whole call, and each batch of a lazy stream), so closing the model
 * stops a long text between two decode steps.
 */
public final class LongFormRunner {
    private final Pipeline pipeline;
    private final ModelLifetime lifetime;

    public LongFormRunner(Pipeline pipeline, ModelLifetime lifetime) {
        this.pipeline = pipeline;
        this.lifetime = lifetime;
    }

    /** One text, whatever its length: its segments generated and joined with pauses. */
    public Utterance speak(String text, VoicePreset voice, GenerationOptions o, long seed) {
        return lifetime.whileOpen(() -> join(new SegmentRun(segmentsOf(text, o), voice, o, seed, false, batches(o)), o));
    }

    /**
     * Several texts, text i spoken as {@link #speak} speaks it with {@code seeds[i]}: texts that fit in
     * one segment run together in batches of {@link GenerationOptions#maxBatch()} (in greedy mode
     * each equals its single run), longer ones one after another, segment batch by segment batch.
     */
    public List<Utterance> speakAll(List<String> texts, long[] seeds, VoicePreset voice, GenerationOptions o) {
        return lifetime.whileOpen(() -> speakAllOpen(texts, seeds, voice, o));
    }

    private List<Utterance> speakAllOpen(List<String> texts, long[] seeds, VoicePreset voice, GenerationOptions o) {
        int n = texts.size();
        List<List<String>> segments = new ArrayList<>(n);
        List<Integer> single = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            segments.add(segmentsOf(texts.get(i), o));
            if (segments.get(i).size() == 1) {
                single.add(i);
            }
        }
        Utterance[] out = new Utterance[n];
        for (int from = 0; from < single.size(); from += o.maxBatch()) {
            List<Integer> rows = single.subList(from, Math.min(single.size(), from + o.maxBatch()));
            List<String> batch = new ArrayList<>();
            long[] batchSeeds = new long[rows.size()];
            for (int r = 0; r < rows.size(); r++) {
                batch.add(segments.get(rows.get(r)).get(0));
                batchSeeds[r] = seeds[rows.get(r)];
            }
            List<Utterance> done = batches(o).run(batch, voice, batchSeeds);
            for (int r = 0; r < rows.size(); r++) {
                out[rows.get(r)] = done.get(r);
            }
        }
        for (int i = 0; i < n; i++) {
            if (out[i] == null) {
                out[i] = join(new SegmentRun(segments.get(i), voice, o, seeds[i], false, batches(o)), o);
            }
        }
        return List.of(out);
    }

    /**
     * The segments of one text, lazily, one utterance each, generated as they are asked for: the first
     * alone (its audio comes after one generation), the rest in batches. The text is checked and split
     * now. A generation stops within one decode step once {@code cancelled} says so.
     */
    public Iterator<Utterance> segments(String text, VoicePreset voice, GenerationOptions o, long seed,
            BooleanSupplier cancelled) {
        List<String> segments = lifetime.whileOpen(() -> segmentsOf(text, o));
        SegmentRun.Batch batch = batches(o);
        return new SegmentRun(segments, voice, o, seed, true,
                (texts, v, seeds) -> Cancellation.during(cancelled, () -> batch.run(texts, v, seeds)));
    }

    /** The segments {@code text} is spoken in: one for short text or {@code longForm(false)}. */
    private List<String> segmentsOf(String text, GenerationOptions o) {
        if (!o.longForm()) {
            if (text == null) {
                throw new InvalidInputException("text must not be null");
            }
            return List.of(text); // one generation; the pipeline cuts it to 256 tokens, with a warning
        }
        return new Segmenter(pipeline::countTokens, o.maxSegmentTokens()).split(text);
    }

    private Utterance join(SegmentRun run, GenerationOptions o) {
        List<Utterance> parts = new ArrayList<>(run.size());
        run.forEachRemaining(parts::add);
        return Utterance.join(parts, (int) Math.round(o.pauseSeconds() * pipeline.sampleRate()));
    }

    private SegmentRun.Batch batches(GenerationOptions o) {
        return (texts, voice, seeds) -> lifetime.whileOpen(() -> pipeline.generate(texts, voice, o, seeds));
    }
}

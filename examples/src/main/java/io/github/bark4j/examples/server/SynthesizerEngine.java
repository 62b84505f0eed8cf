package io.github.bark4j.examples.server;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationCancelledException;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.InvalidInputException;
import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.ProgressListener;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.Synthesizer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The {@link SpeechEngine} on a {@link Synthesizer}. A lone job is streamed
 * ({@link Synthesizer#stream}): each segment's audio goes to the client as soon as it is decoded,
 * with the long-form pause between segments, so the bytes equal {@code generate}'s; closing the
 * stream when the client leaves stops the generation within one decode step. A batch of several
 * jobs (short texts; see {@link SpeechServer}) goes through the batched path, whose greedy results
 * equal the single ones.
 */
final class SynthesizerEngine implements SpeechEngine {
    private static final Logger LOG = LoggerFactory.getLogger(SynthesizerEngine.class);

    /** Thrown from the progress listener to abandon a batch nobody waits for any more. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("every request of the batch was cancelled", null, false, false);
        }
    }

    private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

    private final Synthesizer synth;
    private final ServerMetrics metrics;
    private final ProgressListener hook;

    SynthesizerEngine(Synthesizer synth, ServerMetrics metrics, ProgressListener hook) {
        this.synth = synth;
        this.metrics = metrics;
        this.hook = hook;
    }

    @Override
    public void run(List<SpeechJob> batch) {
        metrics.batchStarted(batch.size());
        long start = System.nanoTime();
        double audio = 0;
        try {
            audio = batch.size() == 1 ? stream(batch.get(0)) : generate(batch);
        } finally {
            metrics.batchFinished((System.nanoTime() - start) / 1e9, audio);
        }
    }

    /** Streams one job segment by segment; returns the seconds of speech made. */
    private double stream(SpeechJob job) {
        GenerationOptions options = job.options().toBuilder().progress(listener(List.of(job))).build();
        int pause = (int) Math.round(options.pauseSeconds() * synth.sampleRate());
        double audio = 0;
        try (Stream<Speech> segments = synth.stream(job.text(), options)) {
            job.onCancel(segments::close);
            Iterator<Speech> it = segments.iterator();
            for (int i = 0; it.hasNext(); i++) {
                Speech s = it.next();
                if (i > 0 && pause > 0) {
                    job.segment(new float[pause]); // the silence generate() puts between segments
                }
                job.segment(s.samples());
                audio += s.durationSeconds();
            }
            job.done();
        } catch (GenerationCancelledException | Abandoned e) {
            job.fail(ApiError.unavailable("The request was cancelled.", "cancelled"));
        } catch (InvalidInputException | InvalidVoiceException e) {
            String param = e instanceof InvalidVoiceException ? "voice" : "input";
            job.fail(ApiError.badRequest(e.getMessage(), param, "invalid_" + param));
        } catch (BarkException | IllegalStateException e) {
            LOG.error("generation failed", e);
            job.fail(ApiError.internal("Speech generation failed on the server."));
        } finally {
            job.onCancel(null);
        }
        return audio;
    }

    /** Runs a batch through the batched path and answers every job; returns the seconds of audio made. */
    private double generate(List<SpeechJob> batch) {
        GenerationOptions options = batch.get(0).options().toBuilder().progress(listener(batch))
                .maxBatch(Math.max(batch.size(), batch.get(0).options().maxBatch())).build();
        List<String> texts = new ArrayList<>(batch.size());
        long[] seeds = new long[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            texts.add(batch.get(i).text());
            Long seed = batch.get(i).options().seed();
            seeds[i] = seed != null ? seed : RANDOM.nextLong(); // each row samples as its request alone would
        }
        try {
            List<Speech> out = synth.generate(texts, seeds, options);
            double audio = 0;
            for (int i = 0; i < batch.size(); i++) {
                Speech s = out.get(i);
                audio += s.durationSeconds();
                batch.get(i).segment(s.samples());
                batch.get(i).done();
            }
            return audio;
        } catch (GenerationCancelledException | Abandoned e) {
            batch.forEach(j -> j.fail(ApiError.unavailable("The request was cancelled.", "cancelled")));
            return 0;
        } catch (InvalidInputException | InvalidVoiceException e) {
            // one bad text fails the whole batch: give each job its own answer
            double audio = 0;
            for (SpeechJob j : batch) {
                audio += stream(j);
            }
            return audio;
        } catch (BarkException | IllegalStateException e) {
            LOG.error("generation failed", e);
            batch.forEach(j -> j.fail(ApiError.internal("Speech generation failed on the server.")));
            return 0;
        }
    }

    private ProgressListener listener(List<SpeechJob> batch) {
        return new ProgressListener() {
            @Override
            public void onProgress(Stage stage, int done, int total) {
                hook.onProgress(stage, done, total);
                if (batch.stream().allMatch(SpeechJob::cancelled)) {
                    throw new Abandoned();
                }
            }

            @Override
            public void onSegment(int done, int total) {
                hook.onSegment(done, total);
            }
        };
    }
}

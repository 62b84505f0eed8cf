package io.github.bark4j.examples.server;

import io.github.bark4j.BarkException;
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
import java.util.List;

/** The {@link SpeechEngine} on a {@link Synthesizer}: batches go through its batched path. */
final class SynthesizerEngine implements SpeechEngine {
    private static final Logger LOG = LoggerFactory.getLogger(SynthesizerEngine.class);

    /** Thrown from the progress listener to abandon a batch nobody waits for any more. */
    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("every request of the batch was cancelled", null, false, false);
        }
    }

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
        long start = System.nanoTime();
        double audio = 0;
        try {
            audio = generate(batch);
        } finally {
            metrics.batch(batch.size(), (System.nanoTime() - start) / 1e9, audio);
        }
    }

    /** Runs the batch and answers every job; returns the seconds of audio made. */
    private double generate(List<SpeechJob> batch) {
        GenerationOptions options = batch.get(0).options().toBuilder().progress(listener(batch)).build();
        List<String> texts = new ArrayList<>(batch.size());
        batch.forEach(j -> texts.add(j.text()));
        try {
            List<Speech> out = synth.generate(texts, options);
            double audio = 0;
            for (int i = 0; i < batch.size(); i++) {
                Speech s = out.get(i);
                audio += s.durationSeconds();
                batch.get(i).segment(s.samples());
                batch.get(i).done();
            }
            return audio;
        } catch (Abandoned e) {
            batch.forEach(j -> j.fail(ApiError.unavailable("The request was cancelled.", "cancelled")));
            return 0;
        } catch (InvalidInputException | InvalidVoiceException e) {
            if (batch.size() > 1) {
                // one bad text fails the whole batch: give each job its own answer
                double audio = 0;
                for (SpeechJob j : batch) {
                    audio += generate(List.of(j));
                }
                return audio;
            }
            String param = e instanceof InvalidVoiceException ? "voice" : "input";
            batch.get(0).fail(ApiError.badRequest(e.getMessage(), param, "invalid_" + param));
            return 0;
        } catch (BarkException | IllegalStateException e) {
            LOG.error("generation failed", e);
            batch.forEach(j -> j.fail(ApiError.internal("Speech generation failed on the server.")));
            return 0;
        }
    }

    private ProgressListener listener(List<SpeechJob> batch) {
        return (Stage stage, int done, int total) -> {
            hook.onProgress(stage, done, total);
            if (batch.stream().allMatch(SpeechJob::cancelled)) {
                throw new Abandoned();
            }
        };
    }
}

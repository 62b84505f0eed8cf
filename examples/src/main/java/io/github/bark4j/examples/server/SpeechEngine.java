package io.github.bark4j.examples.server;

import java.util.List;

/**
 * Where audio comes from: runs a batch of jobs (all with one batch key) and reports each job's audio
 * through {@link SpeechJob#segment}, then {@link SpeechJob#done} or {@link SpeechJob#fail}. Called on
 * the scheduler's thread, one batch at a time.
 */
interface SpeechEngine {
    void run(List<SpeechJob> batch);
}

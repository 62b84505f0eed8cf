package io.github.bark4j.examples.server;

import io.github.bark4j.GenerationOptions;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One request's work: its text and options, where the engine puts its audio segment by segment, and
 * a cancellation flag set when the client goes away or the server stops. The HTTP thread that owns
 * the request takes the events and writes them.
 */
final class SpeechJob {
    /** What the engine reports for a job, in order: segments, then exactly one Done or Failed. */
    sealed interface Event permits Segment, Done, Failed {}

    record Segment(float[] samples) implements Event {}

    record Done() implements Event {}

    record Failed(ApiError error) implements Event {}

    private final String text;
    private final GenerationOptions options;
    private final Object batchKey;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;
    private volatile boolean finished;
    private Runnable onCancel;

    /**
     * @param batchKey jobs with equal keys may run in one batch: everything in the options but the
     *     text and the seed must match
     */
    SpeechJob(String text, GenerationOptions options, Object batchKey) {
        this.text = text;
        this.options = options;
        this.batchKey = batchKey;
    }

    String text() {
        return text;
    }

    GenerationOptions options() {
        return options;
    }

    Object batchKey() {
        return batchKey;
    }

    void segment(float[] samples) {
        if (!finished) {
            events.add(new Segment(samples));
        }
    }

    void done() {
        finish(new Done());
    }

    void fail(ApiError error) {
        finish(new Failed(error));
    }

    private synchronized void finish(Event last) {
        if (!finished) {
            finished = true;
            events.add(last);
        }
    }

    boolean finished() {
        return finished;
    }

    /** The next event, or null after the timeout. */
    Event next(long timeout, TimeUnit unit) throws InterruptedException {
        return events.poll(timeout, unit);
    }

    /** Asks the engine to stop working on this job; its remaining audio is dropped. */
    void cancel() {
        Runnable r;
        synchronized (this) {
            cancelled = true;
            r = onCancel;
            onCancel = null;
        }
        if (r != null) {
            r.run();
        }
    }

    /** What {@link #cancel} should also do while the job runs (such as closing its stream); null clears it. */
    void onCancel(Runnable action) {
        synchronized (this) {
            if (!cancelled || action == null) {
                onCancel = action;
                return;
            }
        }
        action.run(); // cancelled already
    }

    boolean cancelled() {
        return cancelled;
    }
}

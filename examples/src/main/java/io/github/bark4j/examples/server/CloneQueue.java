package io.github.bark4j.examples.server;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationCancelledException;
import io.github.bark4j.InvalidAudioException;
import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.SynthesizerClosedException;
import io.github.bark4j.VoicePreset;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs voice clones one at a time on their own thread, off Jetty's request threads and beside the
 * speech batches. An upload takes a place before its body is read; there are one running and
 * {@code maxWaiting} waiting places, and an upload that finds none gets a 429 at once, so at most that
 * many bodies are ever held in memory. The request thread waits for its clone and cancels it
 * (interrupting the cloning thread, which the library checks between the stages of a clone) when its
 * client goes away.
 */
final class CloneQueue {
    private static final Logger LOG = LoggerFactory.getLogger(CloneQueue.class);

    private final Synthesizer synth;
    private final ServerMetrics metrics;
    private final Runnable hook;
    private final Semaphore places;
    private final ThreadPoolExecutor worker;
    private volatile boolean stopping;
    /** Smoothed wall seconds per clone, for Retry-After. */
    private volatile double secondsPerClone = 2.0;

    CloneQueue(Synthesizer synth, ServerSettings.Cloning settings, ServerMetrics metrics) {
        this.synth = synth;
        this.metrics = metrics;
        this.hook = settings.hook();
        this.places = new Semaphore(1 + settings.maxWaiting());
        this.worker = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "bark4j-voice-cloner");
            t.setDaemon(true);
            return t;
        });
    }

    /** A place in the queue, held while the upload is read and cloned; closing it frees the place. */
    interface Place extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Takes a place for an upload.
     *
     * @throws ApiError 429 when every place is taken, 503 when the server is stopping
     */
    Place enter() {
        if (stopping) {
            throw ApiError.unavailable("The server is shutting down.", "shutting_down");
        }
        if (!places.tryAcquire()) {
            int waitSeconds = (int) Math.max(1, Math.ceil(secondsPerClone * (1 + worker.getQueue().size())));
            throw ApiError.busy("The server is busy cloning other voices. Retry after " + waitSeconds + " s.",
                    "clone_queue_full", waitSeconds);
        }
        return places::release;
    }

    /**
     * Clones a voice from WAV bytes, waiting for the clones ahead of it.
     *
     * @param watch tells when the client went away; the clone is then cancelled
     * @return the preset, or null when the client went away
     * @throws ApiError 400 for audio the library cannot clone from (its message), 503 when stopping
     *     or when the cloning models cannot be loaded, 500 for a fault
     */
    VoicePreset clone(byte[] wav, ClientWatch watch) throws InterruptedException {
        Future<VoicePreset> task;
        try {
            task = worker.submit(() -> {
                hook.run();
                long start = System.nanoTime();
                VoicePreset preset = synth.cloneVoice(new ByteArrayInputStream(wav));
                double seconds = (System.nanoTime() - start) / 1e9;
                secondsPerClone = 0.7 * secondsPerClone + 0.3 * seconds;
                metrics.voiceCloned(seconds);
                return preset;
            });
        } catch (RejectedExecutionException e) {
            throw ApiError.unavailable("The server is shutting down.", "shutting_down");
        }
        try {
            while (true) {
                try {
                    return task.get(100, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (watch.clientGone()) {
                        task.cancel(true); // interrupts the clone if it has started
                        metrics.cancelled();
                        return null;
                    }
                }
            }
        } catch (InterruptedException e) {
            task.cancel(true);
            throw e;
        } catch (CancellationException e) {
            throw ApiError.unavailable("The server is shutting down.", "shutting_down");
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    private ApiError failure(Throwable e) {
        if (e instanceof InvalidAudioException || e instanceof InvalidInputException) {
            return ApiError.badRequest(e.getMessage(), "file", "invalid_audio");
        }
        if (e instanceof SynthesizerClosedException || e instanceof GenerationCancelledException) {
            return stopping ? ApiError.unavailable("The server is shutting down.", "shutting_down")
                    : ApiError.unavailable("The clone was cancelled.", "cancelled");
        }
        if (e instanceof ModelLoadException) {
            LOG.error("the voice-cloning models cannot be loaded: {}", e.getMessage());
            return ApiError.unavailable("The voice-cloning models cannot be loaded: " + e.getMessage(),
                    "cloning_unavailable");
        }
        if (e instanceof BarkException) {
            LOG.error("voice cloning failed", e);
        } else {
            LOG.error("voice cloning failed unexpectedly", e);
        }
        return ApiError.internal("Voice cloning failed on the server.");
    }

    /** Refuses new uploads, lets the running and waiting clones finish within {@code grace}, then cancels them. */
    void shutdown(Duration grace) {
        stopping = true;
        worker.shutdown();
        try {
            if (!worker.awaitTermination(Math.max(1, grace.toMillis()), TimeUnit.MILLISECONDS)) {
                LOG.warn("voice clones did not finish within {} s: cancelling them", grace.toSeconds());
                for (Runnable waiting : worker.shutdownNow()) {
                    if (waiting instanceof Future<?> f) {
                        f.cancel(false); // its request thread answers 503
                    }
                }
                worker.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            worker.shutdownNow().forEach(r -> ((Future<?>) r).cancel(false));
            Thread.currentThread().interrupt();
        }
    }

    /** Clones running or waiting (for the health check). */
    int pending() {
        return worker.getActiveCount() + worker.getQueue().size();
    }
}

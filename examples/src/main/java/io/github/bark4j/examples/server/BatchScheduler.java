package io.github.bark4j.examples.server;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Gathers requests into batches: the first waiting job opens a window of {@code windowMillis}, during
 * which later jobs with the same batch key join it (up to {@code maxBatch}); then the batch runs on
 * the one worker thread while new jobs wait. At most {@code maxQueue} jobs wait; more are refused
 * with a 429 so clients back off instead of piling up.
 */
final class BatchScheduler {
    private static final Logger LOG = LoggerFactory.getLogger(BatchScheduler.class);

    private final SpeechEngine engine;
    private final int maxBatch;
    private final long windowNanos;
    private final int maxQueue;
    private final ServerMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Deque<SpeechJob> waiting = new ArrayDeque<>();
    private final Thread worker;
    private volatile List<SpeechJob> running = List.of();
    private boolean accepting = true;
    private boolean stopping;
    /** Smoothed wall seconds per batch, for Retry-After. */
    private volatile double secondsPerBatch = 1.0;

    BatchScheduler(SpeechEngine engine, int maxBatch, long windowMillis, int maxQueue, ServerMetrics metrics) {
        this.engine = engine;
        this.maxBatch = maxBatch;
        this.windowNanos = TimeUnit.MILLISECONDS.toNanos(windowMillis);
        this.maxQueue = maxQueue;
        this.metrics = metrics;
        this.worker = new Thread(this::work, "bark4j-batcher");
        worker.setDaemon(true);
    }

    void start() {
        worker.start();
    }

    /**
     * Queues a job.
     *
     * @throws ApiError 429 when the queue is full, 503 when the server is stopping
     */
    void submit(SpeechJob job) {
        lock.lock();
        try {
            if (!accepting) {
                throw ApiError.unavailable("The server is shutting down.", "shutting_down");
            }
            if (waiting.size() >= maxQueue) {
                double batchesAhead = Math.ceil((double) waiting.size() / maxBatch) + 1;
                throw ApiError.queueFull((int) Math.max(1, Math.ceil(batchesAhead * secondsPerBatch)));
            }
            waiting.addLast(job);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Jobs waiting for a batch (not counting the running one). */
    int queueDepth() {
        lock.lock();
        try {
            return waiting.size();
        } finally {
            lock.unlock();
        }
    }

    int runningJobs() {
        return running.size();
    }

    private void work() {
        while (true) {
            List<SpeechJob> batch;
            try {
                batch = nextBatch();
            } catch (InterruptedException e) {
                return;
            }
            if (batch == null) {
                return;
            }
            running = batch;
            long start = System.nanoTime();
            try {
                engine.run(batch);
            } catch (RuntimeException | Error e) {
                LOG.error("batch of {} failed", batch.size(), e);
                batch.forEach(j -> j.fail(ApiError.internal("Speech generation failed on the server.")));
            } finally {
                running = List.of();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            secondsPerBatch = 0.7 * secondsPerBatch + 0.3 * seconds;
        }
    }

    /** Waits for a first job, then gathers compatible ones for the window; null once stopping and empty. */
    private List<SpeechJob> nextBatch() throws InterruptedException {
        lock.lock();
        try {
            SpeechJob first = null;
            while (first == null) {
                while (waiting.isEmpty()) {
                    if (stopping) {
                        return null;
                    }
                    changed.await();
                }
                first = waiting.pollFirst();
                if (first.cancelled()) {
                    dropCancelled(first);
                    first = null;
                }
            }
            List<SpeechJob> batch = new ArrayList<>();
            batch.add(first);
            long deadline = System.nanoTime() + windowNanos;
            while (true) {
                for (Iterator<SpeechJob> it = waiting.iterator(); it.hasNext() && batch.size() < maxBatch; ) {
                    SpeechJob j = it.next();
                    if (j.cancelled()) {
                        it.remove();
                        dropCancelled(j);
                    } else if (j.batchKey().equals(first.batchKey())) {
                        it.remove();
                        batch.add(j);
                    }
                }
                long left = deadline - System.nanoTime();
                if (batch.size() >= maxBatch || left <= 0 || stopping) {
                    return batch;
                }
                changed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    private void dropCancelled(SpeechJob job) {
        job.fail(ApiError.unavailable("The request was cancelled.", "cancelled"));
    }

    /**
     * Stops taking jobs, answers the waiting ones with 503, lets the running batch finish within
     * {@code grace} and cancels it after that. Returns whether the worker ended in time.
     */
    boolean shutdown(Duration grace) {
        List<SpeechJob> dropped;
        lock.lock();
        try {
            accepting = false;
            stopping = true;
            dropped = new ArrayList<>(waiting);
            waiting.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(j -> j.fail(ApiError.unavailable("The server is shutting down.", "shutting_down")));
        try {
            worker.join(Math.max(1, grace.toMillis()));
            if (worker.isAlive()) {
                LOG.warn("running batch did not finish within {} s: cancelling it", grace.toSeconds());
                running.forEach(SpeechJob::cancel);
                worker.join(5_000);
                if (worker.isAlive()) {
                    worker.interrupt();
                    worker.join(5_000);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !worker.isAlive();
    }
}

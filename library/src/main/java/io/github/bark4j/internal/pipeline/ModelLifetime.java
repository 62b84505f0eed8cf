package io.github.bark4j.internal.pipeline;

import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.BarkException;
import io.github.bark4j.SynthesizerClosedException;
import io.github.bark4j.internal.Cancellation;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Guards a loaded {@link Pipeline}'s native memory across concurrent calls: every call runs inside
 * {@link #whileOpen}, {@link #close} makes calls in flight stop at their next decode step, waits for
 * them a bounded time, and frees the model; if a call is still inside a native operation then, the
 * last call out frees it. No lock is taken per decode step: a call holds the read lock for its whole
 * length, and close takes the write lock.
 */
public final class ModelLifetime {
    private static final Logger LOG = LoggerFactory.getLogger(ModelLifetime.class);

    private final Pipeline pipeline;
    private final long closeWaitSeconds;
    /** What else the model owns and frees with it (voice cloning's models), in the order adopted. */
    private final List<AutoCloseable> adopted = new ArrayList<>();
    /** Readers: calls in flight; the writer: the release of the model's memory. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private volatile boolean closed;
    private boolean released;

    public ModelLifetime(Pipeline pipeline, long closeWaitSeconds) {
        this.pipeline = pipeline;
        this.closeWaitSeconds = closeWaitSeconds;
    }

    /**
     * Makes {@code resource} part of the model: it is closed when the model is freed, before the
     * pipeline; if that has happened already, now.
     */
    public void adopt(AutoCloseable resource) {
        boolean now;
        synchronized (adopted) {
            now = released;
            if (!now) {
                adopted.add(resource);
            }
        }
        if (now) {
            closeQuietly(resource);
        }
    }

    /**
     * Runs {@code work} on this thread while the model is open and cannot be freed. Errors come out as
     * the public API reports them ({@link Failures#duringGeneration}); a call that close() stopped
     * throws {@link SynthesizerClosedException}.
     */
    public <T> T whileOpen(Supplier<T> work) {
        lock.readLock().lock();
        // libtorch's grad mode is per thread and DJL turns it off only on the thread that started the
        // engine; left on, other threads take other kernels (e.g. the LSTM's) and differ in the last bits
        boolean grad = JniUtils.isGradMode();
        try {
            if (grad) {
                JniUtils.setGradMode(false);
            }
            if (closed) {
                throw new SynthesizerClosedException("This Synthesizer is closed; build a new one");
            }
            // calls in flight stop within one decode step once close() begins
            return Cancellation.during(() -> closed, work);
        } catch (RuntimeException e) {
            throw closed ? closedDuringCall(e) : Failures.duringGeneration(e, pipeline.device().toString());
        } finally {
            if (grad) {
                JniUtils.setGradMode(true);
            }
            lock.readLock().unlock();
            releaseIfClosed();
        }
    }

    private static BarkException closedDuringCall(RuntimeException e) {
        if (e instanceof SynthesizerClosedException sce) {
            return sce;
        }
        SynthesizerClosedException c = new SynthesizerClosedException("This Synthesizer was closed during the"
                + " call; build a new one");
        c.addSuppressed(e);
        return c;
    }

    /**
     * Stops calls in flight at their next step, waits for them at most the close wait, and frees the
     * model's native memory; if a call is still inside a native operation by then, that call frees it
     * when it returns. Idempotent; never waits longer than the bound.
     */
    public void close() {
        closed = true;
        boolean locked;
        try {
            locked = lock.writeLock().tryLock(closeWaitSeconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            locked = false;
        }
        if (!locked) {
            LOG.warn("Synthesizer.close(): calls still running after {} s; the last one releases the model",
                    closeWaitSeconds);
            return;
        }
        try {
            release();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** After a call leaves: frees the model if close() gave up waiting for it. */
    private void releaseIfClosed() {
        if (closed && lock.writeLock().tryLock()) {
            try {
                release();
            } finally {
                lock.writeLock().unlock();
            }
        }
    }

    /** Called with the write lock held. */
    private void release() {
        List<AutoCloseable> others;
        synchronized (adopted) {
            if (released) {
                return;
            }
            released = true;
            others = new ArrayList<>(adopted);
            adopted.clear();
        }
        others.forEach(ModelLifetime::closeQuietly);
        pipeline.close();
    }

    private static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("Freeing {} failed: {}", resource, e.toString());
        }
    }
}

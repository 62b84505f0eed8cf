package io.github.bark4j.internal;

import io.github.bark4j.GenerationCancelledException;

import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The check every decode loop makes once per step: stop when the generating thread is interrupted or
 * when the request it serves (a stream that was closed) has been cancelled. The request's flag is
 * thread-confined, installed by {@link #during} around the work, so the stage loops need no extra
 * parameter.
 */
public final class Cancellation {
    private static final ThreadLocal<BooleanSupplier> CANCELLED = new ThreadLocal<>();

    private Cancellation() {}

    /** Throws {@link GenerationCancelledException} when this thread's generation should stop. */
    public static void check() {
        if (Thread.currentThread().isInterrupted()) {
            throw new GenerationCancelledException("Generation cancelled: the generating thread was interrupted");
        }
        BooleanSupplier cancelled = CANCELLED.get();
        if (cancelled != null && cancelled.getAsBoolean()) {
            throw new GenerationCancelledException("Generation cancelled: its stream or its Synthesizer was closed");
        }
    }

    /** Runs {@code work} on this thread with {@code cancelled} as its request's cancellation flag. */
    public static <T> T during(BooleanSupplier cancelled, Supplier<T> work) {
        BooleanSupplier outer = CANCELLED.get();
        // nested requests (a stream's batch inside a Synthesizer call) stop when either is cancelled
        CANCELLED.set(outer == null ? cancelled : () -> outer.getAsBoolean() || cancelled.getAsBoolean());
        try {
            return work.get();
        } finally {
            if (outer == null) {
                CANCELLED.remove();
            } else {
                CANCELLED.set(outer);
            }
        }
    }
}

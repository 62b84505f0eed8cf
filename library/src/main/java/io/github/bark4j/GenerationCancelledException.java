package io.github.bark4j;

/**
 * A generation stopped before it finished: its thread was interrupted, or the {@code stream} it
 * served was closed. Raised within one decode step of the request; everything the generation held
 * (native arrays, KV caches) is released before it is thrown, and the {@link Synthesizer} stays
 * usable. When the cause is an interrupt, the thread's interrupt flag is left set.
 */
public class GenerationCancelledException extends BarkException {
    private static final long serialVersionUID = 1L;

    public GenerationCancelledException(String message) {
        super(message);
    }
}

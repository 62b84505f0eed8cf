package io.github.bark4j;

/**
 * The engine failed while generating: libtorch reported an error (most often out of memory on the
 * device), or bark4j hit a state it does not expect. The message says what to try; the cause is the
 * engine's own error.
 */
public class GenerationException extends BarkException {
    private static final long serialVersionUID = 1L;

    public GenerationException(String message, Throwable cause) {
        super(message, cause);
    }
}

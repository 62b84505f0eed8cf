package io.github.bark4j;

/**
 * A model folder or weights file is missing, unreadable, or does not match the configuration
 * (unknown keys, missing tensors, wrong shapes or dtypes, malformed headers).
 */
public class ModelLoadException extends BarkException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}

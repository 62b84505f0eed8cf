package io.github.bark4j;

/**
 * Base of every error bark4j reports. Unchecked, so a caller may catch the whole family at once or a
 * subclass for the case it can fix. Messages say what is wrong and what to do about it.
 */
public class BarkException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public BarkException(String message) {
        super(message);
    }

    public BarkException(String message, Throwable cause) {
        super(message, cause);
    }
}

package io.github.bark4j;

/** The caller's text or options cannot be used (blank text, out-of-range option values, ...). */
public class InvalidInputException extends BarkException {
    private static final long serialVersionUID = 1L;

    public InvalidInputException(String message) {
        super(message);
    }
}

package io.github.bark4j;

/** A voice preset is missing, malformed, or holds codes outside the ranges Bark accepts. */
public class InvalidVoiceException extends BarkException {
    private static final long serialVersionUID = 1L;

    public InvalidVoiceException(String message) {
        super(message);
    }

    public InvalidVoiceException(String message, Throwable cause) {
        super(message, cause);
    }
}

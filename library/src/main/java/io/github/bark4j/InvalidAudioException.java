package io.github.bark4j;

/**
 * Audio that cannot be used for voice cloning: a file that is not a WAV (or a WAV encoding bark4j does
 * not read), a malformed or empty WAV, or one whose sample rate or channel count is out of range. The
 * message names the problem and how to fix it, usually with an {@code ffmpeg} command that converts
 * the recording to a WAV bark4j reads.
 */
public class InvalidAudioException extends InvalidInputException {
    private static final long serialVersionUID = 1L;

    public InvalidAudioException(String message) {
        super(message);
    }

    public InvalidAudioException(String message, Throwable cause) {
        super(message);
        initCause(cause);
    }
}

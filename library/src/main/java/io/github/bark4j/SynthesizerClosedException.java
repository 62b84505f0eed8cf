package io.github.bark4j;

/**
 * The {@link Synthesizer} was closed before or during the call. Its native memory is gone: build a
 * new one, and close a synthesizer only once no thread needs it any more.
 */
public class SynthesizerClosedException extends BarkException {
    private static final long serialVersionUID = 1L;

    public SynthesizerClosedException(String message) {
        super(message);
    }
}

package io.github.bark4j;

/** The steps of one synthesis, in order, as reported to a {@link ProgressListener}. */
public enum Stage {
    /** Text to semantic tokens. */
    SEMANTIC,
    /** Semantic tokens to the first two EnCodec codebooks. */
    COARSE,
    /** Two codebooks to all eight. */
    FINE,
    /** Codebooks to audio samples. */
    DECODE
}

package io.github.bark4j.internal.model;

/**
 * Bark's token ranges, shared by the three stages, the codec and the voice presets: semantic tokens
 * are ids 0..9999 (10000 is the semantic model's end-of-sequence and pad), and each EnCodec codebook
 * holds codes 0..1023.
 */
public final class Vocabulary {
    /** Bark's semantic vocabulary: ids 0..9999. */
    public static final int SEMANTIC_SIZE = 10_000;
    /** EnCodec codebook size: codes 0..1023. */
    public static final int CODEBOOK_SIZE = 1024;

    private Vocabulary() {}
}

package io.github.bark4j.internal.audio;

/**
 * How a WAV file stores its samples, named as torchaudio's {@code AudioMetaData.encoding} names them
 * (the tiny-clone fixture's golden.json uses the same names).
 */
public enum SampleEncoding {
    /** Unsigned integer PCM: 8-bit WAV, read as {@code (u - 128) / 128}. */
    PCM_U,
    /** Signed integer PCM: 16, 24 and 32-bit WAV, read as {@code v / 2^(bits - 1)}. */
    PCM_S,
    /** IEEE float, 32 or 64-bit, read as stored. */
    PCM_F
}

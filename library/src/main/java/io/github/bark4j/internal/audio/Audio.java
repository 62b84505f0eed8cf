package io.github.bark4j.internal.audio;

/**
 * Mono audio read from a recording, with what the reader found in the file.
 *
 * @param samples the samples, the mean of the file's channels, in [-1, 1) for integer PCM; not copied
 * @param sampleRate samples per second
 * @param channels how many channels the file had (averaged into {@code samples})
 * @param encoding how the file stored its samples
 * @param bitsPerSample the stored width of one sample (the container size for WAVE_FORMAT_EXTENSIBLE)
 * @param formatTag the fmt chunk's format tag: 1 (PCM), 3 (IEEE float) or 0xFFFE (extensible)
 * @param originalFrames how many frames the whole file holds
 * @param cut whether only the last part of the file was read (the file was longer than asked for)
 */
public record Audio(double[] samples, int sampleRate, int channels, SampleEncoding encoding, int bitsPerSample,
        int formatTag, long originalFrames, boolean cut) {

    public Audio {
        if (sampleRate <= 0) {
            throw new IllegalArgumentException("sampleRate must be positive, got " + sampleRate);
        }
        if (originalFrames < samples.length) {
            throw new IllegalArgumentException(
                    "originalFrames " + originalFrames + " is less than the " + samples.length + " samples kept");
        }
    }

    /** The number of samples kept. */
    public int frames() {
        return samples.length;
    }

    /** The duration of the samples kept. */
    public double seconds() {
        return samples.length / (double) sampleRate;
    }

    /** The duration of the whole file. */
    public double originalSeconds() {
        return originalFrames / (double) sampleRate;
    }
}

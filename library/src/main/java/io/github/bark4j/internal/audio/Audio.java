package io.github.bark4j.internal.audio;

import io.github.bark4j.InvalidAudioException;

import java.util.Locale;

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

    /**
     * Samples a caller already has (32-bit float mono, as {@code Synthesizer.cloneVoice(float[], int)}
     * takes them), held as the reader holds a file's: the last {@code maxSeconds} seconds, checked.
     *
     * @throws InvalidAudioException when there are no samples, one is not finite, or the rate is
     *     outside {@link WavReader#MIN_SAMPLE_RATE}..{@link WavReader#MAX_SAMPLE_RATE}
     */
    public static Audio ofMono(float[] samples, int sampleRate, double maxSeconds) {
        if (sampleRate < WavReader.MIN_SAMPLE_RATE || sampleRate > WavReader.MAX_SAMPLE_RATE) {
            throw new InvalidAudioException("The sample rate is " + sampleRate + " Hz; give audio at "
                    + WavReader.MIN_SAMPLE_RATE + " to " + WavReader.MAX_SAMPLE_RATE + " Hz");
        }
        if (samples.length == 0) {
            throw new InvalidAudioException("No samples: give the recording's mono samples");
        }
        int keep = (int) Math.min(samples.length, Math.floor(maxSeconds * sampleRate));
        int from = samples.length - keep;
        double[] out = new double[keep];
        for (int i = 0; i < keep; i++) {
            float v = samples[from + i];
            if (!Float.isFinite(v)) {
                throw new InvalidAudioException(String.format(Locale.ROOT, "Sample %d (%.3f s) is %s: the samples"
                        + " must be finite, in [-1, 1]", from + i, (from + i) / (double) sampleRate, v));
            }
            out[i] = v;
        }
        return new Audio(out, sampleRate, 1, SampleEncoding.PCM_F, 32, 3, samples.length, from > 0);
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

package io.github.bark4j.internal.cloning;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.InvalidAudioException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Precision;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.Cancellation;
import io.github.bark4j.internal.audio.Audio;
import io.github.bark4j.internal.audio.Resampler;
import io.github.bark4j.internal.model.CodecEncoder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * A Bark voice preset from a recording, the way gitmylo's bark-voice-cloning-HuBERT-quantizer makes it
 * and Coqui TTS wires it (the spec's decision 9; {@code ../shared/fixtures/tiny-clone/README.md} states
 * every step):
 * <ol>
 * <li>the mono recording resampled to 24 kHz ({@link Resampler}, torchaudio's default);
 * <li>its EnCodec codes at 6 kbps ({@link CodecEncoder}): all 8 codebooks are the fine prompt, the
 *     first 2 the coarse prompt;
 * <li>the 24 kHz audio resampled to 16 kHz, HuBERT's layer-9 features ({@link Hubert}), and the
 *     quantizer's token per frame ({@link SemanticQuantizer}): the semantic prompt.
 * </ol>
 * Immutable after loading and safe for concurrent callers; every call's arrays live in its own
 * sub-manager. {@link #close} frees the three models.
 */
public final class VoiceCloner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VoiceCloner.class);

    /**
     * The shortest recording that makes a preset Bark accepts: below about 0.8 s the codec and HuBERT
     * frame counts no longer round to Bark's 1.5 ratio, which the original's {@code generate_coarse}
     * asserts. A voice worth cloning needs several seconds (5 to 30).
     */
    public static final double MIN_SECONDS = 1.0;
    /** The most audio used: longer recordings are cut to their last {@value} seconds. */
    public static final double MAX_SECONDS = 30.0;
    /** Recordings of fewer seconds than this clone, with a warning that the voice may be poor. */
    public static final double SHORT_SECONDS = 3.0;
    /** Below this RMS (about -80 dBFS) a recording is taken for silence. */
    static final double SILENCE_RMS = 1e-4;
    static final int CODEC_RATE = 24_000;
    static final int HUBERT_RATE = 16_000;

    /** The parts of a clone, for timing (benchmarks) and progress. */
    public enum Part {
        RESAMPLE, CODEC_ENCODER, HUBERT, QUANTIZER
    }

    /** Told how long each part of a clone took. */
    @FunctionalInterface
    public interface PartTimes {
        PartTimes NONE = (part, nanos) -> {};

        void onPart(Part part, long nanos);
    }

    /** Who hears of the parts of the clones this thread makes ({@link #observing}); none by default. */
    private static final ThreadLocal<PartTimes> OBSERVER = ThreadLocal.withInitial(() -> PartTimes.NONE);

    /**
     * Runs {@code work} on this thread with {@code times} told the parts of every clone it makes, also
     * through the public {@code Synthesizer.cloneVoice} (which clones on the calling thread): the
     * benchmarks' per-part times of the public call, without a second entry point.
     */
    public static <T> T observing(PartTimes times, Supplier<T> work) {
        PartTimes outer = OBSERVER.get();
        OBSERVER.set(times);
        try {
            return work.get();
        } finally {
            OBSERVER.set(outer);
        }
    }

    private final NDManager manager;
    private final CodecEncoder encoder;
    private final Hubert hubert;
    private final SemanticQuantizer quantizer;

    private VoiceCloner(NDManager manager, CodecEncoder encoder, Hubert hubert, SemanticQuantizer quantizer) {
        this.manager = manager;
        this.encoder = encoder;
        this.hubert = hubert;
        this.quantizer = quantizer;
    }

    /**
     * Loads the three models: the EnCodec encoder of the Bark folder {@code barkDir}, the HuBERT folder
     * and the quantizer file; FP64 when {@code precision} is FP64, FP32 otherwise (BF16 and FP16 clone in
     * FP32).
     *
     * @throws ModelLoadException when a model cannot be read
     */
    public static VoiceCloner load(Path barkDir, Path hubertDir, Path quantizerFile, Precision precision) {
        DataType dtype = precision == Precision.FP64 ? DataType.FLOAT64 : DataType.FLOAT32;
        NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        CodecEncoder encoder = null;
        Hubert hubert = null;
        try {
            encoder = CodecEncoder.load(barkDir, precision == Precision.FP64 ? Precision.FP64 : Precision.FP32,
                    manager);
            hubert = Hubert.load(hubertDir, dtype);
            SemanticQuantizer quantizer = SemanticQuantizer.load(quantizerFile, dtype);
            if (quantizer.inputSize() != hubert.config().hiddenSize()) {
                quantizer.close();
                throw new ModelLoadException("The quantizer " + quantizerFile + " reads features of "
                        + quantizer.inputSize() + " values, but the HuBERT model " + hubertDir + " makes "
                        + hubert.config().hiddenSize() + ": use the quantizer trained on this HuBERT");
            }
            return new VoiceCloner(manager, encoder, hubert, quantizer);
        } catch (RuntimeException e) {
            if (hubert != null) {
                hubert.close();
            }
            if (encoder != null) {
                encoder.close();
            }
            manager.close();
            throw e;
        }
    }

    /** {@link #clone(Audio, PartTimes)}, telling this thread's {@link #observing observer}, if any. */
    public VoicePreset clone(Audio audio) {
        return clone(audio, OBSERVER.get());
    }

    /**
     * The preset of a mono recording (its last {@link #MAX_SECONDS} seconds).
     *
     * @throws InvalidAudioException when the recording is shorter than {@link #MIN_SECONDS} or silent
     * @throws io.github.bark4j.GenerationCancelledException when the calling thread's request is cancelled
     */
    public VoicePreset clone(Audio audio, PartTimes times) {
        double[] samples = lastSeconds(audio.samples(), audio.sampleRate());
        check(samples, audio.sampleRate());
        Cancellation.check();
        long t = System.nanoTime();
        double[] wav24 = Resampler.resample(samples, audio.sampleRate(), CODEC_RATE);
        double[] wav16 = Resampler.resample(wav24, CODEC_RATE, HUBERT_RATE);
        t = lap(times, Part.RESAMPLE, t);
        Cancellation.check();
        int[][] codes = encoder.encode(wav24);
        t = lap(times, Part.CODEC_ENCODER, t);
        Cancellation.check();
        int[] tokens;
        try (NDManager call = manager.newSubManager()) {
            NDArray features = hubert.features(call, wav16);
            t = lap(times, Part.HUBERT, t);
            Cancellation.check();
            tokens = quantizer.tokens(features);
            lap(times, Part.QUANTIZER, t);
        }
        return VoicePreset.of(tokens, Arrays.copyOf(codes, 2), codes);
    }

    private static long lap(PartTimes times, Part part, long start) {
        long now = System.nanoTime();
        times.onPart(part, now - start);
        return now;
    }

    private static double[] lastSeconds(double[] samples, int rate) {
        long max = (long) Math.floor(MAX_SECONDS * rate);
        if (samples.length <= max) {
            return samples;
        }
        LOG.info("Voice cloning uses the last {} s of a {} s recording", MAX_SECONDS,
                String.format(Locale.ROOT, "%.1f", samples.length / (double) rate));
        return Arrays.copyOfRange(samples, samples.length - (int) max, samples.length);
    }

    private static void check(double[] samples, int rate) {
        double seconds = samples.length / (double) rate;
        if (seconds < MIN_SECONDS) {
            throw new InvalidAudioException(String.format(Locale.ROOT, "The recording is %.2f s long; voice cloning"
                    + " needs at least %.0f s of speech (Bark's prompts do not line up below that), and a voice"
                    + " worth cloning 5 to %.0f s", seconds, MIN_SECONDS, MAX_SECONDS));
        }
        double sum = 0;
        for (double s : samples) {
            sum += s * s;
        }
        double rms = Math.sqrt(sum / samples.length);
        if (!(rms >= SILENCE_RMS)) {
            throw new InvalidAudioException(String.format(Locale.ROOT, "The recording is silent (RMS %.1e, below"
                    + " -80 dBFS): record the voice closer to the microphone or check the input level", rms));
        }
        if (seconds < SHORT_SECONDS) {
            LOG.warn("Cloning a voice from {} s of audio; 5 to 30 s of clear speech give a more faithful voice",
                    String.format(Locale.ROOT, "%.1f", seconds));
        }
    }

    /** The compute precision: FP64 or FP32. */
    public DataType dtype() {
        return hubert.dtype();
    }

    @Override
    public void close() {
        quantizer.close();
        hubert.close();
        encoder.close();
        manager.close();
    }
}

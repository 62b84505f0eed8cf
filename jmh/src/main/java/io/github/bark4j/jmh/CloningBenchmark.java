package io.github.bark4j.jmh;

import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.cloning.VoiceCloner;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Voice cloning of {@link #SECONDS} s of speech-like audio through {@code Synthesizer.cloneVoice(Path)}
 * on the real model sizes with random weights: bark-small's EnCodec encoder (24 kHz, 32 filters,
 * 2-layer LSTM of 512), HuBERT base up to layer 9 and the English version-0 quantizer (2-layer LSTM
 * 768 → 1024, fc 1024 → 10000). The recording is a {@value #WAV_RATE} Hz stereo 16-bit WAV, so the
 * WAV reading and both resamplings (to 24 kHz, then 16 kHz) run as for a real upload.
 *
 * <p>The score is the call's wall time. Secondary results ({@link StageTimes}): each part's time
 * from {@link VoiceCloner.PartTimes} (resample, codec encoder, HuBERT, quantizer; "other" is the WAV
 * read, the checks and the preset), the process's CPU time during the call and during each part
 * ({@code <part>-cpu-ms}; the resample's includes the WAV read before it; on a loaded machine wall
 * time overstates the work, CPU time much less so), and the added peak RSS: the call's peak
 * resident set above the resident set before it, with the Bark and cloning models loaded. With
 * {@link PeakMemoryProfiler}, also the absolute peak and the load average.
 *
 * <p>The trial's setup loads the synthesizer and clones 2 s once, which loads the cloning models;
 * then one warm-up and three measured clones.
 */
@BenchmarkMode(Mode.SingleShotTime)
@Fork(1)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class CloningBenchmark {
    static final double SECONDS = 10;
    static final int WAV_RATE = 44_100;
    /** HuBERT frames of 10 s: the quantizer's tokens, the preset's semantic prompt. */
    static final int SEMANTIC_FRAMES = 499;
    /** EnCodec frames of 10 s at 75 Hz: the preset's fine prompt. */
    static final int CODEC_FRAMES = 750;

    /** The loaded synthesizer and the recording. */
    @State(Scope.Benchmark)
    public static class Cloning {
        /** {@link Precision} name; cloning computes in FP64 for FP64 and in FP32 for every other. */
        @Param({"FP32"})
        public String precision;

        /** libtorch intra-op threads; 0 keeps the engine's default (all cores). */
        @Param({"0"})
        public int threads;

        Synthesizer synth;
        Path wav;

        @Setup(Level.Trial)
        public void load() throws IOException {
            if (threads > 0) {
                JniUtils.setNumThreads(threads);
            }
            synth = Synthesizer.builder().modelDir(RandomBarkModel.folder("bark-small"))
                    .precision(Precision.valueOf(precision))
                    .voiceCloning(RandomCloningModels.hubertFolder(), RandomCloningModels.quantizerFile()).build();
            float[][] stereo = speechLike(SECONDS, WAV_RATE, 11);
            wav = Files.createTempFile("bark4j-clone-", ".wav");
            Files.write(wav, wav16(stereo, WAV_RATE));
            // loads the three cloning models and runs every part once, outside the measured calls
            float[] mono = new float[2 * WAV_RATE];
            for (int i = 0; i < mono.length; i++) {
                mono[i] = (stereo[0][i] + stereo[1][i]) / 2;
            }
            synth.cloneVoice(mono, WAV_RATE);
        }

        /** Restarts the peak-RSS count after the setup (see {@link BarkState#resetPeakMemory}). */
        @Setup(Level.Iteration)
        public void resetPeakMemory() {
            PeakMemoryProfiler.resetPeak();
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            if (synth != null) {
                synth.close();
            }
            if (wav != null) {
                Files.deleteIfExists(wav);
            }
        }
    }

    @Benchmark
    @Warmup(iterations = 1)
    @Measurement(iterations = 3)
    public VoicePreset cloneVoice(Cloning c) {
        Map<VoiceCloner.Part, Long> parts = new EnumMap<>(VoiceCloner.Part.class);
        Map<VoiceCloner.Part, Long> partCpu = new EnumMap<>(VoiceCloner.Part.class);
        long rssBeforeKb = PeakMemoryProfiler.statusKb("VmRSS");
        boolean reset = PeakMemoryProfiler.resetPeak();
        long cpu0 = processCpuNanos();
        long[] lastCpu = {cpu0};
        long t0 = System.nanoTime();
        VoicePreset preset = VoiceCloner.observing((part, nanos) -> {
            long cpu = processCpuNanos();
            parts.put(part, nanos);
            partCpu.put(part, cpu - lastCpu[0]);
            lastCpu[0] = cpu;
        }, () -> c.synth.cloneVoice(c.wav));
        long wall = System.nanoTime() - t0;
        long cpu = processCpuNanos() - cpu0;
        long peakKb = PeakMemoryProfiler.statusKb("VmHWM");
        StageBenchmark.expect(preset.semanticPrompt().length, SEMANTIC_FRAMES, "semantic prompt frames");
        StageBenchmark.expect(preset.finePrompt()[0].length, CODEC_FRAMES, "codec frames");
        long known = 0;
        for (Map.Entry<VoiceCloner.Part, Long> e : parts.entrySet()) {
            StageTimes.record(partName(e.getKey()) + "-ms", e.getValue() / 1e6, "ms");
            StageTimes.record(partName(e.getKey()) + "-cpu-ms", partCpu.get(e.getKey()) / 1e6, "ms");
            known += e.getValue();
        }
        StageTimes.record("other-ms", (wall - known) / 1e6, "ms");
        StageTimes.record("cpu-s", cpu / 1e9, "s");
        if (reset && rssBeforeKb >= 0 && peakKb >= 0) {
            StageTimes.record("added-peak-rss", (peakKb - rssBeforeKb) / 1024.0, "MB");
        }
        return preset;
    }

    /** The secondary result's name of a part: "resample", "codec-encoder", "hubert", "quantizer". */
    static String partName(VoiceCloner.Part part) {
        return part.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** CPU time of the whole process (all threads, libtorch's included), or 0 where unavailable. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getProcessCpuTime());
        }
        return 0;
    }

    /**
     * Two channels of a voiced, speech-like signal: harmonics of a pitch that glides between about 95
     * and 180 Hz (intonation and syllable-rate wobble), weighted by three moving formant bumps, an
     * amplitude that rises and falls about four times a second (syllables) with short pauses, and a
     * little breath noise; the right channel is the left one slightly delayed and quieter. Peak about
     * 0.5, deterministic for a seed.
     */
    static float[][] speechLike(double seconds, int rate, long seed) {
        int n = (int) Math.round(seconds * rate);
        SplittableRandom random = new SplittableRandom(seed);
        float[] left = new float[n];
        double phase = 0;
        for (int i = 0; i < n; i++) {
            double t = (double) i / rate;
            double f0 = 135 + 35 * Math.sin(2 * Math.PI * 0.3 * t) + 12 * Math.sin(2 * Math.PI * 4.1 * t);
            phase += 2 * Math.PI * f0 / rate;
            double syllable = Math.sin(Math.PI * ((t * 4.3) % 1.0));
            double envelope = (t % 2.4) < 2.1 ? syllable * syllable : 0; // a pause every 2.4 s
            double f1 = 500 + 250 * Math.sin(2 * Math.PI * 1.7 * t);
            double f2 = 1500 + 500 * Math.sin(2 * Math.PI * 1.1 * t + 1);
            double f3 = 2500;
            double voiced = 0;
            for (int k = 1; k * f0 < 4000; k++) {
                double f = k * f0;
                double gain = formant(f, f1, 120) + 0.6 * formant(f, f2, 180) + 0.3 * formant(f, f3, 250);
                voiced += gain * Math.sin(k * phase) / k;
            }
            left[i] = (float) (0.25 * envelope * voiced + 0.01 * random.nextGaussian());
        }
        float[] right = new float[n];
        int delay = rate / 2000; // half a millisecond
        for (int i = 0; i < n; i++) {
            right[i] = 0.8f * left[Math.max(0, i - delay)];
        }
        return new float[][] {left, right};
    }

    private static double formant(double f, double centre, double width) {
        double x = (f - centre) / width;
        return 1 / (1 + x * x);
    }

    /** A RIFF WAV file of 16-bit PCM, the channels interleaved (clipped to [-1, 1]). */
    static byte[] wav16(float[][] channels, int rate) {
        int frames = channels[0].length;
        int count = channels.length;
        int dataBytes = frames * count * 2;
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + dataBytes);
        b.put("WAVEfmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16);
        b.putShort((short) 1).putShort((short) count).putInt(rate).putInt(rate * count * 2)
                .putShort((short) (count * 2)).putShort((short) 16);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(dataBytes);
        for (int i = 0; i < frames; i++) {
            for (float[] channel : channels) {
                float v = Math.max(-1f, Math.min(1f, channel[i]));
                b.putShort((short) Math.round(v * 32767));
            }
        }
        return b.array();
    }
}

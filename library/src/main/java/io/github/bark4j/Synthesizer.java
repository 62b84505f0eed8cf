package io.github.bark4j;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.internal.audio.Audio;
import io.github.bark4j.internal.audio.WavReader;
import io.github.bark4j.internal.cloning.VoiceCloner;
import io.github.bark4j.internal.cloning.VoiceCloning;
import io.github.bark4j.internal.hub.HubOptions;
import io.github.bark4j.internal.hub.ModelManifest;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.internal.model.Voices;
import io.github.bark4j.internal.pipeline.LongFormRunner;
import io.github.bark4j.internal.pipeline.ModelLifetime;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.internal.pipeline.Utterance;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * Bark text-to-speech: text → semantic tokens → coarse codes → fine codes → 24 kHz audio. Load once,
 * generate many times; {@link #close()} releases all native memory.
 *
 * <p><b>Threads.</b> A synthesizer is thread-safe: any number of threads may call {@code generate},
 * {@link #voice(String)} and the getters at once, and each call gives exactly what it would give alone
 * (its own seed, sampler, KV cache and scratch memory; the weights are shared and only read). No lock
 * is taken per decode step. All calls share libtorch's intra-op thread pool (sized by
 * {@code -Dai.djl.pytorch.num_threads}), so concurrent calls divide the cores rather than multiply
 * them: concurrency raises throughput only while one call leaves cores idle.
 *
 * <p><b>Closing.</b> {@link #close()} lets calls in flight stop at their next step (they throw
 * {@link SynthesizerClosedException}), waits for them at most {@link #CLOSE_WAIT_SECONDS} seconds, then
 * releases the native memory; a call that is still inside a native operation past that bound releases
 * it when it returns. Calls made after {@code close()} throw {@link SynthesizerClosedException}.
 *
 * <p><b>Voices.</b> Presets come from the model ({@link #voice(String)}), from files
 * ({@link VoicePreset#load(Path)}), from an earlier generation ({@link Speech#toVoicePreset()}), or from
 * a recording of anyone speaking ({@link #cloneVoice(Path)}, with {@link Builder#voiceCloning()}).
 *
 * <p><b>Errors.</b> Everything a call throws is a {@link BarkException} (engine failures, including a
 * device out of memory, arrive as {@link GenerationException}), except {@link NullPointerException}
 * for a null argument and {@link IllegalArgumentException} for option values out of range.
 *
 * <pre>{@code
 * try (Synthesizer synth = Synthesizer.builder().modelDir(path).build()) {
 *     synth.generate("Hello there.").writeWav(Path.of("hello.wav"));
 * }
 * }</pre>
 */
public final class Synthesizer implements AutoCloseable {
    private final Pipeline pipeline;
    private final ModelLifetime lifetime;
    private final LongFormRunner runner;
    private final Voices voices;
    /** Null when the builder configured no voice cloning. */
    private final VoiceCloning cloning;

    /** How long {@link #close()} waits for calls in flight to reach their next step and stop. */
    public static final long CLOSE_WAIT_SECONDS = 30;

    /** The most bytes {@link #cloneVoice(InputStream)} reads (a minute of 192 kHz stereo float32 is 92 MB). */
    public static final int MAX_CLONE_STREAM_BYTES = 128 << 20;

    /** The quantizer of {@link Builder#voiceCloning()}: GitMylo's English quantizer for HuBERT base. */
    public static final String DEFAULT_CLONING_QUANTIZER = "GitMylo/bark-voice-cloning";
    /** The HuBERT model every quantizer of the manifest was trained on. */
    static final String CLONING_HUBERT = "facebook/hubert-base-ls960";

    private Synthesizer(Pipeline pipeline, Voices voices, VoiceCloning cloning) {
        this.pipeline = pipeline;
        this.lifetime = new ModelLifetime(pipeline, CLOSE_WAIT_SECONDS);
        this.runner = new LongFormRunner(pipeline, lifetime);
        this.voices = voices;
        this.cloning = cloning;
        if (cloning != null) {
            lifetime.adopt(cloning);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Precision precision() {
        return pipeline.speed().precision();
    }

    /** The attention kernel in use: {@link Attention#EAGER} when SDPA was asked for but is unavailable. */
    public Attention attention() {
        return pipeline.speed().attention();
    }

    /** Whether the semantic and coarse decode steps run as one native call each (see {@link Builder#nativeStep}). */
    public boolean nativeStep() {
        return pipeline.speed().nativeStep();
    }

    public Offload offload() {
        return pipeline.offload();
    }

    /** The compute device, e.g. "cpu()" or "gpu(0)". */
    public String device() {
        return pipeline.device().toString();
    }

    /** Audio sample rate of this model's codec (24000 for Bark). */
    public int sampleRate() {
        return pipeline.sampleRate();
    }

    /** Speaks {@code text} with the default options (sampling, no voice preset). */
    public Speech generate(String text) {
        return generate(text, GenerationOptions.defaults());
    }

    /**
     * Speaks {@code text}, whatever its length. Long text is spoken in segments (see
     * {@link GenerationOptions.Builder#longForm(boolean)}): split at sentence boundaries, packed
     * into segments of at most {@link GenerationOptions#maxSegmentTokens()} tokens, each generated
     * with these options and joined by {@link GenerationOptions#pauseSeconds()} of silence;
     * {@link Speech#segments()} says where each one is. A text that fits in one segment is one
     * generation.
     *
     * <p>One voice throughout: with a voice preset every segment uses it; without one, the first
     * segment's generation ({@link Speech#toVoicePreset()}) is the voice of every later segment.
     * Seeds: segment i samples from {@code seed + i}. So segment i equals
     * {@code generate(segment.text())} with seed {@code seed + i} and that voice. Independent
     * segments run in batches of {@link GenerationOptions#maxBatch()}; greedy results do not depend
     * on the batching.
     *
     * @throws InvalidInputException when the text is blank or has no tokens
     * @throws InvalidVoiceException when the voice does not fit this model
     * @throws GenerationCancelledException when the calling thread is interrupted meanwhile
     */
    public Speech generate(String text, GenerationOptions options) {
        Objects.requireNonNull(options, "options");
        VoicePreset voice = resolveVoice(options);
        return new Speech(runner.speak(text, voice, options, seedOf(options)));
    }

    /**
     * Speaks several texts (same options and voice for all), each with its own length, as
     * {@link #generate(String, GenerationOptions)} would speak it with seed {@code seed + i}: texts
     * that fit in one segment run together in batches of {@link GenerationOptions#maxBatch()}, so in
     * greedy mode every result equals what a single call gives for that text alone.
     */
    public List<Speech> generate(List<String> texts, GenerationOptions options) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(options, "options");
        long seed = seedOf(options);
        long[] seeds = new long[texts.size()];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = seed + i;
        }
        return generate(texts, seeds, options);
    }

    /**
     * Speaks several texts with a seed per text (same options and voice for all): text i is spoken as
     * {@link #generate(String, GenerationOptions)} would speak it with seed {@code seeds[i]}, batched as
     * {@link #generate(List, GenerationOptions)} does, so texts of different requests can share a
     * batch. The seed of {@code options} is ignored.
     */
    public List<Speech> generate(List<String> texts, long[] seeds, GenerationOptions options) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(seeds, "seeds");
        Objects.requireNonNull(options, "options");
        if (texts.isEmpty()) {
            throw new InvalidInputException("texts must not be empty");
        }
        if (seeds.length != texts.size()) {
            throw new InvalidInputException("one seed per text: " + texts.size() + " texts, " + seeds.length
                    + " seeds");
        }
        VoicePreset voice = resolveVoice(options);
        return runner.speakAll(texts, seeds, voice, options).stream().map(Speech::new).toList();
    }

    /**
     * Speaks {@code text} segment by segment, lazily: each element is one segment's speech, in
     * order, generated when the stream asks for it. The first segment runs alone, so its audio comes
     * as soon as one generation is done; later ones run in batches as in
     * {@link #generate(String, GenerationOptions)}. The elements, joined with
     * {@link GenerationOptions#pauseSeconds()} of silence, are exactly what {@code generate} gives for
     * the same text and options (greedy, or with a seed: segment i samples from {@code seed + i}).
     *
     * <p>The text is checked and split now (bad input fails here). Close the stream (try-with-resources)
     * when stopping early: a generation still running for it, on any thread, then stops within one
     * decode step with {@link GenerationCancelledException}, and nothing it allocated remains.
     * Between elements the stream holds no native memory.
     *
     * @throws InvalidInputException when the text is blank or has no tokens
     */
    public Stream<Speech> stream(String text, GenerationOptions options) {
        Objects.requireNonNull(options, "options");
        VoicePreset voice = resolveVoice(options);
        AtomicBoolean closed = new AtomicBoolean();
        Iterator<Utterance> segments = runner.segments(text, voice, options, seedOf(options), closed::get);
        return StreamSupport.stream(Spliterators.spliteratorUnknownSize(segments,
                Spliterator.ORDERED | Spliterator.NONNULL), false).map(Speech::new).onClose(() -> closed.set(true));
    }

    private static long seedOf(GenerationOptions o) {
        return o.seed() != null ? o.seed() : new SecureRandom().nextLong();
    }

    /** Fine codes (K, T) → audio samples. */
    float[] decode(NDManager manager, int[][] fine) {
        return pipeline.decode(manager, fine);
    }

    /** Whitespace-normalized token ids, cut to 256 with a warning. */
    long[] tokenize(String text, List<String> warnings) {
        return pipeline.tokenize(text, warnings);
    }

    private VoicePreset resolveVoice(GenerationOptions o) {
        if (o.voice() != null) {
            return o.voice();
        }
        if (o.voiceName() != null) {
            return voices.load(o.voiceName());
        }
        return null;
    }

    /** Whether this synthesizer was built with {@link Builder#voiceCloning voice cloning}. */
    public boolean canCloneVoices() {
        return cloning != null;
    }

    /**
     * A voice preset from a recording: the voice of the person speaking in it, for
     * {@link GenerationOptions.Builder#voice(VoicePreset)} and {@link VoicePreset#save(Path)} (an
     * {@code .npz} that the original Bark also loads). The recording is a WAV file (RIFF; PCM 8, 16, 24
     * or 32-bit, IEEE float 32 or 64, also {@code WAVE_FORMAT_EXTENSIBLE}; 1 to 8 channels, averaged;
     * 8 to 192 kHz). It should hold {@value VoiceCloner#MIN_SECONDS} s of speech at least, 5 to
     * {@value VoiceCloner#MAX_SECONDS} s ideally; only its last {@value VoiceCloner#MAX_SECONDS} s are
     * used. The first call loads the cloning models (and downloads them for hub models).
     *
     * <p>Thread-safe and cancellable as {@code generate} is. FP64 reproduces the original cloning
     * code exactly; every other precision clones in FP32.
     *
     * @throws InvalidAudioException when the file is not a WAV the library reads (the message names the
     *     formats that work), holds no samples, is too short, or is silent
     * @throws BarkException when the synthesizer was built without voice cloning
     * @throws ModelLoadException when a cloning model cannot be downloaded or read
     */
    public VoicePreset cloneVoice(Path audioFile) {
        Objects.requireNonNull(audioFile, "audioFile");
        VoiceCloning c = requireCloning();
        Audio audio = WavReader.read(audioFile, VoiceCloner.MAX_SECONDS);
        return lifetime.whileOpen(() -> c.clone(audio));
    }

    /**
     * A voice preset from WAV bytes read from {@code wav} (an upload, a resource; not closed), at most
     * {@value #MAX_CLONE_STREAM_BYTES} bytes; see {@link #cloneVoice(Path)}.
     *
     * @throws InvalidAudioException when the bytes are not a WAV the library reads or are too many
     */
    public VoicePreset cloneVoice(InputStream wav) {
        Objects.requireNonNull(wav, "wav");
        VoiceCloning c = requireCloning();
        byte[] bytes;
        try {
            bytes = wav.readNBytes(MAX_CLONE_STREAM_BYTES + 1);
        } catch (IOException e) {
            throw new InvalidAudioException("Cannot read the audio stream: " + e.getMessage(), e);
        }
        if (bytes.length > MAX_CLONE_STREAM_BYTES) {
            throw new InvalidAudioException("The audio stream is longer than " + MAX_CLONE_STREAM_BYTES + " bytes;"
                    + " voice cloning uses " + VoiceCloner.MAX_SECONDS + " s at most: send a shorter recording");
        }
        Audio audio = WavReader.read(bytes, "the audio stream", VoiceCloner.MAX_SECONDS);
        return lifetime.whileOpen(() -> c.clone(audio));
    }

    /**
     * A voice preset from mono samples in [-1, 1] at {@code sampleRate} Hz (8 to 192 kHz); see
     * {@link #cloneVoice(Path)}.
     *
     * @throws InvalidAudioException when the samples are too few, not finite, or silent, or the rate
     *     is out of range
     */
    public VoicePreset cloneVoice(float[] monoSamples, int sampleRate) {
        Objects.requireNonNull(monoSamples, "monoSamples");
        VoiceCloning c = requireCloning();
        Audio audio = Audio.ofMono(monoSamples, sampleRate, VoiceCloner.MAX_SECONDS);
        return lifetime.whileOpen(() -> c.clone(audio));
    }

    private VoiceCloning requireCloning() {
        if (cloning == null) {
            throw new BarkException("Voice cloning is not configured: build the Synthesizer with voiceCloning()"
                    + " (downloads HuBERT base and the English quantizer on first use) or"
                    + " voiceCloning(hubertDir, quantizerFile)");
        }
        return cloning;
    }

    /** The preset names this model offers (e.g. "v2/en_speaker_6"), sorted; empty when it has none. */
    public List<String> availableVoices() {
        return voices.names();
    }

    /**
     * Loads a named preset of this model (from its {@code speaker_embeddings}, downloading it once
     * for a hub model).
     *
     * @throws InvalidVoiceException when there is no such preset
     */
    public VoicePreset voice(String name) {
        return voices.load(name);
    }

    BarkModel model() {
        return pipeline.model();
    }

    /**
     * Releases the model's native memory. Calls in flight stop at their next step with
     * {@link SynthesizerClosedException}; this waits for them at most {@link #CLOSE_WAIT_SECONDS}
     * seconds, and if one is still inside a native operation by then, that call releases the memory
     * when it returns. Idempotent; never waits longer than the bound.
     */
    @Override
    public void close() {
        lifetime.close();
    }

    /** Configures and loads a {@link Synthesizer}. */
    public static final class Builder {
        private Path modelDir;
        private String modelId;
        private ModelHub hub;
        private final ModelHub.Builder hubBuilder = ModelHub.builder();
        private Precision precision = Precision.FP32;
        private Attention attention = Attention.SDPA;
        private boolean nativeStep = true;
        private Offload offload = Offload.NONE;
        private String device;
        private Path cloningHubertDir;
        private Path cloningQuantizerFile;
        private String cloningQuantizerModel;

        private Builder() {}

        /** A local Bark model folder in the Hugging Face layout (config.json, tokenizer.json, weights). */
        public Builder modelDir(Path dir) {
            this.modelDir = Objects.requireNonNull(dir, "dir");
            this.modelId = null;
            return this;
        }

        /**
         * A model of the manifest ("suno/bark-small", "suno/bark"): downloaded once into the cache,
         * verified against its pinned SHA-256, then used offline.
         */
        public Builder model(String id) {
            this.modelId = Objects.requireNonNull(id, "id");
            this.modelDir = null;
            return this;
        }

        /** Cache folder for {@link #model(String)} downloads (default ~/.cache/bark4j). */
        public Builder cacheDir(Path dir) {
            hubBuilder.cacheDir(Objects.requireNonNull(dir, "dir"));
            return this;
        }

        /**
         * Forbids (true) or allows (false) network access: model files come from the cache only, and
         * DJL is kept from downloading native libraries unless its own {@code ai.djl.offline} says
         * otherwise. Default: {@code -Dbark4j.offline}, {@code BARK4J_OFFLINE}, {@code HF_HUB_OFFLINE}.
         */
        public Builder offline(boolean offline) {
            hubBuilder.offline(offline);
            return this;
        }

        public Builder downloadListener(DownloadListener listener) {
            hubBuilder.listener(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** A fully configured hub (cache, endpoint, offline, listener) for {@link #model(String)}. */
        public Builder hub(ModelHub hub) {
            this.hub = Objects.requireNonNull(hub, "hub");
            return this;
        }

        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /**
         * Attention kernel; {@link Attention#SDPA} (libtorch's fused kernel) by default, which falls
         * back to {@link Attention#EAGER} (the reference) where the native bridge cannot load.
         */
        public Builder attention(Attention attention) {
            this.attention = Objects.requireNonNull(attention, "attention");
            return this;
        }

        /**
         * Whether the semantic and coarse decode steps run as one native call each, with bark4j's
         * small-batch kernels (default true; used on the CPU with the native bridge, FP32, FP64 or
         * BF16, no offload). False selects the Java reference path.
         */
        public Builder nativeStep(boolean enabled) {
            this.nativeStep = enabled;
            return this;
        }

        /** Weight residency; {@link Offload#NONE} by default. */
        public Builder offload(Offload offload) {
            this.offload = Objects.requireNonNull(offload, "offload");
            return this;
        }

        /**
         * Voice cloning ({@link Synthesizer#cloneVoice(Path)}) with local models: a HuBERT folder in the
         * Hugging Face layout ({@code config.json} and {@code model.safetensors} or
         * {@code pytorch_model.bin}, e.g. facebook/hubert-base-ls960) and a quantizer {@code .pth} of
         * gitmylo's bark-voice-cloning-HuBERT-quantizer (version 0 or 1; or its tensors in a file named
         * {@code *.safetensors}). The Bark model must be a full
         * checkpoint, with its EnCodec encoder (suno/bark-small and suno/bark are).
         */
        public Builder voiceCloning(Path hubertDir, Path quantizerFile) {
            this.cloningHubertDir = Objects.requireNonNull(hubertDir, "hubertDir");
            this.cloningQuantizerFile = Objects.requireNonNull(quantizerFile, "quantizerFile");
            this.cloningQuantizerModel = null;
            return this;
        }

        /**
         * Voice cloning with models of the manifest: HuBERT base ({@code facebook/hubert-base-ls960})
         * and the quantizer model {@code quantizerModel} ({@value #DEFAULT_CLONING_QUANTIZER} for
         * English, {@code CountFloyd/bark-voice-cloning-german-HuBERT-quantizer},
         * {@code Hobis/bark-voice-cloning-polish-HuBERT-quantizer}), downloaded into the cache and
         * verified on the first clone, with this builder's cache, offline and listener settings.
         */
        public Builder voiceCloning(String quantizerModel) {
            this.cloningQuantizerModel = Objects.requireNonNull(quantizerModel, "quantizerModel");
            this.cloningHubertDir = null;
            this.cloningQuantizerFile = null;
            return this;
        }

        /** {@link #voiceCloning(String)} with the English quantizer, {@value #DEFAULT_CLONING_QUANTIZER}. */
        public Builder voiceCloning() {
            return voiceCloning(DEFAULT_CLONING_QUANTIZER);
        }

        /** DJL device name such as "cpu" or "gpu0"; default: the engine's default device. */
        public Builder device(String name) {
            this.device = Objects.requireNonNull(name, "name");
            return this;
        }

        /**
         * Loads the model.
         *
         * @throws ModelLoadException when the folder, config, weights or tokenizer cannot be used
         */
        public Synthesizer build() {
            if (modelDir == null && modelId == null) {
                throw new InvalidInputException("Set modelDir(path) to a Bark model folder or model(\"suno/bark-small\")");
            }
            Path dir = modelDir;
            Voices voices;
            ModelHub h = hub != null ? hub : modelId != null || cloningQuantizerModel != null ? hubBuilder.build() : null;
            if (modelId != null) {
                if (h.kind(modelId) != ModelManifest.Kind.BARK) {
                    throw new ModelLoadException("'" + modelId + "' is a voice-cloning model ("
                            + h.kind(modelId).manifestName() + "), not a Bark model: give it to voiceCloning(...) and"
                            + " a Bark model such as suno/bark-small to model(...)");
                }
                dir = h.resolve(modelId);
                String id = modelId;
                voices = new Voices(dir, relative -> h.resolveFile(id, relative));
            } else {
                voices = new Voices(dir, dir::resolve);
                Boolean offline = hubBuilder.offlineSetting();
                if (offline != null ? offline : HubOptions.offlineByDefault(System::getProperty, System::getenv)) {
                    HubOptions.extendOfflineToDjl(System::getenv);
                }
            }
            Supplier<VoiceCloning.ModelFiles> cloningFiles = cloningFiles(h);
            Pipeline pipeline = Pipeline.load(dir, precision, attention, nativeStep, offload, device);
            VoiceCloning cloning = cloningFiles == null ? null
                    : new VoiceCloning(dir, pipeline.speed().precision(), cloningFiles);
            return new Synthesizer(pipeline, voices, cloning);
        }

        /** Where the cloning models come from, checked now and found at the first clone; null for none. */
        private Supplier<VoiceCloning.ModelFiles> cloningFiles(ModelHub h) {
            if (cloningHubertDir != null) {
                if (!Files.isDirectory(cloningHubertDir)) {
                    throw new ModelLoadException("HuBERT folder not found: " + cloningHubertDir);
                }
                if (!Files.isRegularFile(cloningQuantizerFile)) {
                    throw new ModelLoadException("Quantizer file not found: " + cloningQuantizerFile);
                }
                VoiceCloning.ModelFiles files = new VoiceCloning.ModelFiles(cloningHubertDir, cloningQuantizerFile);
                return () -> files;
            }
            if (cloningQuantizerModel == null) {
                return null;
            }
            String quantizer = cloningQuantizerModel;
            if (h.kind(quantizer) != ModelManifest.Kind.SEMANTIC_QUANTIZER) {
                throw new ModelLoadException("'" + quantizer + "' is not a voice-cloning quantizer of the manifest"
                        + " (it is a " + h.kind(quantizer).manifestName() + " model); quantizers: "
                        + String.join(", ", ModelHub.knownModels(ModelManifest.Kind.SEMANTIC_QUANTIZER)));
            }
            return () -> new VoiceCloning.ModelFiles(h.resolve(CLONING_HUBERT), h.resolveSingleFile(quantizer));
        }
    }
}

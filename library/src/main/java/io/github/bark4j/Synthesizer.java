package io.github.bark4j;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.pytorch.jni.JniUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Bark text-to-speech: text → semantic tokens → coarse codes → fine codes → 24 kHz audio. Load once,
 * generate many times; {@link #close()} releases all native memory. Calls may run concurrently.
 *
 * <pre>{@code
 * try (Synthesizer synth = Synthesizer.builder().modelDir(path).build()) {
 *     synth.generate("Hello there.").writeWav(Path.of("hello.wav"));
 * }
 * }</pre>
 */
public final class Synthesizer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Synthesizer.class);

    private final BarkModel model;
    private final Precision precision;
    private final Attention attention;
    private final Offload offload;
    private final Device device;
    private final Voices voices;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private Synthesizer(BarkModel model, Precision precision, Attention attention, Offload offload, Device device,
            Voices voices) {
        this.model = model;
        this.precision = precision;
        this.attention = attention;
        this.offload = offload;
        this.device = device;
        this.voices = voices;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Precision precision() {
        return precision;
    }

    /** The attention kernel in use: {@link Attention#EAGER} when SDPA was asked for but is unavailable. */
    public Attention attention() {
        return attention;
    }

    public Offload offload() {
        return offload;
    }

    /** The compute device, e.g. "cpu()" or "gpu(0)". */
    public String device() {
        return device.toString();
    }

    /** Audio sample rate of this model's codec (24000 for Bark). */
    public int sampleRate() {
        return model.config.codec().samplingRate();
    }

    /** Speaks {@code text} with the default options (sampling, no voice preset). */
    public Speech generate(String text) {
        return generate(text, GenerationOptions.defaults());
    }

    /**
     * Speaks {@code text}.
     *
     * @throws InvalidInputException when the text is blank or has no tokens
     * @throws InvalidVoiceException when the voice does not fit this model
     */
    public Speech generate(String text, GenerationOptions options) {
        return generate(java.util.Collections.singletonList(text), options).get(0);
    }

    /**
     * Speaks several texts in one batch (same options and voice for all), each with its own length.
     * In greedy mode every result equals what {@link #generate(String, GenerationOptions)} gives for
     * that text alone; with a seed, row i samples as a single call with seed + i would.
     */
    public List<Speech> generate(List<String> texts, GenerationOptions options) {
        Objects.requireNonNull(texts, "texts");
        Objects.requireNonNull(options, "options");
        long seed = options.seed() != null ? options.seed() : new SecureRandom().nextLong();
        long[] seeds = new long[texts.size()];
        for (int b = 0; b < seeds.length; b++) {
            seeds[b] = seed + b;
        }
        return generate(texts, seeds, options);
    }

    /**
     * Speaks several texts in one batch with a seed per row (same options and voice for all): row i
     * equals what {@link #generate(String, GenerationOptions)} gives for its text with seed
     * {@code seeds[i]}, whatever the other rows, so rows from different requests can share a batch.
     * The seed of {@code options} is ignored.
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
        int batch = texts.size();
        VoicePreset voice = resolveVoice(options);
        Sampler[] samplers = new Sampler[batch];
        for (int b = 0; b < batch; b++) {
            samplers[b] = new Sampler(seeds[b]);
        }
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            // the tokenizer is native: use it only while the model is open and cannot be closed
            long[][] textIds = new long[batch][];
            List<List<String>> warnings = new ArrayList<>();
            boolean[] truncated = new boolean[batch];
            for (int b = 0; b < batch; b++) {
                List<String> w = new ArrayList<>();
                textIds[b] = tokenize(texts.get(b), w);
                truncated[b] = !w.isEmpty(); // tokenize warns only when it cuts
                warnings.add(w);
            }
            return withoutGrad(() -> run(textIds, voice, options, samplers, warnings, truncated));
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Runs {@code work} with autograd off. PyTorch's grad mode belongs to the thread, and DJL turns it off
     * only on the thread that starts the engine: on any other thread (a pool, a Spark task) ops would
     * record autograd graphs, and the codec's LSTM would take another kernel and give slightly different
     * audio than the same call on the first thread.
     */
    private static <T> T withoutGrad(java.util.function.Supplier<T> work) {
        boolean grad = JniUtils.isGradMode();
        if (grad) {
            JniUtils.setGradMode(false);
        }
        try {
            return work.get();
        } finally {
            if (grad) {
                JniUtils.setGradMode(true);
            }
        }
    }

    private List<Speech> run(long[][] textIds, VoicePreset voice, GenerationOptions o, Sampler[] samplers,
            List<List<String>> warnings, boolean[] truncated) {
        int batch = textIds.length;
        try (NDManager request = model.manager().newSubManager(device); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            int[][] semantic;
            try (Resident<Gpt> gpt = resident(model.semantic, request)) {
                semantic = Semantic.generate(gpt.value, gpt.manager, textIds, voice, o, samplers);
            }
            // rows whose semantic stage ended at once have nothing to speak
            int[] speaking = java.util.stream.IntStream.range(0, batch).filter(b -> semantic[b].length > 0).toArray();
            int books = model.config.fine().nCodesTotal();
            int[][][] coarse = new int[batch][][];
            int[][][] fine = new int[batch][][];
            float[][] audio = new float[batch][];
            for (int b = 0; b < batch; b++) {
                coarse[b] = new int[Coarse.CODEBOOKS][0];
                fine[b] = new int[books][0];
                audio[b] = new float[0];
                if (semantic[b].length == 0) {
                    warnings.get(b).add("The semantic model ended the utterance at once (EOS first): no audio.");
                }
            }
            if (speaking.length > 0) {
                int[][] sem = new int[speaking.length][];
                Sampler[] s = new Sampler[speaking.length];
                for (int i = 0; i < speaking.length; i++) {
                    sem[i] = semantic[speaking[i]];
                    s[i] = samplers[speaking[i]];
                }
                int[][][] c;
                try (Resident<Gpt> gpt = resident(model.coarse, request)) {
                    c = Coarse.generate(gpt.value, gpt.manager, sem, voice, o, s);
                }
                int[][][] f;
                try (Resident<Gpt> gpt = resident(model.fine, request)) {
                    f = Fine.generate(gpt.value, gpt.manager, c, voice, o, s);
                }
                try (Resident<CodecDecoder> codec = residentCodec(request)) {
                    for (int i = 0; i < speaking.length; i++) {
                        // each row alone: the LSTM must not see another row's padding
                        coarse[speaking[i]] = c[i];
                        fine[speaking[i]] = f[i];
                        audio[speaking[i]] = decode(codec.value, codec.manager, f[i]);
                    }
                }
                o.progress().onProgress(Stage.DECODE, 1, 1);
            }
            List<Speech> out = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                out.add(new Speech(audio[b], sampleRate(), semantic[b], coarse[b], fine[b], warnings.get(b),
                        truncated[b]));
            }
            return out;
        }
    }

    /** A stage's weights made resident on the compute device for the duration of a try block. */
    private static final class Resident<T> implements AutoCloseable {
        final T value;
        final NDManager manager;
        private final boolean owned;

        Resident(T value, NDManager manager, boolean owned) {
            this.value = value;
            this.manager = manager;
            this.owned = owned;
        }

        @Override
        public void close() {
            if (owned) {
                manager.close();
            }
        }
    }

    private Resident<Gpt> resident(Gpt gpt, NDManager request) {
        if (offload == Offload.NONE) {
            return new Resident<>(gpt, request, false);
        }
        NDManager stage = request.newSubManager(device);
        return new Resident<>(new Gpt(gpt.config(), gpt.weights().copyTo(stage), gpt.attention()), stage, true);
    }

    private Resident<CodecDecoder> residentCodec(NDManager request) {
        if (offload == Offload.NONE) {
            return new Resident<>(model.codec, request, false);
        }
        NDManager stage = request.newSubManager(device);
        return new Resident<>(model.codec.copyTo(stage), stage, true);
    }

    /** Fine codes (K, T) → audio samples. */
    float[] decode(NDManager manager, int[][] fine) {
        return decode(model.codec, manager, fine);
    }

    private static float[] decode(CodecDecoder codec, NDManager manager, int[][] fine) {
        int books = fine.length;
        int frames = fine[0].length;
        long[] flat = new long[books * frames];
        for (int k = 0; k < books; k++) {
            for (int t = 0; t < frames; t++) {
                flat[k * frames + t] = fine[k][t];
            }
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray audio = codec.decode(Tensors.ids(manager, flat, 1, books, frames));
            double[] values = Tensors.toDoubles(audio);
            float[] out = new float[values.length];
            for (int i = 0; i < values.length; i++) {
                out[i] = (float) values[i];
            }
            return out;
        }
    }

    /** Whitespace-normalized token ids, cut to 256 with a warning. */
    long[] tokenize(String text, List<String> warnings) {
        if (text == null) {
            throw new InvalidInputException("text must not be null");
        }
        String normalized = TextTokenizer.normalizeWhitespace(text);
        if (normalized.isEmpty()) {
            throw new InvalidInputException("text is blank: give at least one word to speak");
        }
        long[] ids = model.tokenizer.encode(normalized);
        if (ids.length == 0) {
            throw new InvalidInputException("text has no tokens the model knows: '" + abbreviate(normalized) + "'");
        }
        if (ids.length > Semantic.TEXT_SLOTS) {
            String msg = String.format("Text has %d tokens; only the first %d (%.0f%%) are spoken."
                    + " Split long text into sentences and generate each.", ids.length, Semantic.TEXT_SLOTS,
                    100.0 * Semantic.TEXT_SLOTS / ids.length);
            LOG.warn(msg);
            warnings.add(msg);
            ids = Arrays.copyOf(ids, Semantic.TEXT_SLOTS);
        }
        return ids;
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

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("This Synthesizer is closed");
        }
    }

    BarkModel model() {
        return model;
    }

    /** Releases the model's native memory; waits for running generations to finish. Idempotent. */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (!closed) {
                closed = true;
                model.close();
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    /** Configures and loads a {@link Synthesizer}. */
    public static final class Builder {
        private Path modelDir;
        private String modelId;
        private ModelHub hub;
        private final ModelHub.Builder hubBuilder = ModelHub.builder();
        private Precision precision = Precision.FP32;
        private Attention attention = Attention.EAGER;
        private Offload offload = Offload.NONE;
        private String device;

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

        /** Attention kernel; {@link Attention#EAGER} (the reference) by default. */
        public Builder attention(Attention attention) {
            this.attention = Objects.requireNonNull(attention, "attention");
            return this;
        }

        /** Weight residency; {@link Offload#NONE} by default. */
        public Builder offload(Offload offload) {
            this.offload = Objects.requireNonNull(offload, "offload");
            return this;
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
            if (modelId != null) {
                ModelHub h = hub != null ? hub : hubBuilder.build();
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
            Engine engine = Engine.getEngine("PyTorch");
            Device dev = device == null ? engine.defaultDevice() : Device.fromName(device, engine);
            Attention effective = attention;
            if (attention == Attention.SDPA && !NativeOps.isAvailable()) {
                LOG.warn("SDPA attention needs bark4j's native bridge, which is unavailable ({}); using EAGER",
                        NativeOps.unavailableReason());
                effective = Attention.EAGER;
            }
            AttentionKernel kernel = effective == Attention.SDPA ? AttentionKernel.SDPA : AttentionKernel.EAGER;
            boolean nativeConv = NativeOps.isAvailable() && !dev.isGpu();
            Device weights = offload == Offload.PER_STAGE ? Device.cpu() : dev;
            BarkModel model = BarkModel.load(dir, precision, weights, kernel, nativeConv);
            LOG.debug("Loaded Bark model from {} ({}, {}, {}, offload {})", dir, precision, effective, dev, offload);
            return new Synthesizer(model, precision, effective, offload, dev, voices);
        }
    }
}

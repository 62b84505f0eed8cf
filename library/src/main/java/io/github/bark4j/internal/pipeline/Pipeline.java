package io.github.bark4j.internal.pipeline;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import io.github.bark4j.Attention;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.Cancellation;
import io.github.bark4j.internal.model.AttentionKernel;
import io.github.bark4j.internal.model.BarkConfig;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.internal.model.CodecDecoder;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.internal.model.Vocabulary;
import io.github.bark4j.internal.nativ.NativeOps;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * One Bark generation for a batch of texts: tokenize, semantic, coarse, fine, decode, with each
 * stage's weights made resident as the offload mode says. Single texts, batches, long-form text and
 * streams all come through {@link #generate}; the facade above only resolves options and guards the
 * model's lifetime. Every native array of a call lives in its request manager, closed before the
 * call returns or throws.
 */
public final class Pipeline implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Pipeline.class);

    private final BarkModel model;
    private final SpeedChoice speed;
    private final Device device;
    private final Offload offload;

    private Pipeline(BarkModel model, SpeedChoice speed, Device device, Offload offload) {
        this.model = model;
        this.speed = speed;
        this.device = device;
        this.offload = offload;
    }

    /**
     * Loads the Bark model folder {@code dir} with the fastest of the asked-for paths that this
     * process can run ({@link SpeedChoice}; what had to be replaced is logged as a warning).
     *
     * @param deviceName a DJL device name such as "cpu" or "gpu0", or null for the engine's default
     * @throws io.github.bark4j.ModelLoadException when the engine, folder, config, weights or tokenizer
     *     cannot be used
     */
    public static Pipeline load(Path dir, Precision precision, Attention attention, boolean nativeStep,
            Offload offload, String deviceName) {
        Engine engine;
        try {
            engine = Engine.getEngine("PyTorch");
        } catch (RuntimeException e) {
            throw new ModelLoadException("DJL's PyTorch engine is unavailable (" + e.getMessage() + "): add"
                    + " ai.djl.pytorch:pytorch-native-cpu (or a GPU build) and pytorch-jni to the classpath", e);
        }
        Device dev = deviceName == null ? engine.defaultDevice() : Device.fromName(deviceName, engine);
        SpeedChoice choice = SpeedChoice.resolve(precision, attention, nativeStep, offload,
                NativeOps.isAvailable(), NativeOps.unavailableReason(), dev.isGpu());
        choice.notes().forEach(LOG::warn);
        AttentionKernel kernel = choice.attention() == Attention.SDPA ? AttentionKernel.SDPA : AttentionKernel.EAGER;
        Device weights = offload == Offload.PER_STAGE ? Device.cpu() : dev;
        BarkModel model;
        try {
            BarkConfig config = BarkModel.readConfig(dir);
            checkLayout(config);
            model = BarkModel.load(dir, config, choice.precision(), weights, kernel, choice.nativeConv(),
                    choice.nativeStep());
        } catch (RuntimeException e) {
            throw Failures.duringLoad(e, dir);
        }
        LOG.debug("Loaded Bark model from {} ({}, {}, native step {}, {}, offload {})", dir, choice.precision(),
                choice.attention(), choice.nativeStep(), dev, offload);
        return new Pipeline(model, choice, dev, offload);
    }

    /**
     * The token layout the stages assume (vocabulary offsets, prompt and window lengths) must fit the
     * model's configured vocabularies and block sizes; checked before any weight is read.
     */
    static void checkLayout(BarkConfig c) {
        need(c.semantic().inputVocabSize() >= Semantic.INFER_TOKEN + 1, "semantic input_vocab_size must be at least "
                + (Semantic.INFER_TOKEN + 1));
        need(c.semantic().outputVocabSize() > Semantic.EOS, "semantic output_vocab_size must exceed " + Semantic.EOS);
        need(c.semantic().blockSize() >= Semantic.PROMPT_LENGTH + 1, "semantic block_size must be at least "
                + (Semantic.PROMPT_LENGTH + 1));
        need(c.coarse().inputVocabSize() > Coarse.INFER_TOKEN, "coarse input_vocab_size must exceed " + Coarse.INFER_TOKEN);
        need(c.coarse().outputVocabSize() >= Coarse.CODES_END, "coarse output_vocab_size must be at least "
                + Coarse.CODES_END);
        need(c.coarse().blockSize() >= Coarse.MAX_PROMPT + Coarse.WINDOW, "coarse block_size must be at least "
                + (Coarse.MAX_PROMPT + Coarse.WINDOW));
        need(c.fine().inputVocabSize() > Vocabulary.CODEBOOK_SIZE, "fine input_vocab_size must exceed "
                + Vocabulary.CODEBOOK_SIZE);
        need(c.fine().outputVocabSize() >= Vocabulary.CODEBOOK_SIZE, "fine output_vocab_size must be at least "
                + Vocabulary.CODEBOOK_SIZE);
        need(c.fine().nCodesTotal() > Coarse.CODEBOOKS, "fine n_codes_total must exceed " + Coarse.CODEBOOKS);
        need(c.fine().nCodesGiven() >= 1 && c.fine().nCodesGiven() <= Coarse.CODEBOOKS,
                "fine n_codes_given must be 1 or 2");
        need(c.fine().blockSize() >= Fine.WINDOW, "fine block_size must be at least " + Fine.WINDOW);
        need(c.codec().codebookSize() == Vocabulary.CODEBOOK_SIZE, "codec codebook_size must be "
                + Vocabulary.CODEBOOK_SIZE);
    }

    private static void need(boolean ok, String what) {
        if (!ok) {
            throw new ModelLoadException("config.json does not fit Bark's token layout: " + what);
        }
    }

    /** The loaded model (the weights are shared by every call and only read). */
    public BarkModel model() {
        return model;
    }

    /** The fast paths in use. */
    public SpeedChoice speed() {
        return speed;
    }

    /** The compute device. */
    public Device device() {
        return device;
    }

    public Offload offload() {
        return offload;
    }

    /** Audio sample rate of the model's codec (24000 for Bark). */
    public int sampleRate() {
        return model.config.codec().samplingRate();
    }

    /** Tokens of whitespace-normalized text, uncut (for measuring segments). */
    public int countTokens(String normalized) {
        return model.tokenizer.encode(normalized).length;
    }

    /** Whitespace-normalized token ids, cut to 256 with a warning. */
    public long[] tokenize(String text, List<String> warnings) {
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
                    + " Long-form generation (the default) speaks all of it.", ids.length, Semantic.TEXT_SLOTS,
                    100.0 * Semantic.TEXT_SLOTS / ids.length);
            LOG.warn(msg);
            warnings.add(msg);
            ids = Arrays.copyOf(ids, Semantic.TEXT_SLOTS);
        }
        return ids;
    }

    /**
     * One generation per text, all texts in one batch with the same voice; row i samples from
     * {@code seeds[i]}. Each result has one segment: its whole (normalized) text. Callers turn
     * libtorch's per-thread grad mode off first.
     */
    public List<Utterance> generate(List<String> texts, VoicePreset voice, GenerationOptions o, long[] seeds) {
        int batch = texts.size();
        long[][] textIds = new long[batch][];
        List<List<String>> warnings = new ArrayList<>();
        boolean[] truncated = new boolean[batch];
        String[] spoken = new String[batch];
        Sampler[] samplers = new Sampler[batch];
        for (int b = 0; b < batch; b++) {
            List<String> w = new ArrayList<>();
            textIds[b] = tokenize(texts.get(b), w);
            truncated[b] = !w.isEmpty(); // tokenize warns only when it cuts
            warnings.add(w);
            spoken[b] = TextTokenizer.normalizeWhitespace(texts.get(b));
            samplers[b] = new Sampler(seeds[b]);
        }
        Cancellation.check();
        try (NDManager request = model.manager().newSubManager(device); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            int[][] semantic;
            try (Resident<Gpt> gpt = resident(model.semantic, request)) {
                semantic = Semantic.generate(gpt.value, gpt.manager, textIds, voice, o, samplers);
            }
            // rows whose semantic stage ended at once have nothing to speak
            int[] speaking = IntStream.range(0, batch).filter(b -> semantic[b].length > 0).toArray();
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
                // each stage's freed activations go back to the system before the next stage
                NativeOps.releaseFreeMemory();
                int[][][] c;
                try (Resident<Gpt> gpt = resident(model.coarse, request)) {
                    c = Coarse.generate(gpt.value, gpt.manager, sem, voice, o, s);
                }
                NativeOps.releaseFreeMemory();
                int[][][] f;
                try (Resident<Gpt> gpt = resident(model.fine, request)) {
                    f = Fine.generate(gpt.value, gpt.manager, c, voice, o, s);
                }
                NativeOps.releaseFreeMemory();
                try (Resident<CodecDecoder> codec = residentCodec(request)) {
                    for (int i = 0; i < speaking.length; i++) {
                        Cancellation.check();
                        // each row alone: the LSTM must not see another row's padding
                        coarse[speaking[i]] = c[i];
                        fine[speaking[i]] = f[i];
                        audio[speaking[i]] = decode(codec.value, codec.manager, f[i]);
                    }
                }
                NativeOps.releaseFreeMemory();
                o.progress().onProgress(Stage.DECODE, 1, 1);
            }
            List<Utterance> out = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                List<Speech.Segment> segments = List.of(new Speech.Segment(spoken[b], 0, audio[b].length));
                out.add(new Utterance(audio[b], sampleRate(), semantic[b], coarse[b], fine[b], warnings.get(b),
                        truncated[b], segments));
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

    /** Fine codes (K, T) → audio samples, with the model's own codec. */
    public float[] decode(NDManager manager, int[][] fine) {
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

    /** Releases the model's native memory; the caller makes sure no call is running. */
    @Override
    public void close() {
        model.close();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }
}

package io.github.bark4j.internal.cloning;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.model.AttentionKernel;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.internal.model.Ops;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.internal.model.WeightNorm;
import io.github.bark4j.internal.model.WeightStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HuBERT base as voice cloning uses it: the hidden states of one transformer layer (layer 9 by
 * default, Hugging Face's {@code hidden_states[9]}, fairseq's {@code output_layer=9}) of raw 16 kHz
 * audio, 50 frames a second. Loaded from a Hugging Face folder ({@code config.json} with
 * {@code model.safetensors} or {@code pytorch_model.bin}), keys with or without the {@code hubert.}
 * prefix of the task models; the layers after the output layer are neither loaded nor run.
 *
 * <p>Everything runs time-major, (frames, channels). The strided convolutions of the feature encoder
 * are GEMMs (see {@link StridedConv}), which keeps them away from oneDNN's FP32 convolution, wrong on
 * AMD Zen 5 for channel counts that are not multiples of 16 (the first convolution has one input
 * channel). In FP32 those GEMMs and the transformer's run on the native bridge's AVX-512 GEMM where
 * it is available ({@link ClonerMatmul}): 10 s of audio took 1.0-1.2 s of CPU on one thread instead of
 * 1.7 s.
 *
 * <p>Immutable after loading; any number of threads may call {@link #features} at once, each with its
 * own {@link NDManager}.
 */
public final class Hubert implements AutoCloseable {
    /** The layer whose output the semantic quantizers were trained on. */
    public static final int DEFAULT_OUTPUT_LAYER = 9;

    /** The key prefix of transformers' task models (HubertForCTC, ...) around the base model. */
    static final String TASK_PREFIX = "hubert.";

    /**
     * The most first-convolution output one chunk of the feature encoder makes (8 MB: 64 frames, 1.28 s,
     * of HuBERT base in FP32). Below glibc's 32 MB mmap limit, so chunk after chunk reuses freed heap.
     */
    static final long CHUNK_BYTES = 8L << 20;

    /** The most attention scores (heads · queries · T) computed at once. */
    static final long ATTENTION_BYTES = 16L << 20;

    private static final Pattern LAYER_KEY = Pattern.compile("encoder\\.layers\\.(\\d+)\\..*");

    /**
     * A feature-encoder convolution (no padding) as one GEMM: output frame t reads input frames
     * t·stride + j for the kernel's taps j, gathered by strided slices into a (T', kernel·Cin)
     * matrix, tap-major, against the weight reshaped to (Cout, kernel·Cin) in the same order.
     */
    record StridedConv(NDArray weight, NDArray bias, int inChannels, int outChannels, int kernel, int stride) {

        /** Lays out {@code weight} (Cout, Cin, K) tap-major; the caller keeps {@code weight}. */
        static StridedConv of(NDArray weight, NDArray bias, int stride) {
            Shape s = weight.getShape();
            int cout = (int) s.get(0);
            int cin = (int) s.get(1);
            int kernel = (int) s.get(2);
            try (NDArray tapMajor = weight.transpose(0, 2, 1); // (Cout, K, Cin)
                    NDArray flat = tapMajor.reshape(cout, (long) kernel * cin)) {
                // contiguous, and independent of the caller's weight
                return new StridedConv(flat.duplicate(), bias, cin, cout, kernel, stride);
            }
        }

        /** Output frames of an input of {@code frames} frames (at least {@code kernel}). */
        long outFrames(long frames) {
            return (frames - kernel) / stride + 1;
        }

        /** x (T, Cin), T ≥ kernel → (T', Cout); x is read, not consumed. */
        NDArray apply(NDArray x) {
            long out = outFrames(x.getShape().get(0));
            long span = (out - 1) * stride + 1;
            try (NDList taps = new NDList(kernel)) {
                for (int j = 0; j < kernel; j++) {
                    taps.add(x.get(new NDIndex("{}:{}:{}", j, j + span, stride)));
                }
                if (kernel == 1) {
                    return ClonerMatmul.linear(taps.get(0), weight, bias);
                }
                try (NDArray columns = NDArrays.concat(taps, 1)) {
                    return ClonerMatmul.linear(columns, weight, bias);
                }
            }
        }
    }

    /**
     * How much one run computes at once: output frames per feature-encoder chunk, and bytes of
     * attention scores per group of heads.
     */
    record Budget(long encoderChunkFrames, long attentionBytes) {}

    /** One post-LayerNorm transformer layer; q, k and v are one (3·D, D) projection. */
    record Layer(NDArray qkvWeight, NDArray qkvBias, NDArray outWeight, NDArray outBias,
            NDArray normWeight, NDArray normBias, NDArray ffInWeight, NDArray ffInBias,
            NDArray ffOutWeight, NDArray ffOutBias, NDArray finalNormWeight, NDArray finalNormBias) {}

    private final HubertConfig config;
    private final int outputLayer;
    private final DataType dtype;
    private final NDManager manager;
    private final List<StridedConv> convs;
    /** The GroupNorm's scale, in double: it is folded into one factor per channel with the variance. */
    private final double[] groupNormGamma;
    private final NDArray groupNormBias;
    private final NDArray projectionNormWeight;
    private final NDArray projectionNormBias;
    private final NDArray projectionWeight;
    private final NDArray projectionBias;
    private final NDArray posConvWeight;
    private final NDArray posConvBias;
    private final NDArray encoderNormWeight;
    private final NDArray encoderNormBias;
    private final List<Layer> layers;

    private Hubert(HubertConfig config, int outputLayer, DataType dtype, NDManager manager, List<StridedConv> convs,
            double[] groupNormGamma, NDArray groupNormBias, NDArray projectionNormWeight, NDArray projectionNormBias,
            NDArray projectionWeight, NDArray projectionBias, NDArray posConvWeight, NDArray posConvBias,
            NDArray encoderNormWeight, NDArray encoderNormBias, List<Layer> layers) {
        this.config = config;
        this.outputLayer = outputLayer;
        this.dtype = dtype;
        this.manager = manager;
        this.convs = convs;
        this.groupNormGamma = groupNormGamma;
        this.groupNormBias = groupNormBias;
        this.projectionNormWeight = projectionNormWeight;
        this.projectionNormBias = projectionNormBias;
        this.projectionWeight = projectionWeight;
        this.projectionBias = projectionBias;
        this.posConvWeight = posConvWeight;
        this.posConvBias = posConvBias;
        this.encoderNormWeight = encoderNormWeight;
        this.encoderNormBias = encoderNormBias;
        this.layers = layers;
    }

    /** Loads a HuBERT folder computing in {@code dtype}, with the output of layer 9. */
    public static Hubert load(Path dir, DataType dtype) {
        return load(dir, dtype, DEFAULT_OUTPUT_LAYER);
    }

    /**
     * Loads a HuBERT folder.
     *
     * @param dtype {@link DataType#FLOAT32} or {@link DataType#FLOAT64}, whatever the checkpoint holds
     * @param outputLayer whose output {@link #features} returns: 0 is the transformer's input (after
     *     the positional convolution and the encoder LayerNorm), n the output of layer n
     */
    public static Hubert load(Path dir, DataType dtype, int outputLayer) {
        checkArguments(dtype, outputLayer);
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("HuBERT folder not found: " + dir);
        }
        HubertConfig config = HubertConfig.load(dir.resolve("config.json"));
        if (outputLayer > config.numHiddenLayers()) {
            throw new ModelLoadException("HuBERT output layer " + outputLayer + " does not exist: " + dir
                    + "/config.json has " + config.numHiddenLayers() + " layers");
        }
        try (TensorSource source = BarkModel.openWeights(dir)) {
            return load(source, config, dtype, outputLayer);
        }
    }

    private static void checkArguments(DataType dtype, int outputLayer) {
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT64) {
            throw new IllegalArgumentException("HuBERT computes in FLOAT32 or FLOAT64, not " + dtype);
        }
        if (outputLayer < 0) {
            throw new IllegalArgumentException("output layer must not be negative: " + outputLayer);
        }
    }

    /** Loads the weights of {@code source}, which the caller keeps (and closes). */
    static Hubert load(TensorSource source, HubertConfig config, DataType dtype, int outputLayer) {
        checkArguments(dtype, outputLayer);
        if (outputLayer > config.numHiddenLayers()) {
            throw new ModelLoadException("HuBERT output layer " + outputLayer + " does not exist: the config has "
                    + config.numHiddenLayers() + " layers");
        }
        NDManager manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        try {
            return load(source, config, dtype, outputLayer, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    private static Hubert load(TensorSource source, HubertConfig c, DataType dtype, int outputLayer,
            NDManager manager) {
        String conv0 = "feature_extractor.conv_layers.0.conv.weight";
        String p;
        if (source.contains(conv0)) {
            p = "";
        } else if (source.contains(TASK_PREFIX + conv0)) {
            p = TASK_PREFIX;
        } else {
            throw new ModelLoadException("Not a HuBERT checkpoint: it has no '" + conv0 + "' (with or without the '"
                    + TASK_PREFIX + "' prefix); voice cloning needs facebook/hubert-base-ls960 in the Hugging Face layout");
        }
        Loader w = new Loader(new WeightStore(source, manager, dtype), p);
        int[] dims = c.convDim();
        int[] kernels = c.convKernel();
        int[] strides = c.convStride();
        List<StridedConv> convs = new ArrayList<>();
        int in = 1;
        for (int i = 0; i < dims.length; i++) {
            String key = "feature_extractor.conv_layers." + i + ".conv.";
            NDArray bias = c.convBias() ? w.load(key + "bias", dims[i]) : null;
            try (NDArray weight = w.load(key + "weight", dims[i], in, kernels[i])) {
                convs.add(StridedConv.of(weight, bias, strides[i]));
            }
            in = dims[i];
        }
        double[] gnWeight;
        try (NDArray gamma = w.load("feature_extractor.conv_layers.0.layer_norm.weight", dims[0])) {
            gnWeight = Tensors.toDoubles(gamma);
        }
        NDArray gnBias = w.load("feature_extractor.conv_layers.0.layer_norm.bias", dims[0]);
        int channels = c.featureChannels();
        int d = c.hiddenSize();
        NDArray projNormWeight = w.load("feature_projection.layer_norm.weight", channels);
        NDArray projNormBias = w.load("feature_projection.layer_norm.bias", channels);
        NDArray projWeight = w.load("feature_projection.projection.weight", d, channels);
        NDArray projBias = w.load("feature_projection.projection.bias", d);
        NDArray posWeight = positionalWeight(w, c);
        NDArray posBias = w.load("encoder.pos_conv_embed.conv.bias", d);
        NDArray encNormWeight = w.load("encoder.layer_norm.weight", d);
        NDArray encNormBias = w.load("encoder.layer_norm.bias", d);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < outputLayer; i++) {
            layers.add(layer(w, "encoder.layers." + i + ".", c));
        }
        w.store.checkNoUnknownKeys(key -> isIgnored(key, p, outputLayer));
        return new Hubert(c, outputLayer, dtype, manager, List.copyOf(convs), gnWeight, gnBias, projNormWeight,
                projNormBias, projWeight, projBias, posWeight, posBias, encNormWeight, encNormBias, List.copyOf(layers));
    }

    /**
     * Keys that are not the base model up to the output layer: the layers after it, the mask
     * embedding (training only), and whatever a task model keeps outside its {@code hubert.} part.
     */
    static boolean isIgnored(String key, String prefix, int outputLayer) {
        if (!key.startsWith(prefix)) {
            return true;
        }
        String k = key.substring(prefix.length());
        if (k.equals("masked_spec_embed")) {
            return true;
        }
        Matcher m = LAYER_KEY.matcher(k);
        return m.matches() && (m.group(1).length() > 6 || Integer.parseInt(m.group(1)) >= outputLayer);
    }

    /** Key lookups under the checkpoint's prefix, with an error that names HuBERT. */
    private record Loader(WeightStore store, String prefix) {
        NDArray load(String key, long... shape) {
            if (!store.has(prefix + key)) {
                throw new ModelLoadException("HuBERT checkpoint lacks tensor '" + prefix + key + "'; voice cloning"
                        + " needs HuBERT base (facebook/hubert-base-ls960) in the Hugging Face layout");
            }
            return store.load(prefix + key, shape);
        }

        boolean has(String key) {
            return store.has(prefix + key);
        }
    }

    private static Layer layer(Loader w, String key, HubertConfig c) {
        int d = c.hiddenSize();
        int ff = c.intermediateSize();
        String a = key + "attention.";
        NDArray qkvWeight;
        NDArray qkvBias;
        try (NDArray q = w.load(a + "q_proj.weight", d, d);
                NDArray k = w.load(a + "k_proj.weight", d, d);
                NDArray v = w.load(a + "v_proj.weight", d, d)) {
            qkvWeight = NDArrays.concat(new NDList(q, k, v), 0);
        }
        try (NDArray q = w.load(a + "q_proj.bias", d);
                NDArray k = w.load(a + "k_proj.bias", d);
                NDArray v = w.load(a + "v_proj.bias", d)) {
            qkvBias = NDArrays.concat(new NDList(q, k, v), 0);
        }
        return new Layer(qkvWeight, qkvBias, w.load(a + "out_proj.weight", d, d), w.load(a + "out_proj.bias", d),
                w.load(key + "layer_norm.weight", d), w.load(key + "layer_norm.bias", d),
                w.load(key + "feed_forward.intermediate_dense.weight", ff, d),
                w.load(key + "feed_forward.intermediate_dense.bias", ff),
                w.load(key + "feed_forward.output_dense.weight", d, ff),
                w.load(key + "feed_forward.output_dense.bias", d),
                w.load(key + "final_layer_norm.weight", d), w.load(key + "final_layer_norm.bias", d));
    }

    /**
     * The positional convolution's weight with its weight norm folded in once: w = g · v / ‖v‖, the
     * norm over the first two dimensions separately for each tap ({@code weight_norm(dim=2)}), in the
     * compute dtype as the reference computes it. Reads the old {@code weight_g/weight_v} names, the
     * {@code parametrizations.weight.original0/1} names of newer PyTorch, or a plain folded weight.
     */
    private static NDArray positionalWeight(Loader w, HubertConfig c) {
        String key = "encoder.pos_conv_embed.conv.";
        int d = c.hiddenSize();
        int k = c.numConvPosEmbeddings();
        long[] shape = {d, d / c.numConvPosEmbeddingGroups(), k};
        NDArray weight = WeightNorm.load(w::has, w::load, key, shape, 2);
        if (weight == null) {
            throw new ModelLoadException("HuBERT checkpoint lacks the positional convolution's weight ('" + w.prefix()
                    + key + "weight_g'/'weight_v', 'parametrizations.weight.original0'/'original1' or 'weight')");
        }
        return weight;
    }

    public HubertConfig config() {
        return config;
    }

    /** The layer whose output {@link #features} returns. */
    public int outputLayer() {
        return outputLayer;
    }

    public DataType dtype() {
        return dtype;
    }

    /** Output frames for {@code samples} samples of 16 kHz audio (0 below the receptive field). */
    public int frames(long samples) {
        return config.frames(samples);
    }

    /**
     * The output layer's hidden states of raw 16 kHz mono audio (no normalization, as HuBERT base
     * was trained), (frames, hidden size) in the compute dtype, owned by {@code manager}.
     *
     * @throws InvalidInputException when the audio is shorter than one frame's receptive field (400
     *     samples for HuBERT base) or holds a value that is not finite
     */
    public NDArray features(NDManager manager, float[] wav16) {
        checkAudio(wav16.length);
        for (int i = 0; i < wav16.length; i++) {
            if (!Float.isFinite(wav16[i])) {
                throw notFinite(i, wav16[i]);
            }
        }
        return run(manager, m -> m.create(wav16, new Shape(wav16.length, 1)), outputLayer, budget());
    }

    /** {@link #features(NDManager, float[])} of double samples (rounded to float for a FLOAT32 model). */
    public NDArray features(NDManager manager, double[] wav16) {
        return features(manager, wav16, budget());
    }

    /** {@link #features(NDManager, double[])} computed in pieces of another size. */
    NDArray features(NDManager manager, double[] wav16, Budget budget) {
        checkAudio(wav16.length);
        for (int i = 0; i < wav16.length; i++) {
            if (!Double.isFinite(wav16[i])) {
                throw notFinite(i, wav16[i]);
            }
        }
        return run(manager, m -> m.create(wav16, new Shape(wav16.length, 1)), outputLayer, budget);
    }

    /** The feature encoder's output (frames, conv channels), before the projection's LayerNorm. */
    NDArray encodedFeatures(NDManager manager, double[] wav16) {
        checkAudio(wav16.length);
        return run(manager, m -> m.create(wav16, new Shape(wav16.length, 1)), -1, budget());
    }

    /**
     * The default pieces: feature-encoder chunks of about {@link #CHUNK_BYTES} of first-convolution
     * output, and {@link #ATTENTION_BYTES} of attention scores.
     */
    Budget budget() {
        StridedConv first = convs.get(0);
        long perFrame = (long) config.hop() / first.stride() * first.outChannels() * dtype.getNumOfBytes();
        return new Budget(Math.max(1, CHUNK_BYTES / perFrame), ATTENTION_BYTES);
    }

    private void checkAudio(int samples) {
        int field = config.receptiveField();
        if (samples < field) {
            throw new InvalidInputException("Audio of " + samples + " samples is too short for HuBERT: it needs at"
                    + " least " + field + " samples at 16 kHz (" + field / 16 + " ms); use a longer recording");
        }
    }

    private static InvalidInputException notFinite(int index, double value) {
        return new InvalidInputException("Audio sample " + index + " is " + value + "; every sample must be a"
                + " finite number (PCM scaled to [-1, 1])");
    }

    /**
     * The hidden states after {@code lastLayer} layers (-1: the feature encoder's output), every
     * intermediate freed as soon as the next step has read it.
     */
    private NDArray run(NDManager caller, java.util.function.Function<NDManager, NDArray> input, int lastLayer,
            Budget budget) {
        NDArray out;
        try (NDManager m = caller.newSubManager()) {
            NDArray x;
            try (NDArray raw = input.apply(m)) {
                x = raw.getDataType() == dtype ? raw.duplicate() : raw.toType(dtype, false);
            }
            x = encode(x, budget.encoderChunkFrames());
            if (lastLayer >= 0) {
                NDArray encoded = x;
                x = Tensors.scoped(() -> project(encoded));
                encoded.close();
                for (int i = 0; i < lastLayer; i++) {
                    NDArray in = x;
                    Layer weights = layers.get(i);
                    x = Tensors.scoped(() -> layer(in, weights, budget.attentionBytes()));
                    in.close();
                }
            }
            out = x;
            out.attach(caller);
        }
        return out;
    }

    /**
     * The feature encoder: audio (N, 1) → (frames, C); consumes its input. It runs over chunks of
     * about {@link #CHUNK_BYTES} of first-convolution output, never over the whole recording at once:
     * the first feature maps of 10 s of audio are 65 MB in FP32, and on the 2-core VM this was
     * measured on, every fresh allocation that large (glibc maps anything above 32 MB anew) cost
     * about 0.3 s in page faults, more than the convolutions themselves. The GroupNorm after the
     * first convolution needs each channel's mean and variance over the whole recording, so a first
     * pass gathers those chunk by chunk ({@link #channelMoments}); the second runs every chunk of
     * output frames through the whole stack, reading the 80 samples around its edges twice.
     */
    private NDArray encode(NDArray wav, long chunkFrames) {
        long samples = wav.getShape().get(0);
        long frames = config.frames(samples);
        StridedConv first = convs.get(0);
        long bytesPerFrame = (long) first.outChannels() * dtype.getNumOfBytes();
        NDArray mean;
        NDArray scale;
        NDArray beta = groupNormBias.get(wav.getManager(), new NDIndex(":"));
        double[][] stats = channelMoments(wav, Math.max(1, CHUNK_BYTES / bytesPerFrame));
        double eps = config.layerNormEps();
        double[] scales = new double[groupNormGamma.length];
        for (int c = 0; c < scales.length; c++) {
            scales[c] = groupNormGamma[c] / Math.sqrt(stats[1][c] + eps);
        }
        mean = wav.getManager().create(stats[0]).toType(dtype, false);
        scale = wav.getManager().create(scales).toType(dtype, false);
        int hop = config.hop();
        int field = config.receptiveField();
        NDList parts = new NDList();
        for (long a = 0; a < frames; a += chunkFrames) {
            long b = Math.min(frames, a + chunkFrames);
            long from = a * hop;
            long to = (b - 1) * hop + field;
            NDArray x = wav.get(new NDIndex("{}:{}", from, to));
            NDArray conv0 = first.apply(x);
            x.close();
            // (x − mean) · γ/σ + β, in place
            NDArray normed = conv0.subi(mean).muli(scale).addi(beta);
            x = Ops.gelu(normed);
            normed.close();
            for (int i = 1; i < convs.size(); i++) {
                NDArray conv = convs.get(i).apply(x);
                x.close();
                x = Ops.gelu(conv);
                conv.close();
            }
            parts.add(x);
        }
        wav.close();
        mean.close();
        scale.close();
        beta.close();
        NDArray out = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
        if (parts.size() > 1) {
            parts.close();
        }
        return out;
    }

    /**
     * Each channel's mean and biased variance over all frames of the first convolution, from chunks
     * of {@code chunkFrames} frames: every chunk's mean and centred sum of squares (libtorch's
     * pairwise sums, in the compute dtype), merged in double by Chan's formula. → {mean, variance}.
     */
    private double[][] channelMoments(NDArray wav, long chunkFrames) {
        StridedConv first = convs.get(0);
        long total = first.outFrames(wav.getShape().get(0));
        int channels = first.outChannels();
        double[] mean = new double[channels];
        double[] m2 = new double[channels];
        long count = 0;
        for (long a = 0; a < total; a += chunkFrames) {
            long b = Math.min(total, a + chunkFrames);
            double[] chunkMean;
            double[] chunkM2;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray x = wav.get(new NDIndex("{}:{}", a * first.stride(), (b - 1) * first.stride() + first.kernel()));
                NDArray y = first.apply(x);
                NDArray m = y.mean(new int[] {0}, true);
                chunkMean = Tensors.toDoubles(m);
                chunkM2 = Tensors.toDoubles(y.subi(m).square().sum(new int[] {0}));
            }
            long n = b - a;
            long merged = count + n;
            for (int c = 0; c < channels; c++) {
                double delta = chunkMean[c] - mean[c];
                mean[c] += delta * n / merged;
                m2[c] += chunkM2[c] + delta * delta * ((double) count * n / merged);
            }
            count = merged;
        }
        for (int c = 0; c < channels; c++) {
            m2[c] /= count;
        }
        return new double[][] {mean, m2};
    }

    /** Feature projection, positional convolution and encoder LayerNorm: hidden_states[0]. */
    private NDArray project(NDArray features) {
        NDArray normed = Ops.layerNorm(features, projectionNormWeight, projectionNormBias, config.layerNormEps());
        NDArray x = ClonerMatmul.linear(normed, projectionWeight, projectionBias);
        NDArray withPositions = x.add(Ops.gelu(positionalConv(x, posConvWeight, posConvBias,
                config.numConvPosEmbeddingGroups())));
        return Ops.layerNorm(withPositions, encoderNormWeight, encoderNormBias, config.layerNormEps());
    }

    /**
     * The grouped positional convolution of x (T, D), padded by K/2 on both sides; an even kernel
     * makes one frame too many, the last, which is dropped. → (T, D). oneDNN's FP32 convolution is
     * only trusted with input channels per group in multiples of 16 (as HuBERT base's 48, see
     * CodecDecoder's transposed convolution); other widths run in FP64.
     */
    static NDArray positionalConv(NDArray x, NDArray weight, NDArray bias, int groups) {
        long t = x.getShape().get(0);
        long perGroup = weight.getShape().get(1);
        int pad = (int) weight.getShape().get(2) / 2;
        NDArray in = x.transpose().expandDims(0); // (1, D, T)
        NDArray y;
        if (x.getDataType() == DataType.FLOAT32 && perGroup % 16 != 0) {
            // views owned by the call's manager: a conversion of the weights themselves would attach
            // its result to the model's shared manager
            NDArray w = weight.get(x.getManager(), new NDIndex(":")).toType(DataType.FLOAT64, false);
            NDArray b = bias.get(x.getManager(), new NDIndex(":")).toType(DataType.FLOAT64, false);
            y = Ops.groupedConv1d(in.toType(DataType.FLOAT64, false), w, b, pad, groups).toType(DataType.FLOAT32, false);
        } else {
            y = Ops.groupedConv1d(in, weight, bias, pad, groups);
        }
        return y.get(new NDIndex("0, :, 0:{}", t)).transpose();
    }

    private NDArray layer(NDArray x, Layer w, long attentionBytes) {
        double eps = config.layerNormEps();
        NDArray attended = x.add(selfAttention(x, w, attentionBytes));
        NDArray h = Ops.layerNorm(attended, w.normWeight(), w.normBias(), eps);
        NDArray ff = ClonerMatmul.linear(Ops.gelu(ClonerMatmul.linear(h, w.ffInWeight(), w.ffInBias())), w.ffOutWeight(),
                w.ffOutBias());
        return Ops.layerNorm(h.add(ff), w.finalNormWeight(), w.finalNormBias(), eps);
    }

    /**
     * Multi-head self-attention over all frames, a group of heads at a time, and where one head's
     * scores alone exceed {@code attentionBytes}, a block of query frames at a time (softmax is taken
     * per query, so the blocks are exact): the scores of all 12 heads of 30 s of audio would be 108 MB
     * in FP32, one head's of 5 min 3.6 GB.
     */
    private NDArray selfAttention(NDArray x, Layer w, long attentionBytes) {
        long t = x.getShape().get(0);
        int heads = config.numAttentionHeads();
        long d = config.hiddenSize();
        // (T, 3·D) → (3, heads, T, head size): q, k and v of each head
        NDArray qkv = ClonerMatmul.linear(x, w.qkvWeight(), w.qkvBias()).reshape(t, 3, heads, d / heads)
                .transpose(1, 2, 0, 3);
        long rowBytes = t * dtype.getNumOfBytes();
        long group = Math.max(1, Math.min(heads, attentionBytes / (t * rowBytes)));
        long rows = Math.max(1, Math.min(t, attentionBytes / (group * rowBytes)));
        NDList headGroups = new NDList();
        for (long h = 0; h < heads; h += group) {
            long end = Math.min(heads, h + group);
            NDArray k = qkv.get(new NDIndex("1:2, {}:{}", h, end));
            NDArray v = qkv.get(new NDIndex("2:3, {}:{}", h, end));
            NDList blocks = new NDList();
            for (long q = 0; q < t; q += rows) {
                NDArray queries = qkv.get(new NDIndex("0:1, {}:{}, {}:{}", h, end, q, Math.min(t, q + rows)));
                blocks.add(AttentionKernel.EAGER.attend(queries, k, v, false));
            }
            headGroups.add(blocks.size() == 1 ? blocks.get(0) : NDArrays.concat(blocks, 2));
        }
        NDArray y = headGroups.size() == 1 ? headGroups.get(0) : NDArrays.concat(headGroups, 1); // (1, heads, T, hd)
        return ClonerMatmul.linear(y.squeeze(0).transpose(1, 0, 2).reshape(t, d), w.outWeight(), w.outBias());
    }

    @Override
    public void close() {
        manager.close();
    }
}

package io.github.bark4j.internal.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.checkpoint.PyTorchCheckpoint;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.TensorSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * A loaded Bark model: architecture, the three GPTs, the codec and the tokenizer, with all weights in
 * one NDManager that closing releases. Immutable after loading.
 */
public final class BarkModel implements AutoCloseable {
    public static final String SEMANTIC_PREFIX = "semantic.";
    public static final String COARSE_PREFIX = "coarse_acoustics.";
    public static final String FINE_PREFIX = "fine_acoustics.";
    public static final String CODEC_PREFIX = "codec_model.";

    /** Codec tensors decoding does not read; {@link CodecEncoder} loads the encoder on demand. */
    private static final Pattern UNUSED_CODEC_KEY = Pattern.compile(
            "codec_model\\.(encoder\\..*|quantizer\\.layers\\.\\d+\\.codebook\\.(inited|cluster_size|embed_avg|embed))");

    final Path dir;
    public final BarkConfig config;
    /** Compute dtype of the GPTs; the codec runs in {@link #codecDtype}. */
    final DataType dtype;
    public final Gpt semantic;
    public final Gpt coarse;
    public final Gpt fine;
    public final CodecDecoder codec;
    public final TextTokenizer tokenizer;
    private final NDManager manager;
    /** What the bridge holds over the weights, in the order it is freed: native steps, then bf16 copies. */
    private final java.util.List<AutoCloseable> nativeResources;

    private BarkModel(Path dir, BarkConfig config, DataType dtype, Gpt semantic, Gpt coarse, Gpt fine,
            CodecDecoder codec, TextTokenizer tokenizer, NDManager manager,
            java.util.List<AutoCloseable> nativeResources) {
        this.dir = dir;
        this.config = config;
        this.dtype = dtype;
        this.semantic = semantic;
        this.coarse = coarse;
        this.fine = fine;
        this.codec = codec;
        this.tokenizer = tokenizer;
        this.manager = manager;
        this.nativeResources = nativeResources;
    }

    public NDManager manager() {
        return manager;
    }

    /** Where the weights live: the compute device, or the host when offloading per stage. */
    public Device weightDevice() {
        return manager.getDevice();
    }

    /**
     * The architecture of the model folder {@code dir} (its {@code config.json}), read before the
     * weights so that callers can check it fits what they will run.
     */
    public static BarkConfig readConfig(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ModelLoadException("Model folder not found: " + dir);
        }
        return BarkConfig.load(dir.resolve("config.json"));
    }

    /**
     * Loads a model folder whose {@link #readConfig config} is {@code config}.
     *
     * @param attention attention kernel of the three GPTs
     * @param nativeConvTranspose use libtorch's transposed convolution (bridge) in the codec
     * @param nativeStep decode the semantic and coarse GPTs with {@link NativeGpt} (FP32, FP64 or
     *     BF16 on the CPU with the bridge); {@link Precision#BF16} requires it
     */
    public static BarkModel load(Path dir, BarkConfig config, Precision precision, Device device,
            AttentionKernel attention, boolean nativeConvTranspose, boolean nativeStep) {
        if (precision == Precision.BF16 && !nativeStep) {
            throw new IllegalArgumentException("BF16 exists only in the native decode step");
        }
        DataType dtype = switch (precision) {
            case FP16 -> DataType.FLOAT16;
            case FP32, BF16 -> DataType.FLOAT32;
            case FP64 -> DataType.FLOAT64;
        };
        DataType codecDtype = codecDtype(precision);
        NDManager manager = NDManager.newBaseManager(device, "PyTorch");
        TextTokenizer tokenizer = null;
        java.util.List<NativeGpt> steps = new java.util.ArrayList<>();
        java.util.List<Bf16Matmuls> bf16 = new java.util.ArrayList<>();
        try (TensorSource source = openWeights(dir)) {
            WeightStore store = new WeightStore(source, manager, dtype);
            WeightStore logits = store.as(dtype == DataType.FLOAT16 ? DataType.FLOAT32 : dtype);
            // BF16: every matmul of the three GPTs on bfloat16 copies, rounded one tensor at a time
            // as the checkpoint is read (the decode steps' small-batch kernels and the prompt,
            // re-prefill and fine passes' GEMMs alike); no FP32 copy of a rounded weight is kept,
            // nor ever made (BF16 never offloads: SpeedChoice)
            boolean rounding = precision == Precision.BF16;
            Bf16Matmuls semanticBf16 = rounding ? tracked(bf16, Bf16Matmuls.whileLoading(true)) : null;
            Gpt semantic = new Gpt(config.semantic(),
                    GptWeights.load(store, logits, SEMANTIC_PREFIX, config.semantic(), semanticBf16), attention);
            Bf16Matmuls coarseBf16 = rounding ? tracked(bf16, Bf16Matmuls.whileLoading(true)) : null;
            Gpt coarse = new Gpt(config.coarse(),
                    GptWeights.load(store, logits, COARSE_PREFIX, config.coarse(), coarseBf16), attention);
            Bf16Matmuls fineBf16 = rounding ? tracked(bf16, Bf16Matmuls.whileLoading(false)) : null;
            Gpt fine = new Gpt(config.fine(), GptWeights.load(store, logits, FINE_PREFIX, config.fine(), fineBf16),
                    attention);
            CodecDecoder codec = CodecDecoder.load(store.as(codecDtype), CODEC_PREFIX, config.codec(),
                    config.fine().nCodesTotal());
            if (nativeConvTranspose) {
                codec = codec.withTransposedConv(CodecDecoder.TransposedConv.NATIVE);
            }
            store.checkNoUnknownKeys(key -> UNUSED_CODEC_KEY.matcher(key).matches());
            if (rounding) {
                semantic = semantic.withBf16Matmuls(semanticBf16);
                coarse = coarse.withBf16Matmuls(coarseBf16);
                fine = fine.withBf16Matmuls(fineBf16);
            }
            if (nativeStep) {
                NativeGpt s = NativeGpt.create(semantic, precision == Precision.BF16);
                steps.add(s);
                semantic = semantic.withNativeStep(s);
                NativeGpt c = NativeGpt.create(coarse, precision == Precision.BF16);
                steps.add(c);
                coarse = coarse.withNativeStep(c);
                NativeGpt f = NativeGpt.create(fine, precision == Precision.BF16);
                steps.add(f);
                fine = fine.withNativeStep(f);
            }
            tokenizer = TextTokenizer.load(dir.resolve("tokenizer.json"));
            java.util.List<AutoCloseable> resources = new java.util.ArrayList<>(steps);
            resources.addAll(bf16);
            return new BarkModel(dir, config, dtype, semantic, coarse, fine, codec, tokenizer, manager,
                    java.util.List.copyOf(resources));
        } catch (RuntimeException e) {
            if (tokenizer != null) {
                tokenizer.close();
            }
            steps.forEach(NativeGpt::close);
            bf16.forEach(Bf16Matmuls::close);
            manager.close();
            throw e;
        }
    }

    /** {@code m}, added to {@code all} so that a failed load frees it. */
    private static Bf16Matmuls tracked(java.util.List<Bf16Matmuls> all, Bf16Matmuls m) {
        all.add(m);
        return m;
    }

    /** EnCodec is small and sensitive: it keeps 32-bit unless FP64 is asked for. */
    static DataType codecDtype(Precision precision) {
        return precision == Precision.FP64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }

    /**
     * model.safetensors when present, otherwise the PyTorch checkpoint (read by a restricted unpickler);
     * both are memory-mapped tensor by tensor.
     */
    public static TensorSource openWeights(Path dir) {
        Path safetensors = dir.resolve("model.safetensors");
        if (Files.isRegularFile(safetensors)) {
            return SafetensorsFile.open(safetensors);
        }
        Path checkpoint = dir.resolve("pytorch_model.bin");
        if (Files.isRegularFile(checkpoint)) {
            return PyTorchCheckpoint.open(checkpoint);
        }
        throw new ModelLoadException("No weights in " + dir + ": expected model.safetensors or pytorch_model.bin");
    }

    @Override
    public void close() {
        tokenizer.close();
        // the native steps read the weights (and bf16 copies) in place: free them first
        for (AutoCloseable r : nativeResources) {
            try {
                r.close();
            } catch (Exception e) {
                throw new IllegalStateException("freeing native resources of the model failed", e);
            }
        }
        manager.close();
    }
}

package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.InvalidInputException;
import io.github.bark4j.ModelLoadException;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.model.CodecDecoder.Conv;
import io.github.bark4j.internal.model.CodecDecoder.ResidualUnit;
import io.github.bark4j.internal.nativ.NativeOps;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * EnCodec's encoder as voice cloning uses it: the SEANet encoder — a convolution, then per
 * downsampling ratio (the decoder's upsampling ratios in reverse) residual units, ELU and a strided
 * convolution of kernel 2·ratio that doubles the channels, then a 2-layer LSTM with skip, ELU and a
 * last convolution — turns 24 kHz audio (B, 1, T) into an embedding (B, D, ceil(T / hop)), and
 * residual vector quantization turns that into the codes of the first codebooks (8 at Bark's
 * 6 kbps: a voice preset's {@code fine_prompt}).
 *
 * <p>The weights come from a Bark checkpoint's {@code codec_model.encoder.*} tensors (Hugging Face
 * {@code EncodecModel} names), which {@link BarkModel} itself does not load; the codebooks are the
 * decoder's. Immutable once loaded; {@link #encode} may run on several threads at once.
 */
public final class CodecEncoder implements AutoCloseable {

    /** One downsampling stage: residual units at the stage's width, then ELU and the strided convolution. */
    record DownsampleBlock(List<ResidualUnit> units, Conv strided) {}

    private final CodecConfig config;
    private final List<NDArray> codebooks;
    /** Each codebook's squared row norms, ‖e‖², for the distance expansion. */
    private final List<NDArray> codebookNorms;
    private final Conv first;
    private final List<DownsampleBlock> blocks;
    private final Lstm lstm;
    private final Conv last;
    private final boolean fusedLstm;
    /**
     * Samples per chunk of the convolutions before the LSTM ({@link ChunkedSeanetEncoder}), 0 for the
     * whole recording at once.
     */
    private final long chunkSamples;
    /** The manager that holds the weights when this encoder loaded them itself (closed with it), else null. */
    private final NDManager owner;

    private CodecEncoder(CodecConfig config, List<NDArray> codebooks, List<NDArray> codebookNorms, Conv first,
            List<DownsampleBlock> blocks, Lstm lstm, Conv last, boolean fusedLstm, long chunkSamples, NDManager owner) {
        this.config = config;
        this.codebooks = codebooks;
        this.codebookNorms = codebookNorms;
        this.first = first;
        this.blocks = blocks;
        this.lstm = lstm;
        this.last = last;
        this.fusedLstm = fusedLstm;
        this.chunkSamples = chunkSamples;
        this.owner = owner;
    }

    /** The same encoder with the fused (true) or step-by-step (false) LSTM. */
    CodecEncoder withFusedLstm(boolean fused) {
        if (fused && lstm.hidden() < CodecDecoder.FUSED_LSTM_MIN_HIDDEN) {
            throw new IllegalArgumentException("the fused LSTM is wrong below " + CodecDecoder.FUSED_LSTM_MIN_HIDDEN
                    + " units");
        }
        return new CodecEncoder(config, codebooks, codebookNorms, first, blocks, lstm, last, fused, chunkSamples,
                null);
    }

    /**
     * The same encoder running its convolutions in chunks of {@code samples} (a multiple of the hop
     * length) where the input is at least two chunks long, or on the whole input at once for 0.
     */
    CodecEncoder withChunkSamples(long samples) {
        if (samples < 0 || samples % config.hopLength() != 0) {
            throw new IllegalArgumentException("chunks must be a multiple of " + config.hopLength() + " samples, got "
                    + samples);
        }
        return new CodecEncoder(config, codebooks, codebookNorms, first, blocks, lstm, last, fusedLstm, samples, null);
    }

    private CodecEncoder ownedBy(NDManager weights) {
        return new CodecEncoder(config, codebooks, codebookNorms, first, blocks, lstm, last, fusedLstm, chunkSamples,
                weights);
    }

    CodecConfig config() {
        return config;
    }

    /** How many codebooks {@link #encode} fills: the rows of its result. */
    public int numCodebooks() {
        return codebooks.size();
    }

    /** Audio samples per code frame (320 at 24 kHz). */
    public int hopLength() {
        return config.hopLength();
    }

    /** The audio rate the encoder expects, in Hz (24000). */
    public int sampleRate() {
        return config.samplingRate();
    }

    /** The compute dtype: FP64 when FP64 was asked for, else FP32. */
    public DataType dataType() {
        return first.weight().getDataType();
    }

    /**
     * Loads the encoder and the first {@code fine.n_codes_total} codebooks (8 for Bark) of a Bark
     * model folder, reading only those tensors. The weights live in a sub-manager of {@code manager}
     * that {@link #close} frees.
     *
     * @param precision {@link Precision#FP64} computes in 64-bit; every other precision in 32-bit,
     *     as the decoder does
     * @throws ModelLoadException when the folder, its config or its weights cannot be read, or the
     *     checkpoint has no encoder (Hugging Face's suno/bark-small carries one)
     */
    public static CodecEncoder load(Path barkDir, Precision precision, NDManager manager) {
        if (!Files.isDirectory(barkDir)) {
            throw new ModelLoadException("Model folder not found: " + barkDir);
        }
        BarkConfig config = BarkConfig.load(barkDir.resolve("config.json"));
        String encoderPrefix = BarkModel.CODEC_PREFIX + "encoder.";
        try (TensorSource source = BarkModel.openWeights(barkDir)) {
            if (source.names().stream().noneMatch(n -> n.startsWith(encoderPrefix))) {
                throw new ModelLoadException("This checkpoint has no EnCodec encoder (" + encoderPrefix + "*) in "
                        + barkDir + "; voice cloning needs a full Bark checkpoint such as suno/bark-small");
            }
            NDManager weights = manager.newSubManager();
            try {
                WeightStore store = new WeightStore(source, weights, BarkModel.codecDtype(precision));
                CodecEncoder encoder = load(store, BarkModel.CODEC_PREFIX, config.codec(),
                        config.fine().nCodesTotal());
                // encoder tensors the config does not account for mean the config does not fit them
                store.checkNoUnknownKeys(key -> !key.startsWith(encoderPrefix));
                return encoder.ownedBy(weights);
            } catch (RuntimeException e) {
                weights.close();
                throw e;
            }
        }
    }

    /**
     * The encoder under {@code prefix + "encoder.layers."} (Hugging Face's EncodecEncoder numbering:
     * conv, then per ratio residual units, ELU, strided conv; LSTM; ELU; conv) and the first
     * {@code numCodebooks} codebooks, on the store's manager.
     */
    static CodecEncoder load(WeightStore store, String prefix, CodecConfig c, int numCodebooks) {
        if (numCodebooks < 1) {
            throw new ModelLoadException("The encoder needs at least one codebook, got " + numCodebooks);
        }
        List<NDArray> codebooks = new ArrayList<>();
        List<NDArray> norms = new ArrayList<>();
        for (int i = 0; i < numCodebooks; i++) {
            NDArray table = store.load(prefix + "quantizer.layers." + i + ".codebook.embed", c.codebookSize(),
                    c.codebookDim());
            codebooks.add(table);
            try (NDArray squares = table.square()) {
                norms.add(squares.sum(new int[] {1}));
            }
        }
        String e = prefix + "encoder.layers.";
        int index = 0;
        int channels = c.numFilters();
        Conv first = SeanetLayers.conv(store, e + index++ + ".conv", c.audioChannels(), channels, c.kernelSize(), 1, 1);
        int[] ratios = c.upsamplingRatios();
        List<DownsampleBlock> blocks = new ArrayList<>();
        for (int r = ratios.length - 1; r >= 0; r--) {
            int ratio = ratios[r];
            List<ResidualUnit> units = new ArrayList<>();
            for (int j = 0; j < c.numResidualLayers(); j++) {
                units.add(SeanetLayers.residualUnit(store, e + index++ + ".", channels, j, c));
            }
            index++; // ELU
            Conv strided = SeanetLayers.conv(store, e + index++ + ".conv", channels, 2 * channels, 2 * ratio, ratio, 1);
            channels *= 2;
            blocks.add(new DownsampleBlock(List.copyOf(units), strided));
        }
        Lstm lstm = SeanetLayers.lstm(store, e + index++ + ".lstm", channels, c.numLstmLayers());
        index++; // ELU
        Conv last = SeanetLayers.conv(store, e + index + ".conv", channels, c.hiddenSize(), c.lastKernelSize(), 1, 1);
        return new CodecEncoder(c, List.copyOf(codebooks), List.copyOf(norms), first, List.copyOf(blocks), lstm,
                last, lstm.hidden() >= CodecDecoder.FUSED_LSTM_MIN_HIDDEN,
                (long) ChunkedSeanetEncoder.DEFAULT_CHUNK_HOPS * c.hopLength(), null);
    }

    /**
     * The 8 × frames codes of 24 kHz mono audio, frames = ceil(samples / hop): a Bark voice
     * preset's {@code fine_prompt} (its first two rows are the {@code coarse_prompt}). Input
     * shorter than a frame works as in EnCodec: 1 to 320 samples give one frame.
     *
     * @throws InvalidInputException when there are no samples or one is not finite
     */
    public int[][] encode(float[] wav24) {
        checkAudio(wav24.length);
        for (int i = 0; i < wav24.length; i++) {
            requireFinite(wav24[i], i);
        }
        try (NDManager m = first.weight().getManager().newSubManager()) {
            return codes(m.create(wav24, new Shape(1, 1, wav24.length)));
        }
    }

    /** {@link #encode(float[])} for 64-bit samples (rounded to 32-bit first unless the encoder is FP64). */
    public int[][] encode(double[] wav24) {
        checkAudio(wav24.length);
        for (int i = 0; i < wav24.length; i++) {
            requireFinite(wav24[i], i);
        }
        try (NDManager m = first.weight().getManager().newSubManager()) {
            return codes(m.create(wav24, new Shape(1, 1, wav24.length)));
        }
    }

    private static void checkAudio(int samples) {
        if (samples == 0) {
            throw new InvalidInputException("The recording has no samples; EnCodec needs at least one (a frame"
                    + " covers 320 samples, 1/75 s, at 24 kHz)");
        }
    }

    private static void requireFinite(double sample, int index) {
        if (!Double.isFinite(sample)) {
            throw new InvalidInputException("Audio sample " + index + " is " + sample
                    + "; samples must be finite (PCM scaled to [-1, 1])");
        }
    }

    /** Codes of one (1, 1, T) waveform as int rows. */
    private int[][] codes(NDArray wav) {
        NDArray codes = quantizerEncode(embed(wav));
        long[] flat = codes.toLongArray();
        int k = (int) codes.getShape().get(1);
        int t = (int) codes.getShape().get(2);
        int[][] out = new int[k][t];
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < t; j++) {
                out[i][j] = (int) flat[i * t + j];
            }
        }
        return out;
    }

    /**
     * The encoder's output before quantization: waveform (B, 1, T) → embedding (B, D, ceil(T / hop)),
     * in the encoder's dtype (the input is converted if it differs). The input is left as it is;
     * every intermediate is freed as soon as it has been read. The convolutions before the LSTM run
     * over chunks of the input ({@link ChunkedSeanetEncoder}) when it is long enough.
     */
    public NDArray embed(NDArray wav24) {
        Shape shape = wav24.getShape();
        if (shape.dimension() != 3 || shape.get(1) != config.audioChannels() || shape.get(2) < 1) {
            throw new InvalidInputException("EnCodec's encoder takes audio of shape (batch, "
                    + config.audioChannels() + ", samples ≥ 1), got " + shape);
        }
        DataType type = dataType();
        NDArray input = wav24.getDataType() == type ? wav24 : wav24.toType(type, false);
        NDArray x;
        if (chunkSamples > 0 && ChunkedSeanetEncoder.applies(config, shape.get(2), chunkSamples)) {
            x = Tensors.scoped(() -> ChunkedSeanetEncoder.convolutions(input, first, blocks, config, chunkSamples));
            if (input != wav24) {
                input.close();
            }
        } else {
            x = Tensors.scoped(() -> SeanetLayers.applyConv(input, first, config, false));
            if (input != wav24) {
                input.close();
            }
            for (DownsampleBlock block : blocks) {
                NDArray in = x;
                x = Tensors.scoped(() -> downsampleBlock(in, block));
                in.close();
                NativeOps.releaseFreeMemory(); // what this block freed, before the next one
            }
        }
        NDArray beforeLstm = x;
        x = Tensors.scoped(() -> {
            NDArray y = fusedLstm ? SeanetLayers.runLstmFused(beforeLstm, lstm) : SeanetLayers.runLstm(beforeLstm,
                    lstm);
            return y.add(beforeLstm); // the LSTM's skip connection
        });
        beforeLstm.close();
        NDArray in = x;
        return Tensors.scoped(() -> SeanetLayers.eluConv(in, last, config, true));
    }

    /** Residual units, ELU, strided convolution, in one scope. Consumes x. */
    private NDArray downsampleBlock(NDArray x, DownsampleBlock block) {
        for (ResidualUnit u : block.units()) {
            x = SeanetLayers.residualUnit(x, u, config);
        }
        NDArray y = SeanetLayers.eluConv(x, block.strided(), config, true);
        SeanetLayers.releaseFreedActivations(y);
        return y;
    }

    /**
     * Residual vector quantization: embedding (B, D, T) → codes (B, K, T) int64. Layer by layer, each
     * frame's residual takes the index of its nearest codebook row in squared Euclidean distance
     * (the first of equal ones), computed for all frames at once as ‖x‖² − 2·x·eᵀ + ‖e‖² (one GEMM
     * for the cross term), then that row is subtracted.
     */
    NDArray quantizerEncode(NDArray embedding) {
        Shape shape = embedding.getShape();
        long b = shape.get(0);
        long d = shape.get(1);
        long t = shape.get(2);
        if (d != config.codebookDim()) {
            throw new IllegalArgumentException("embedding has " + d + " channels, the codebooks " + config.codebookDim());
        }
        return Tensors.scoped(() -> {
            NDArray residual = embedding.transpose(0, 2, 1).reshape(b * t, d); // one row per frame
            NDList indices = new NDList(codebooks.size());
            for (int i = 0; i < codebooks.size(); i++) {
                NDArray table = codebooks.get(i);
                NDArray squared = residual.square().sum(new int[] {1}, true); // (N, 1)
                NDArray cross = Ops.linear(residual, table, null); // (N, size)
                NDArray distance = squared.sub(cross.muli(2)).addi(codebookNorms.get(i));
                NDArray nearest = distance.argMin(1); // the first index of the minimum
                indices.add(nearest);
                NDArray chosen = Ops.embedding(nearest, table);
                residual = residual.sub(chosen);
            }
            return NDArrays.stack(indices, 0).reshape(codebooks.size(), b, t).transpose(1, 0, 2);
        });
    }

    /** Frees the weights when this encoder loaded them ({@link #load(Path, Precision, NDManager)}). */
    @Override
    public void close() {
        if (owner != null) {
            owner.close();
        }
    }
}

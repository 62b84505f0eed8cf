package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.internal.nativ.NativeOps;

import java.util.ArrayList;
import java.util.List;

/**
 * EnCodec's decoder as Bark uses it: codes of the first codebooks are looked up and summed
 * (residual vector quantization), then the SEANet decoder — causal convolutions with reflect padding,
 * a 2-layer LSTM with skip, transposed-convolution upsampling blocks with ELU and residual units —
 * turns the (B, D, T) embedding into (B, T·hop) audio.
 */
public final class CodecDecoder {

    /** A convolution with its weight norm folded in once at load time. */
    record Conv(NDArray weight, NDArray bias, int kernel, int stride, int dilation) {}

    record ResidualUnit(Conv first, Conv second, Conv shortcut) {}

    record UpsampleBlock(Conv transposed, List<ResidualUnit> units) {}

    private final CodecConfig config;
    private final List<NDArray> codebooks;
    private final Conv first;
    private final Lstm lstm;
    private final List<UpsampleBlock> blocks;
    private final Conv last;
    private final TransposedConv transposedConv;
    private final boolean fusedLstm;

    /**
     * DJL's fused LSTM wrapper is only right from 32 hidden units up (oneDNN); smaller ones use the
     * step loop, which is also the reference the fused path is tested against.
     */
    static final int FUSED_LSTM_MIN_HIDDEN = 32;

    public CodecDecoder(CodecConfig config, List<NDArray> codebooks, Conv first, Lstm lstm, List<UpsampleBlock> blocks,
            Conv last, TransposedConv transposedConv) {
        this(config, codebooks, first, lstm, blocks, last, transposedConv,
                lstm != null && lstm.hidden() >= FUSED_LSTM_MIN_HIDDEN);
    }

    private CodecDecoder(CodecConfig config, List<NDArray> codebooks, Conv first, Lstm lstm,
            List<UpsampleBlock> blocks, Conv last, TransposedConv transposedConv, boolean fusedLstm) {
        this.config = config;
        this.codebooks = codebooks;
        this.first = first;
        this.lstm = lstm;
        this.blocks = blocks;
        this.last = last;
        this.transposedConv = transposedConv;
        this.fusedLstm = fusedLstm;
    }

    /** The same decoder with the fused (true) or step-by-step (false) LSTM. */
    CodecDecoder withFusedLstm(boolean fused) {
        if (fused && lstm.hidden() < FUSED_LSTM_MIN_HIDDEN) {
            throw new IllegalArgumentException("the fused LSTM is wrong below " + FUSED_LSTM_MIN_HIDDEN + " units");
        }
        return new CodecDecoder(config, codebooks, first, lstm, blocks, last, transposedConv, fused);
    }

    /** Transposed convolution kernel: the fallback is built from matmul and shifted adds. */
    public interface TransposedConv {
        NDArray apply(NDArray x, NDArray weight, NDArray bias, int stride);

        TransposedConv MATMUL = CodecDecoder::convTransposeByMatmul;

        /**
         * libtorch's conv_transpose1d through the native bridge, a chunk of the input at a time,
         * where its result can be trusted ({@link #nativeConvTransposeExact}); the fallback elsewhere.
         */
        TransposedConv NATIVE = (x, weight, bias, stride) -> convTransposeNative(x, weight, bias, stride,
                CHUNK_COLUMN_BYTES);
    }

    /** {@link TransposedConv#NATIVE} with chunks of at most {@code columnBytes} of columns. */
    static NDArray convTransposeNative(NDArray x, NDArray weight, NDArray bias, int stride, long columnBytes) {
        return nativeConvTransposeExact(x, weight)
                ? convTransposeChunked(x, weight, bias, stride, columnBytes)
                : convTransposeByMatmul(x, weight, bias, stride);
    }

    /**
     * Whether libtorch 2.7.1's transposed convolution is exact for these operands. For FP32 it
     * hands the work to oneDNN (batch above 1, or more than 20480 input values), whose
     * deconvolution returned wrong values on an AMD Zen 5 CPU (AVX-512) whenever the input channels
     * were not a multiple of 16: errors of 0.2 to 7 on unit-scale data, in about one case in five,
     * while the same shapes were exact on Zen 4. Multiples of 16, which every EnCodec layer has
     * (512 down to 64), were exact on both, and FP64, which oneDNN does not take, always was.
     */
    static boolean nativeConvTransposeExact(NDArray x, NDArray weight) {
        return x.getDataType() == DataType.FLOAT64 || weight.getShape().get(0) % 16 == 0;
    }

    /**
     * The largest column buffer one native transposed convolution may make. libtorch's CPU
     * conv_transpose1d expands its input into (Cout·kernel, T) columns before summing them into
     * the output: 94 MB for the last upsampling block of 15 s of audio, twice that block's output,
     * which made it the peak of a long generation. Chunks of the time axis bound that to a few MB
     * (and keep the columns in cache).
     */
    static final long CHUNK_COLUMN_BYTES = 8L << 20;

    /**
     * Transposed 1-D convolution (no padding) through libtorch, over chunks of the input's time axis
     * whose columns stay within {@code columnBytes}: each chunk's output is added at its offset
     * (neighbouring chunks' outputs overlap by kernel − stride frames), the bias once at the end.
     */
    static NDArray convTransposeChunked(NDArray x, NDArray weight, NDArray bias, int stride, long columnBytes) {
        Shape ws = weight.getShape();
        long b = x.getShape().get(0);
        long t = x.getShape().get(2);
        long cout = ws.get(1);
        long kernel = ws.get(2);
        long frameBytes = b * cout * kernel * x.getDataType().getNumOfBytes();
        long chunk = Math.max(1, columnBytes / frameBytes);
        if (chunk >= t) {
            return NativeOps.convTranspose1d(x, weight, bias, stride, 0, 0, 1, 1);
        }
        NDManager manager = x.getManager();
        NDArray out = manager.zeros(new Shape(b, cout, (t - 1) * stride + kernel), x.getDataType());
        for (long t0 = 0; t0 < t; t0 += chunk) {
            long t1 = Math.min(t, t0 + chunk);
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray part = NativeOps.convTranspose1d(x.get(new NDIndex(":, :, {}:{}", t0, t1)), weight, null,
                        stride, 0, 0, 1, 1);
                NDIndex where = new NDIndex(":, :, {}:{}", t0 * stride, t0 * stride + part.getShape().get(2));
                out.set(where, out.get(where).add(part));
            }
        }
        if (bias != null) {
            // a view owned by the call's manager: ops on the weights themselves would attach their
            // results to the model's shared manager
            try (NDArray view = bias.get(manager, new NDIndex(":")); NDArray column = view.reshape(1, cout, 1)) {
                out.addi(column);
            }
        }
        return out;
    }

    CodecDecoder withTransposedConv(TransposedConv kernel) {
        return new CodecDecoder(config, codebooks, first, lstm, blocks, last, kernel, fusedLstm);
    }

    /** A copy of every weight on {@code manager}'s device, owned by it (per-stage offload). */
    public CodecDecoder copyTo(ai.djl.ndarray.NDManager manager) {
        java.util.function.UnaryOperator<NDArray> c = a -> a == null ? null : Tensors.copyTo(a, manager);
        java.util.function.UnaryOperator<Conv> cc = v -> v == null ? null
                : new Conv(c.apply(v.weight()), c.apply(v.bias()), v.kernel(), v.stride(), v.dilation());
        List<UpsampleBlock> b = new ArrayList<>();
        for (UpsampleBlock block : blocks) {
            List<ResidualUnit> units = new ArrayList<>();
            for (ResidualUnit u : block.units()) {
                units.add(new ResidualUnit(cc.apply(u.first()), cc.apply(u.second()), cc.apply(u.shortcut())));
            }
            b.add(new UpsampleBlock(cc.apply(block.transposed()), List.copyOf(units)));
        }
        Lstm l = new Lstm(lstm.weightsIh().stream().map(c).toList(), lstm.weightsHh().stream().map(c).toList(),
                lstm.biases().stream().map(c).toList(), lstm.hidden());
        return new CodecDecoder(config, codebooks.stream().map(c).toList(), cc.apply(first), l, List.copyOf(b),
                cc.apply(last), transposedConv, fusedLstm);
    }

    CodecConfig config() {
        return config;
    }

    int numCodebooks() {
        return codebooks.size();
    }

    static CodecDecoder load(WeightStore store, String prefix, CodecConfig c, int numCodebooks) {
        List<NDArray> codebooks = new ArrayList<>();
        for (int i = 0; i < numCodebooks; i++) {
            codebooks.add(store.load(prefix + "quantizer.layers." + i + ".codebook.embed",
                    c.codebookSize(), c.codebookDim()));
        }
        int ratios = c.upsamplingRatios().length;
        int scale = 1 << ratios;
        int index = 0;
        String d = prefix + "decoder.layers.";
        Conv first = SeanetLayers.conv(store, d + index++ + ".conv", c.hiddenSize(), scale * c.numFilters(),
                c.kernelSize(), 1, 1);
        int channels = scale * c.numFilters();
        Lstm lstm = SeanetLayers.lstm(store, d + index++ + ".lstm", channels, c.numLstmLayers());
        List<UpsampleBlock> blocks = new ArrayList<>();
        for (int ratio : c.upsamplingRatios()) {
            index++; // ELU
            Conv up = transposed(store, d + index++ + ".conv", channels, channels / 2, 2 * ratio, ratio);
            channels /= 2;
            List<ResidualUnit> units = new ArrayList<>();
            for (int j = 0; j < c.numResidualLayers(); j++) {
                units.add(SeanetLayers.residualUnit(store, d + index++ + ".", channels, j, c));
            }
            blocks.add(new UpsampleBlock(up, List.copyOf(units)));
        }
        index++; // ELU
        Conv last = SeanetLayers.conv(store, d + index + ".conv", c.numFilters(), c.audioChannels(),
                c.lastKernelSize(), 1, 1);
        return new CodecDecoder(c, List.copyOf(codebooks), first, lstm, List.copyOf(blocks), last,
                TransposedConv.MATMUL);
    }

    private static Conv transposed(WeightStore s, String key, int in, int out, int kernel, int stride) {
        NDArray w = SeanetLayers.normedWeight(s, key, new long[] {in, out, kernel});
        NDArray b = s.load(key + ".bias", out);
        return new Conv(w, b, kernel, stride, 1);
    }

    /** Sum of codebook embeddings: codes (B, K, T) int64 with K ≤ loaded codebooks → (B, D, T). */
    NDArray quantizerDecode(NDArray codes) {
        long k = codes.getShape().get(1);
        NDArray sum = null;
        for (int i = 0; i < k; i++) {
            NDArray e = Ops.embedding(codes.get(new NDIndex(":, {}, :", i)), codebooks.get(i));
            sum = sum == null ? e : sum.add(e);
        }
        return sum.transpose(0, 2, 1);
    }

    /** Codes (B, K, T) int64 → audio (B, T·hop). */
    public NDArray decode(NDArray codes) {
        NDArray x = quantizerDecode(codes);
        x = applyConv(x, first);
        NDArray latent = (fusedLstm ? runLstmFused(x) : runLstm(x)).add(x);
        return upsampleInChunks(latent, CHUNK_FRAMES, warmUpFrames()).squeeze(1);
    }

    /**
     * Frames of the LSTM's output that one chunk of the upsampling stack turns into audio. At 64
     * frames (0.85 s) the largest activation of a chunk is 2.7 MB (32 channels of 21,440 samples,
     * with its warm-up frames) instead of 47 MB for 15 s of audio in one piece: a chunk's
     * activations stay in the CPU's caches, and malloc hands the same few megabytes from chunk to
     * chunk, where whole-length activations were fresh memory mappings that every op faulted in
     * page by page (about 10 µs per 4 KB page on the virtual machines measured: 115 ms per 47 MB
     * activation) and that added a few hundred megabytes to the peak of a long generation. The
     * {@link #warmUpFrames} each chunk recomputes (2 for EnCodec 24 kHz) cost 3% more arithmetic.
     */
    static final int CHUNK_FRAMES = 64;

    /**
     * The upsampling blocks and the last convolution over the LSTM's output {@code latent} (B, C,
     * T), in pieces of about {@code chunkFrames} frames: (B, 1, T·hop). Every convolution after
     * the LSTM is causal, so output sample p depends only on frames up to p / hop and on a bounded
     * number before it; each chunk after the first starts {@code warmUp} frames early ({@link
     * #warmUpFrames}), and the samples those frames produce (which miss their own history, and see
     * the chunk's reflect padding instead of the frames before) are dropped. Every kept sample is
     * computed from exactly the inputs it has in one whole-length pass (the kernels may sum them in
     * another order for another length: FP32 results move by its rounding). One piece where
     * {@code warmUp} is negative. Consumes latent.
     */
    NDArray upsampleInChunks(NDArray latent, int chunkFrames, int warmUp) {
        long t = latent.getShape().get(2);
        if (warmUp < 0 || t <= chunkFrames) {
            return upsampleWhole(latent, true);
        }
        int chunks = (int) ((t + chunkFrames - 1) / chunkFrames);
        long size = (t + chunks - 1) / chunks; // even chunks: the last is not a sliver
        int hop = config.hopLength();
        NDList pieces = new NDList(chunks);
        for (long f0 = 0; f0 < t; f0 += size) {
            long from = f0;
            long start = Math.max(0, f0 - warmUp);
            long end = Math.min(t, f0 + size);
            pieces.add(Tensors.scoped(() -> {
                NDArray audio = upsampleWhole(latent.get(new NDIndex(":, :, {}:{}", start, end)), false);
                return audio.get(new NDIndex(":, :, {}:", (from - start) * hop));
            }));
        }
        latent.close();
        NDArray audio = NDArrays.concat(pieces, 2);
        pieces.close();
        return audio;
    }

    /**
     * LSTM frames a chunk must start early so that its first kept sample is exact, or -1 where some
     * transposed convolution keeps samples that depend on later frames (a non-causal
     * configuration, or a causal one trimming less than everything on the right), which is then
     * upsampled in one piece. Counted forward: at the stack's input every frame of a chunk is
     * exact. Output sample u of a transposed convolution (kernel k, stride r, nothing trimmed on
     * the left) sums the frames t with t·r ≤ u ≤ t·r + k − 1, so from input exact from frame e its
     * output is exact from e·r + k − r; each causal convolution then adds its (kernel −
     * 1)·dilation; the last value, in samples, is rounded up to frames.
     */
    int warmUpFrames() {
        if (!config.useCausalConv()) {
            return -1;
        }
        long exactFrom = 0;
        for (UpsampleBlock block : blocks) {
            Conv up = block.transposed();
            int padTotal = up.kernel() - up.stride();
            int right = (int) Math.ceil(padTotal * config.trimRightRatio());
            if (right != padTotal) {
                return -1;
            }
            exactFrom = exactFrom * up.stride() + up.kernel() - up.stride();
            for (ResidualUnit u : block.units()) {
                exactFrom += causalReach(u.first()) + causalReach(u.second())
                        + (u.shortcut() == null ? 0 : causalReach(u.shortcut()));
            }
        }
        exactFrom += causalReach(last);
        return Math.toIntExact((exactFrom + config.hopLength() - 1) / config.hopLength());
    }

    /** How far back a causal stride-1 convolution reads: (kernel − 1)·dilation samples. */
    private static long causalReach(Conv conv) {
        return (long) (conv.kernel() - 1) * conv.dilation();
    }

    /**
     * The upsampling blocks and the last convolution over all of {@code x} at once; with {@code
     * trim}, the C heap's free pages go back to the system after each block (whole-length
     * activations: what a block freed, before the next, larger one). Consumes x.
     */
    private NDArray upsampleWhole(NDArray x, boolean trim) {
        for (UpsampleBlock block : blocks) {
            NDArray in = x;
            x = Tensors.scoped(() -> upsampleBlock(in, block));
            in.close();
            if (trim) {
                NativeOps.releaseFreeMemory();
            }
        }
        NDArray in = x;
        return Tensors.scoped(() -> eluConv(in, last, true));
    }

    /**
     * One block in its own scope, every intermediate (and the block's input) closed as soon as the
     * next op has read it: at 24 kHz one activation of 15 s of audio is 47 MB, and a block that
     * kept its ELUs, reflect pads and convolutions until it returned held about eight of them at
     * once (the peak memory of a long generation was the last block's). A residual unit holds at
     * most three (its input until the shortcut has read it, the shortcut, the second conv's
     * output, which takes the sum in place). Consumes x.
     */
    private NDArray upsampleBlock(NDArray x, UpsampleBlock block) {
        NDArray activated = Ops.elu(x);
        x.close(); // the block's input: nothing reads it again
        x = upsample(activated, block.transposed());
        activated.close();
        SeanetLayers.releaseFreedActivations(x);
        for (ResidualUnit u : block.units()) {
            x = SeanetLayers.residualUnit(x, u, config);
        }
        return x;
    }

    /** conv(ELU(x)); with {@code consume}, x is closed as soon as it is read. */
    private NDArray eluConv(NDArray x, Conv conv, boolean consume) {
        return SeanetLayers.eluConv(x, conv, config, consume);
    }

    private NDArray applyConv(NDArray x, Conv conv) {
        return SeanetLayers.applyConv(x, conv, config, false);
    }

    /** Pads the time axis by reflection (or zeros), as EnCodec's _pad1d, including its short-input rule. */
    NDArray pad(NDArray x, int left, int right) {
        return SeanetLayers.pad(x, left, right, config.padMode());
    }

    private NDArray upsample(NDArray x, Conv conv) {
        NDArray y = transposedConv.apply(x, conv.weight(), conv.bias(), conv.stride());
        int padTotal = conv.kernel() - conv.stride();
        int right;
        int left;
        if (config.useCausalConv()) {
            right = (int) Math.ceil(padTotal * config.trimRightRatio());
            left = padTotal - right;
        } else {
            right = padTotal / 2;
            left = padTotal - right;
        }
        long end = y.getShape().get(2) - right;
        NDArray trimmed = y.get(new NDIndex(":, :, {}:{}", left, end));
        if (trimmed != y) {
            y.close(); // the view keeps the storage; no second handle holds it past the block
        }
        return trimmed;
    }

    /**
     * Transposed 1-D convolution (no padding) from a matmul: every input frame contributes
     * x[:, :, t]·W[:, :, k] at output t·stride + k; the kernel is cut into stride-long chunks whose
     * contributions are shifted by whole frames and summed.
     */
    static NDArray convTransposeByMatmul(NDArray x, NDArray weight, NDArray bias, int stride) {
        Shape ws = weight.getShape();
        long b = x.getShape().get(0);
        long t = x.getShape().get(2);
        long cin = ws.get(0);
        long cout = ws.get(1);
        int kernel = (int) ws.get(2);
        int chunks = (kernel + stride - 1) / stride;
        // views owned by the call's manager: ops on the weights themselves would attach their results
        // to the model's shared manager, whose attach is synchronized
        NDArray w = weight.get(x.getManager(), new NDIndex(":"));
        if (chunks * stride != kernel) {
            w = w.pad(new Shape(0, chunks * stride - kernel), 0);
        }
        // (B, T, Cin) x (Cin, Cout·chunks·stride) → (B, T, Cout, chunks, stride)
        NDArray z = x.transpose(0, 2, 1).matMul(w.reshape(cin, cout * chunks * stride))
                .reshape(b, t, cout, chunks, stride);
        long total = (t + chunks - 1) * stride;
        NDArray out = null;
        for (int j = 0; j < chunks; j++) {
            NDArray part = z.get(new NDIndex(":, :, :, {}, :", j)).transpose(0, 2, 1, 3).reshape(b, cout, t * stride);
            part = part.pad(new Shape((long) j * stride, total - (long) j * stride - t * stride), 0);
            out = out == null ? part : out.add(part);
        }
        long length = (t - 1) * stride + kernel;
        if (length != total) {
            out = out.get(new NDIndex(":, :, :{}", length));
        }
        if (bias != null) {
            out = out.add(bias.get(x.getManager(), new NDIndex(":")).reshape(1, cout, 1));
        }
        return out;
    }

    /** The LSTM over time, step by step, PyTorch gate order i, f, g, o, zero initial state. */
    public NDArray runLstm(NDArray x) {
        return SeanetLayers.runLstm(x, lstm);
    }

    /** The fused libtorch LSTM; DJL's wrapper is only correct for hidden ≥ 32 with oneDNN on. */
    public NDArray runLstmFused(NDArray x) {
        return SeanetLayers.runLstmFused(x, lstm);
    }
}

package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.ModelLoadException;
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

    /**
     * A stack of PyTorch LSTM layers (gate order i, f, g, o; {@code biases} hold b_ih + b_hh), run
     * from a zero state over a sequence (T, B, C) → (T, B, H). EnCodec's LSTM and the voice-cloning
     * quantizer's both run here.
     */
    public record Lstm(List<NDArray> weightsIh, List<NDArray> weightsHh, List<NDArray> biases, int hidden) {

        /**
         * Step by step, the reference: each layer's input projections are GEMMs over blocks of steps,
         * only h·W_hhᵀ and the gates are computed per step, and each step's temporaries are freed as
         * it ends (a sequence of 500 steps otherwise kept about a dozen arrays per step alive).
         */
        public NDArray runSteps(NDArray seq) {
            long b = seq.getShape().get(1);
            // input projections a block of steps at a time, a few MB each (see PROJECTION_BYTES)
            return runSteps(seq, Math.max(1, PROJECTION_BYTES / (b * 4 * hidden * seq.getDataType().getNumOfBytes())));
        }

        /** {@link #runSteps(NDArray)} with the input projections of {@code block} steps at a time. */
        NDArray runSteps(NDArray seq, long block) {
            NDManager manager = seq.getManager();
            long t = seq.getShape().get(0);
            long b = seq.getShape().get(1);
            NDArray x = seq;
            for (int l = 0; l < weightsIh.size(); l++) {
                NDArray whh = weightsHh.get(l);
                NDArray h = manager.zeros(new Shape(b, hidden), seq.getDataType());
                NDArray c = manager.zeros(new Shape(b, hidden), seq.getDataType());
                NDList outputs = new NDList((int) t);
                NDArray projected = null;
                for (int step = 0; step < t; step++) {
                    if (step % block == 0) {
                        if (projected != null) {
                            projected.close();
                        }
                        try (NDArray in = x.get(new NDIndex("{}:{}", step, Math.min(t, step + block)))) {
                            projected = Ops.linear(in, weightsIh.get(l), biases.get(l)); // (block, B, 4H)
                        }
                    }
                    NDArray nextC;
                    NDArray nextH;
                    try (NDScope scope = new NDScope()) {
                        scope.suppressNotUsedWarning();
                        NDArray gates = Ops.linear(h, whh, projected.get(step % block)); // (B, 4H)
                        NDList s = JniUtils.sigmoid(Ops.pt(gates)).split(4, 1); // i, f, (g), o
                        NDArray g = gates.get(new NDIndex(":, {}:{}", 2L * hidden, 3L * hidden)).tanh();
                        nextC = s.get(1).mul(c).addi(s.get(0).muli(g));
                        nextH = s.get(3).mul(nextC.tanh());
                        NDScope.unregister(nextC, nextH);
                    }
                    c.close();
                    if (step == 0) {
                        h.close();
                    }
                    c = nextC;
                    h = nextH;
                    outputs.add(h);
                }
                c.close();
                if (projected != null) {
                    projected.close();
                }
                if (x != seq) {
                    x.close();
                }
                x = NDArrays.stack(outputs, 0);
                outputs.close();
            }
            return x;
        }

        /**
         * Input projections computed at once: 8 MB, 512 steps of the quantizer's 1024 units in FP32.
         * A whole long sequence's would pass glibc's 32 MB mmap limit, and on the 2-core VM this was
         * measured on every fresh mapping that large cost about 5 ms per MB in page faults.
         */
        static final long PROJECTION_BYTES = 8L << 20;

        /**
         * libtorch's fused LSTM. In FP32 libtorch runs it in oneDNN, which on an AMD Zen 5 host
         * returned wrong outputs for many hidden sizes (4-16, 36-48, 80, 100; right for 20-32, 56, 64,
         * 96 and multiples of 32 up to 1024). EnCodec's 128 and 512 units are right there; the
         * voice-cloning quantizer checks it against {@link #runSteps} before it uses it.
         */
        public NDArray runFused(NDArray seq) {
            long b = seq.getShape().get(1);
            int layers = weightsIh.size();
            NDArray zeros = seq.getManager().zeros(new Shape(layers, b, hidden), seq.getDataType());
            NDList params = new NDList();
            for (int l = 0; l < layers; l++) {
                params.add(weightsIh.get(l));
                params.add(weightsHh.get(l));
                params.add(biases.get(l));
                // zeros owned by the call's manager, not the weights' shared one (synchronized attach)
                params.add(seq.getManager().zeros(biases.get(l).getShape(), biases.get(l).getDataType()));
            }
            NDList out = JniUtils.lstm(Ops.pt(seq), new NDList(zeros, zeros), params, true, layers, 0, false, false,
                    false);
            return out.get(0);
        }
    }

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
        Conv first = conv(store, d + index++ + ".conv", c.hiddenSize(), scale * c.numFilters(), c.kernelSize(), 1, c);
        int channels = scale * c.numFilters();
        if (c.numLstmLayers() < 1) {
            throw new ModelLoadException("codec_config num_lstm_layers must be at least 1");
        }
        Lstm lstm = lstm(store, d + index++ + ".lstm", channels, c.numLstmLayers());
        List<UpsampleBlock> blocks = new ArrayList<>();
        for (int ratio : c.upsamplingRatios()) {
            index++; // ELU
            Conv up = transposed(store, d + index++ + ".conv", channels, channels / 2, 2 * ratio, ratio, c);
            channels /= 2;
            List<ResidualUnit> units = new ArrayList<>();
            for (int j = 0; j < c.numResidualLayers(); j++) {
                String r = d + index++ + ".";
                int hidden = channels / c.compress();
                int dilation = (int) Math.pow(c.dilationGrowthRate(), j);
                Conv a = conv(store, r + "block.1.conv", channels, hidden, c.residualKernelSize(), dilation, c);
                Conv b = conv(store, r + "block.3.conv", hidden, channels, 1, 1, c);
                Conv shortcut = c.useConvShortcut() ? conv(store, r + "shortcut.conv", channels, channels, 1, 1, c) : null;
                units.add(new ResidualUnit(a, b, shortcut));
            }
            blocks.add(new UpsampleBlock(up, List.copyOf(units)));
        }
        index++; // ELU
        Conv last = conv(store, d + index + ".conv", c.numFilters(), c.audioChannels(), c.lastKernelSize(), 1, c);
        return new CodecDecoder(c, List.copyOf(codebooks), first, lstm, List.copyOf(blocks), last,
                TransposedConv.MATMUL);
    }

    private static Conv conv(WeightStore s, String key, int in, int out, int kernel, int dilation, CodecConfig c) {
        NDArray w = normedWeight(s, key, new long[] {out, in, kernel}, c);
        NDArray b = s.load(key + ".bias", out);
        return new Conv(w, b, kernel, 1, dilation);
    }

    private static Conv transposed(WeightStore s, String key, int in, int out, int kernel, int stride, CodecConfig c) {
        NDArray w = normedWeight(s, key, new long[] {in, out, kernel}, c);
        NDArray b = s.load(key + ".bias", out);
        return new Conv(w, b, kernel, stride, 1);
    }

    /**
     * Weight norm folded once: w = g · v / ‖v‖ with the norm over every dim but the first, as PyTorch's
     * weight_norm(dim=0) computes. Accepts both the old {@code weight_g/weight_v} spelling and the
     * parametrizations one; a plain {@code weight} is taken as is.
     */
    private static NDArray normedWeight(WeightStore s, String key, long[] shape, CodecConfig c) {
        String g;
        String v;
        if (s.has(key + ".weight_g")) {
            g = key + ".weight_g";
            v = key + ".weight_v";
        } else if (s.has(key + ".parametrizations.weight.original0")) {
            g = key + ".parametrizations.weight.original0";
            v = key + ".parametrizations.weight.original1";
        } else if (s.has(key + ".weight")) {
            return s.load(key + ".weight", shape);
        } else {
            throw new ModelLoadException("Checkpoint lacks the codec weight '" + key + ".weight_g'/'weight_v'"
                    + " (or parametrizations.weight.original0/1)");
        }
        NDArray gain = s.load(g, shape[0], 1, 1);
        NDArray dir = s.load(v, shape);
        NDArray norm = dir.square().sum(new int[] {1, 2}, true).sqrt();
        NDArray w = dir.div(norm).muli(gain);
        norm.close();
        gain.close();
        dir.close();
        return w;
    }

    private static Lstm lstm(WeightStore s, String key, int hidden, int layers) {
        List<NDArray> ih = new ArrayList<>();
        List<NDArray> hh = new ArrayList<>();
        List<NDArray> biases = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            ih.add(s.load(key + ".weight_ih_l" + l, 4L * hidden, hidden));
            hh.add(s.load(key + ".weight_hh_l" + l, 4L * hidden, hidden));
            NDArray bi = s.load(key + ".bias_ih_l" + l, 4L * hidden);
            NDArray bh = s.load(key + ".bias_hh_l" + l, 4L * hidden);
            biases.add(bi.add(bh));
            bi.close();
            bh.close();
        }
        return new Lstm(List.copyOf(ih), List.copyOf(hh), List.copyOf(biases), hidden);
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
        x = (fusedLstm ? runLstmFused(x) : runLstm(x)).add(x);
        for (UpsampleBlock block : blocks) {
            NDArray in = x;
            x = Tensors.scoped(() -> upsampleBlock(in, block));
            in.close();
            NativeOps.releaseFreeMemory(); // what this block freed, before the next, larger one
        }
        NDArray in = x;
        x = Tensors.scoped(() -> eluConv(in, last, true));
        return x.squeeze(1);
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
        releaseFreedActivations(x);
        for (ResidualUnit u : block.units()) {
            NDArray y = eluConv(x, u.first(), false);
            releaseFreedActivations(x);
            NDArray skip = u.shortcut() == null ? x : applyConv(x, u.shortcut(), false);
            if (skip != x) {
                x.close(); // the shortcut was its last reader
            }
            releaseFreedActivations(skip);
            NDArray z = eluConv(y, u.second(), true);
            releaseFreedActivations(z);
            // in place: z + skip is skip + z bit for bit, without a fourth activation alive
            z.addi(skip);
            skip.close();
            x = z;
        }
        return x;
    }

    /** Activations from this size on are worth a heap trim after the ops that freed some. */
    private static final long TRIM_BYTES = 16L << 20;

    /**
     * Returns the C heap's free pages to the system once an op has freed activations as large as
     * {@code live} (the block's current one), a few milliseconds each: glibc's adaptive mmap
     * threshold puts libtorch's large activations on the heap, where a freed one stayed resident
     * until the next trim and the next, smaller one reused only part of it. Trimming inside the last
     * blocks, not only between them, lowered a 15 s generation's EnCodec peak by about 70 MB
     * (1471 -> 1398-1413 MB for BF16), as much as a fixed 4 MB mmap threshold did without that
     * setting's page faults on every large allocation elsewhere.
     */
    private static void releaseFreedActivations(NDArray live) {
        if (live.size() * live.getDataType().getNumOfBytes() >= TRIM_BYTES) {
            NativeOps.releaseFreeMemory();
        }
    }

    /**
     * conv(ELU(x)), freeing the ELU (and x when {@code consume}) as soon as the padded copy is
     * made, and the padded copy as soon as the convolution has read it.
     */
    private NDArray eluConv(NDArray x, Conv conv, boolean consume) {
        NDArray activated = Ops.elu(x);
        if (consume) {
            x.close();
        }
        return applyConv(activated, conv, true);
    }

    private NDArray applyConv(NDArray x, Conv conv) {
        return applyConv(x, conv, false);
    }

    /** The convolution with EnCodec's padding; with {@code consume}, x is closed once padded. */
    private NDArray applyConv(NDArray x, Conv conv, boolean consume) {
        int effective = (conv.kernel() - 1) * conv.dilation() + 1;
        int padTotal = effective - conv.stride();
        int left;
        int right;
        if (config.useCausalConv()) {
            left = padTotal;
            right = 0;
        } else {
            right = padTotal / 2;
            left = padTotal - right;
        }
        NDArray padded = pad(x, left, right);
        if (consume && padded != x) {
            x.close();
        }
        NDArray out = Ops.conv1d(padded, conv.weight(), conv.bias(), conv.stride(), conv.dilation());
        if (consume || padded != x) {
            padded.close();
        }
        return out;
    }

    /** Pads the time axis by reflection (or zeros), as EnCodec's _pad1d, including its short-input rule. */
    NDArray pad(NDArray x, int left, int right) {
        if (left == 0 && right == 0) {
            return x;
        }
        if (!config.padMode().equals("reflect")) {
            return x.pad(new Shape(left, right), 0);
        }
        long length = x.getShape().get(2);
        int maxPad = Math.max(left, right);
        int extra = 0;
        if (length <= maxPad) {
            // reflection needs more samples than there are: zero-extend first, cut it off after
            extra = (int) (maxPad - length + 1);
            x = x.pad(new Shape(0, extra), 0);
            length += extra;
        }
        NDList parts = new NDList();
        if (left > 0) {
            parts.add(x.get(new NDIndex(":, :, 1:{}", left + 1)).flip(2));
        }
        parts.add(x);
        if (right > 0) {
            parts.add(x.get(new NDIndex(":, :, {}:{}", length - 1 - right, length - 1)).flip(2));
        }
        NDArray out = NDArrays.concat(parts, 2);
        if (extra > 0) {
            out = out.get(new NDIndex(":, :, :{}", out.getShape().get(2) - extra));
        }
        return out;
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

    /** The 2-layer LSTM over time, step by step, PyTorch gate order i, f, g, o, zero initial state. */
    public NDArray runLstm(NDArray x) {
        // x (B, C, T) → sequence (T, B, C)
        return lstm.runSteps(x.transpose(2, 0, 1)).transpose(1, 2, 0);
    }

    /** The fused libtorch LSTM; DJL's wrapper is only correct for hidden ≥ 32 with oneDNN on. */
    public NDArray runLstmFused(NDArray x) {
        return lstm.runFused(x.transpose(2, 0, 1)).transpose(1, 2, 0);
    }
}

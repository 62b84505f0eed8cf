package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.model.CodecDecoder.Conv;
import io.github.bark4j.internal.model.CodecDecoder.ResidualUnit;
import io.github.bark4j.internal.nativ.NativeOps;

import java.util.ArrayList;
import java.util.List;

/**
 * The SEANet pieces EnCodec's encoder and decoder share: loading weight-normed convolutions, residual
 * units and the LSTM, and running them with EnCodec's padding (reflect or zeros, causal or centred,
 * plus the extra right padding a strided convolution needs to cover the whole input).
 */
final class SeanetLayers {
    private SeanetLayers() {}

    /** A convolution (Cout, Cin, K) with its weight norm folded in, and its bias. */
    static Conv conv(WeightStore s, String key, int in, int out, int kernel, int stride, int dilation) {
        NDArray w = normedWeight(s, key, new long[] {out, in, kernel});
        NDArray b = s.load(key + ".bias", out);
        return new Conv(w, b, kernel, stride, dilation);
    }

    /**
     * A residual unit under {@code prefix} ("….layers.N."): ELU, a {@code residual_kernel_size}
     * convolution down to channels / compress with dilation growth^j, ELU, a 1-wide convolution back,
     * plus a 1-wide shortcut convolution when {@code use_conv_shortcut} (else the identity).
     */
    static ResidualUnit residualUnit(WeightStore s, String prefix, int channels, int j, CodecConfig c) {
        int hidden = channels / c.compress();
        int dilation = (int) Math.pow(c.dilationGrowthRate(), j);
        Conv a = conv(s, prefix + "block.1.conv", channels, hidden, c.residualKernelSize(), 1, dilation);
        Conv b = conv(s, prefix + "block.3.conv", hidden, channels, 1, 1, 1);
        Conv shortcut = c.useConvShortcut() ? conv(s, prefix + "shortcut.conv", channels, channels, 1, 1, 1) : null;
        return new ResidualUnit(a, b, shortcut);
    }

    /**
     * Weight norm folded once: w = g · v / ‖v‖ with the norm over every dim but the first, as PyTorch's
     * weight_norm(dim=0) computes. Accepts both the old {@code weight_g/weight_v} spelling and the
     * parametrizations one; a plain {@code weight} is taken as is.
     */
    static NDArray normedWeight(WeightStore s, String key, long[] shape) {
        NDArray w = WeightNorm.load(s::has, s::load, key + ".", shape, 0);
        if (w == null) {
            throw new ModelLoadException("Checkpoint lacks the codec weight '" + key + ".weight_g'/'weight_v'"
                    + " (or parametrizations.weight.original0/1)");
        }
        return w;
    }

    /** PyTorch {@code nn.LSTM(hidden, hidden, layers)} weights, each layer's two biases summed. */
    static Lstm lstm(WeightStore s, String key, int hidden, int layers) {
        if (layers < 1) {
            throw new ModelLoadException("codec_config num_lstm_layers must be at least 1");
        }
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

    /**
     * One residual unit, x + block(x) (or shortcut(x) + block(x)), closing every intermediate (and
     * x) as soon as the next op has read it: it holds at most three activations at once (its input
     * until the shortcut has read it, the shortcut, the second conv's output, which takes the sum
     * in place). Consumes x.
     */
    static NDArray residualUnit(NDArray x, ResidualUnit u, CodecConfig c) {
        NDArray y = eluConv(x, u.first(), c, false);
        releaseFreedActivations(x);
        NDArray skip = u.shortcut() == null ? x : applyConv(x, u.shortcut(), c, false);
        if (skip != x) {
            x.close(); // the shortcut was its last reader
        }
        releaseFreedActivations(skip);
        NDArray z = eluConv(y, u.second(), c, true);
        releaseFreedActivations(z);
        // in place: z + skip is skip + z bit for bit, without a fourth activation alive
        z.addi(skip);
        skip.close();
        return z;
    }

    /**
     * conv(ELU(x)), freeing the ELU (and x when {@code consume}) as soon as the padded copy is
     * made, and the padded copy as soon as the convolution has read it.
     */
    static NDArray eluConv(NDArray x, Conv conv, CodecConfig c, boolean consume) {
        NDArray activated = Ops.elu(x);
        if (consume) {
            x.close();
        }
        return applyConv(activated, conv, c, true);
    }

    /**
     * The convolution with EnCodec's padding: kernel − stride frames in all (effective kernel with
     * dilation), on the left when causal, else split with the odd one on the left; plus, on the
     * right, what the last window needs to be whole, so a strided convolution gives ceil(T / stride)
     * frames (none for stride 1). With {@code consume}, x is closed once padded.
     */
    static NDArray applyConv(NDArray x, Conv conv, CodecConfig c, boolean consume) {
        int effective = (conv.kernel() - 1) * conv.dilation() + 1;
        int padTotal = effective - conv.stride();
        long length = x.getShape().get(2);
        int extra = Math.toIntExact(extraPadding(length, effective, conv.stride(), padTotal));
        int left;
        int right;
        if (c.useCausalConv()) {
            left = padTotal;
            right = extra;
        } else {
            right = padTotal / 2 + extra;
            left = padTotal - padTotal / 2;
        }
        NDArray padded = pad(x, left, right, c.padMode());
        if (consume && padded != x) {
            x.close();
        }
        NDArray out = Ops.conv1d(padded, conv.weight(), conv.bias(), conv.stride(), conv.dilation());
        if (consume || padded != x) {
            padded.close();
        }
        return out;
    }

    /**
     * EnCodec's get_extra_padding_for_conv1d: the right padding that makes the last window whole,
     * (ceil((T − K + P) / S + 1) − 1)·S + K − P − T, in integers. For P = K − S this is
     * ceil(T / S)·S − T: zero for S = 1.
     */
    static long extraPadding(long length, int kernel, int stride, int padTotal) {
        long frames = Math.floorDiv(length - kernel + padTotal + stride - 1, stride) + 1; // ceil of the real ratio + 1
        long ideal = (frames - 1) * stride + (kernel - padTotal);
        return ideal - length;
    }

    /** Pads the time axis by reflection (or zeros), as EnCodec's _pad1d, including its short-input rule. */
    static NDArray pad(NDArray x, int left, int right, String padMode) {
        if (left == 0 && right == 0) {
            return x;
        }
        if (!padMode.equals("reflect")) {
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
    static void releaseFreedActivations(NDArray live) {
        if (live.size() * live.getDataType().getNumOfBytes() >= TRIM_BYTES) {
            NativeOps.releaseFreeMemory();
        }
    }

    /** The LSTM over time, step by step ({@link Lstm#runSteps}): x (B, C, T) → (B, H, T). */
    static NDArray runLstm(NDArray x, Lstm lstm) {
        return lstm.runSteps(x.transpose(2, 0, 1)).transpose(1, 2, 0);
    }

    /** The fused libtorch LSTM ({@link Lstm#runFused}): x (B, C, T) → (B, H, T). */
    static NDArray runLstmFused(NDArray x, Lstm lstm) {
        return lstm.runFused(x.transpose(2, 0, 1)).transpose(1, 2, 0);
    }
}

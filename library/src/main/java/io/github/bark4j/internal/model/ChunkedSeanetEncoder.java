package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;

import io.github.bark4j.internal.model.CodecDecoder.Conv;
import io.github.bark4j.internal.model.CodecDecoder.ResidualUnit;
import io.github.bark4j.internal.model.CodecEncoder.DownsampleBlock;

import java.util.ArrayList;
import java.util.List;

/**
 * The causal SEANet encoder's convolutions (everything before the LSTM) over consecutive chunks of
 * the waveform rather than the whole recording at once, with the same result.
 *
 * <p>Why: the first blocks of 10 s of 24 kHz audio are 240 000 frames of 32 and 64 channels, 30 MB
 * per activation, and a residual unit with its ELUs, padded copies and shortcut makes about ten of
 * them. Each was a fresh allocation whose pages the kernel had to fault in (about 10 µs per 4 KB page
 * on the 2-core VM it was measured on: 75 ms per activation), and the ELUs and copies streamed them
 * through memory; page faults and copies were two thirds of the encoder's time. Chunks of a few MB
 * reuse the same freed heap blocks from chunk to chunk and stay in the cache.
 *
 * <p>How: EnCodec's causal convolution pads only on the left, by {@code P = (K − 1)·d + 1 − S}
 * samples (reflected at the start), plus on the right, at the very end, what the last strided window
 * needs. So a convolution's outputs for one chunk need its own input chunk and the {@code P} input
 * samples before it: each convolution with {@code P > 0} carries those from chunk to chunk (its
 * {@link Carry}). Chunks start at multiples of the hop length (the product of the strides), so every
 * layer's chunk starts on one of its output frames; the first chunk is reflect-padded as EnCodec pads
 * the whole input, the last gets the right padding, and both are at least one whole chunk long, so
 * the reflections read the same samples as on the whole input. Elementwise ELU commutes with padding
 * and concatenation, so it is applied after them. Each output frame is the same sum over the same
 * inputs; only libtorch's choice of convolution algorithm for the shorter width changes the order of
 * its terms: on the tiny-clone fixture chunked and whole embeddings differ by about 1e-14 in FP64 and
 * 1e-5 in FP32 (FP32 itself is 1e-4 from the FP64 reference), and the codes are the same.
 *
 * <p>Measured on 10 s at bark-small's real size, one libtorch thread of a loaded 2-core Zen 5 VM: the
 * whole encoder (LSTM and quantizer included) went from 2.8-3.4 s of CPU to 0.55-0.76 s.
 */
final class ChunkedSeanetEncoder {
    /** Hops (320 samples at 24 kHz) per chunk: 16 000 samples, 2 MB per 32-channel activation in FP32. */
    static final int DEFAULT_CHUNK_HOPS = 50;

    private ChunkedSeanetEncoder() {}

    /**
     * Whether {@code samples} are worth chunks of {@code chunkSamples}, and the config allows them:
     * causal convolutions (EnCodec 24 kHz; the 48 kHz model's are centred) and at least two whole
     * chunks, so that the first and the last are whole.
     */
    static boolean applies(CodecConfig c, long samples, long chunkSamples) {
        return c.useCausalConv() && chunkSamples % c.hopLength() == 0 && samples >= 2 * chunkSamples;
    }

    /**
     * The input carried by one causal convolution from chunk to chunk: the last {@code P} samples of
     * its (not yet activated) input, (B, C, P).
     */
    private static final class Carry {
        final Conv conv;
        final int padTotal;
        NDArray tail;

        Carry(Conv conv) {
            this.conv = conv;
            this.padTotal = (conv.kernel() - 1) * conv.dilation() + 1 - conv.stride();
        }
    }

    /** The carries of one residual unit and the strided convolution of a block. */
    private record BlockCarries(List<Carry> units, Carry strided) {}

    /**
     * The convolution stack of {@link CodecEncoder} (first convolution, then each downsampling block)
     * of wav (B, 1, T) in chunks of {@code chunkSamples}: (B, C, ceil(T / hop)), C the LSTM's width.
     * Requires {@link #applies}; wav is read, not consumed.
     */
    static NDArray convolutions(NDArray wav, Conv first, List<DownsampleBlock> blocks, CodecConfig c,
            long chunkSamples) {
        long samples = wav.getShape().get(2);
        if (!applies(c, samples, chunkSamples)) {
            throw new IllegalArgumentException("chunks of " + chunkSamples + " samples do not apply to " + samples
                    + " samples (causal " + c.useCausalConv() + ", hop " + c.hopLength() + ")");
        }
        Carry firstCarry = new Carry(first);
        List<BlockCarries> carries = new ArrayList<>();
        for (DownsampleBlock b : blocks) {
            List<Carry> units = new ArrayList<>();
            for (ResidualUnit u : b.units()) {
                units.add(new Carry(u.first()));
            }
            carries.add(new BlockCarries(units, new Carry(b.strided())));
        }
        long chunks = samples / chunkSamples; // the last one takes the remainder too: at least one whole chunk
        NDList outputs = new NDList((int) chunks);
        try {
            for (long i = 0; i < chunks; i++) {
                long from = i * chunkSamples;
                long to = i == chunks - 1 ? samples : from + chunkSamples;
                boolean isFirst = i == 0;
                boolean isLast = i == chunks - 1;
                outputs.add(Tensors.scoped(() -> chunk(wav.get(new NDIndex(":, :, {}:{}", from, to)), firstCarry,
                        blocks, carries, c, isFirst, isLast)));
            }
            return NDArrays.concat(outputs, 2);
        } finally {
            outputs.close();
            close(firstCarry);
            for (BlockCarries b : carries) {
                b.units().forEach(ChunkedSeanetEncoder::close);
                close(b.strided());
            }
        }
    }

    private static void close(Carry carry) {
        if (carry.tail != null) {
            carry.tail.close();
            carry.tail = null;
        }
    }

    /** One chunk through the stack; x is its audio, (B, 1, chunk). */
    private static NDArray chunk(NDArray x, Carry firstCarry, List<DownsampleBlock> blocks, List<BlockCarries> carries,
            CodecConfig c, boolean isFirst, boolean isLast) {
        x = causalConv(x, firstCarry, false, c, isFirst, isLast);
        for (int b = 0; b < blocks.size(); b++) {
            DownsampleBlock block = blocks.get(b);
            BlockCarries carry = carries.get(b);
            for (int j = 0; j < block.units().size(); j++) {
                ResidualUnit u = block.units().get(j);
                NDArray hidden = causalConv(x, carry.units().get(j), true, c, isFirst, isLast);
                NDArray activated = Ops.elu(hidden);
                hidden.close();
                NDArray y = conv(activated, u.second());
                activated.close();
                if (u.shortcut() == null) {
                    y.addi(x);
                } else {
                    NDArray skip = conv(x, u.shortcut());
                    y.addi(skip);
                    skip.close();
                }
                x.close();
                x = y;
            }
            NDArray down = causalConv(x, carry.strided(), true, c, isFirst, isLast);
            x.close();
            x = down;
        }
        return x;
    }

    /** A convolution of one input sample per output (kernel 1, stride 1): no padding, nothing carried. */
    private static NDArray conv(NDArray x, Conv conv) {
        if (conv.kernel() != 1 || conv.stride() != 1) {
            throw new IllegalStateException("expected a 1-wide convolution, got kernel " + conv.kernel() + " stride "
                    + conv.stride());
        }
        return Ops.conv1d(x, conv.weight(), conv.bias(), 1, 1);
    }

    /**
     * The causal convolution (after ELU when {@code activate}) of one chunk x (B, C, L): the carried
     * samples (the start's reflection for the first chunk) in front, the end's padding behind the
     * last; then carries this input's last samples to the next chunk. x is read, not consumed.
     */
    private static NDArray causalConv(NDArray x, Carry carry, boolean activate, CodecConfig c, boolean isFirst,
            boolean isLast) {
        Conv conv = carry.conv;
        int p = carry.padTotal;
        long length = x.getShape().get(2);
        int right = 0;
        if (isLast) {
            int effective = (conv.kernel() - 1) * conv.dilation() + 1;
            right = Math.toIntExact(SeanetLayers.extraPadding(length, effective, conv.stride(), p));
        }
        NDArray input;
        if (isFirst) {
            input = SeanetLayers.pad(x, p, right, c.padMode());
        } else {
            NDArray body = right > 0 ? SeanetLayers.pad(x, 0, right, c.padMode()) : x;
            input = p > 0 ? NDArrays.concat(new NDList(carry.tail, body), 2) : body;
            if (body != x && body != input) {
                body.close();
            }
        }
        if (!isLast && p > 0) {
            NDArray tail;
            try (NDArray view = input.get(new NDIndex(":, :, {}:", input.getShape().get(2) - p))) {
                tail = view.duplicate(); // its own storage: a view would keep this chunk's input alive
            }
            NDScope.unregister(tail);
            if (carry.tail != null) {
                carry.tail.close();
            }
            carry.tail = tail;
        }
        NDArray activated = activate ? Ops.elu(input) : input;
        if (activated != input && input != x) {
            input.close();
        }
        NDArray out = Ops.conv1d(activated, conv.weight(), conv.bias(), conv.stride(), conv.dilation());
        if (activated != x) {
            activated.close();
        }
        return out;
    }
}

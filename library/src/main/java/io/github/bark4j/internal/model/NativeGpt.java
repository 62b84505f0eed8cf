package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;

import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeLibrary;
import io.github.bark4j.internal.nativ.NativeOps;
import io.github.bark4j.internal.nativ.NativeOpsBridge;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A {@link Gpt}'s forward passes as one native call each.
 *
 * <ul>
 *   <li>{@link #step}, causal models ({@code bark4j_gpt_step.h}): for one new position of every
 *       row it embeds the tokens, runs every block (norms, q|k|v, the KV write into the caller's
 *       {@link KvCache}, attention over the cached positions, MLP) and the head, with the bridge's
 *       small-batch kernels for the matmuls, and hands back only the logits of the vocabulary range
 *       the stage samples from. Sampling stays in Java (the pipeline's {@code Sampler}), so seeded runs draw the
 *       same stream with or without the bridge.
 *   <li>{@link #pass}, every model ({@code bark4j_gpt_pass.h}): a whole window (a prompt, a coarse
 *       re-prefill, a fine pass) through every block, filling the cache of a causal model, up to
 *       the final norm; Java makes no tensor per layer. Matmuls and attention run on the bridge's
 *       own kernels where the CPU has them ({@code bark4j_gemm.h}: FP32 on AVX-512, bfloat16 on
 *       AVX-512 BF16; {@code bark4j_attention.h}), else on libtorch's GEMM and fused SDPA.
 * </ul>
 *
 * <p>Reads the {@link GptWeights} in place (FP32 or FP64), and with bfloat16 the {@link
 * Bf16Matmuls} of the model (or its own, when the model has none) for the matmul weights and the
 * head (norms, embeddings, biases, residual and logits stay FP32). Must be closed before the
 * weights' manager. The plan is read-only once made and each
 * thread steps with its own scratch, so concurrent generations on one model step at the same time;
 * only {@link #close()} waits for steps in flight.
 */
public final class NativeGpt implements AutoCloseable {
    private final GptConfig config;
    private final boolean isDouble;
    private final boolean bf16;
    /** bfloat16 weights this step rounded itself (the model had none), closed with it; or null. */
    private final Bf16Matmuls ownBf16;
    private long plan;
    /** Steps share the plan (read lock); {@link #close()} frees it (write lock) once none runs. */
    private final ReentrantReadWriteLock planLock = new ReentrantReadWriteLock();

    private NativeGpt(GptConfig config, boolean isDouble, boolean bf16, Bf16Matmuls ownBf16, long plan) {
        this.config = config;
        this.isDouble = isDouble;
        this.bf16 = bf16;
        this.ownBf16 = ownBf16;
        this.plan = plan;
    }

    /** Whether {@code gpt}'s weights can be read by the native passes (FP32 or FP64, on the CPU). */
    static boolean supports(Gpt gpt) {
        if (!NativeLibrary.isAvailable()) {
            return false;
        }
        DataType matmul = gpt.weights().positionEmbedding().getDataType();
        DataType norms = gpt.weights().finalNormWeight().getDataType();
        return (matmul == DataType.FLOAT32 || matmul == DataType.FLOAT64) && matmul == norms
                && ai.djl.Device.Type.CPU.equals(gpt.weights().positionEmbedding().getDevice().getDeviceType());
    }

    /**
     * Prepares the native step of a causal model.
     *
     * @param bf16 read the matmul weights and the head as bfloat16: the model's {@link
     *     Gpt#bf16Matmuls()}, or copies rounded here (FP32 models only)
     */
    static NativeGpt create(Gpt gpt, boolean bf16) {
        GptConfig c = gpt.config();
        if (!supports(gpt)) {
            throw new IllegalArgumentException("the native passes need an FP32 or FP64 model on the CPU"
                    + " and the native bridge" + (NativeLibrary.isAvailable() ? "" : ": " + NativeLibrary.unavailableReason()));
        }
        GptWeights w = gpt.weights();
        boolean isDouble = w.positionEmbedding().getDataType() == DataType.FLOAT64;
        if (bf16 && isDouble) {
            throw new IllegalArgumentException("bf16 weights are rounded from an FP32 model");
        }
        List<NDArray> order = new ArrayList<>();
        order.add(w.inputEmbeddings().get(0));
        order.add(w.positionEmbedding());
        order.add(w.finalNormWeight());
        order.add(w.finalNormBias());
        order.add(w.heads().get(0));
        for (GptWeights.Layer l : w.layers()) {
            order.add(l.norm1Weight());
            order.add(l.norm1Bias());
            order.add(l.attnProjWeight());
            order.add(l.attnProjBias());
            order.add(l.attnOutWeight());
            order.add(l.attnOutBias());
            order.add(l.norm2Weight());
            order.add(l.norm2Bias());
            order.add(l.mlpInWeight());
            order.add(l.mlpInBias());
            order.add(l.mlpOutWeight());
            order.add(l.mlpOutBias());
        }
        Bf16Matmuls matmuls = bf16 ? gpt.bf16Matmuls() : null;
        Bf16Matmuls own = bf16 && matmuls == null ? Bf16Matmuls.round(w) : null;
        try {
            if (own != null) {
                matmuls = own;
            }
            long[] addresses = new long[order.size()];
            for (int i = 0; i < addresses.length; i++) {
                NDArray a = order.get(i);
                addresses[i] = a == null ? 0L
                        : matmuls != null && matmuls.holds(a) ? matmuls.address(a)
                        : NativeKernels.address(a, "weight " + i);
            }
            // the passes' GEMMs take the same weights as tensors (checked contiguous just above)
            long[] tensors = new long[4 * w.layers().size()];
            int t = 0;
            for (GptWeights.Layer l : w.layers()) {
                for (NDArray a : new NDArray[] {l.attnProjWeight(), l.attnOutWeight(), l.mlpInWeight(),
                    l.mlpOutWeight()}) {
                    tensors[t++] = matmuls != null ? matmuls.tensor(a) : ((PtNDArray) a).getHandle();
                }
            }
            int[] cfg = {c.numLayers(), c.numHeads(), c.hiddenSize(), c.inputVocabSize(), c.outputVocabSize(),
                c.blockSize(), isDouble ? 1 : 0,
                isDouble ? NativeKernels.F64 : bf16 ? NativeKernels.BF16 : NativeKernels.F32,
                matmuls != null && matmuls.holdsEmbedding(w.inputEmbeddings().get(0)) ? 1 : 0};
            long plan = NativeOpsBridge.gptCreate(cfg, addresses, tensors);
            return new NativeGpt(c, isDouble, bf16, own, plan);
        } catch (RuntimeException e) {
            if (own != null) {
                own.close();
            }
            throw e;
        }
    }

    boolean isBf16() {
        return bf16;
    }

    /**
     * Whether steps and passes can use {@code cache}: one of the activation dtype, or, with FP32
     * activations, a bfloat16 cache ({@link KvCache#bf16}).
     */
    boolean holds(KvCache cache) {
        DataType expected = isDouble ? DataType.FLOAT64 : DataType.FLOAT32;
        return cache.dataType() == expected || (!isDouble && cache.isBf16());
    }

    /**
     * One decode step: feeds {@code ids} (one per row of {@code cache}) at position {@code
     * cache.length()}, writes their keys and values into the cache and advances it.
     *
     * @return the logits of vocabulary entries [from, to) of every row, row-major
     */
    double[] step(long[] ids, KvCache cache, int from, int to) {
        double[] logits = new double[ids.length * Math.max(0, to - from)];
        run(ids, cache, from, to, logits, null);
        return logits;
    }

    /**
     * A greedy decode step: like {@link #step}, but only each row's argmax over vocabulary entries
     * [from, to) comes back (relative to {@code from}; the first of equal maxima, as {@link
     * Logits#argmax}), not the logits.
     */
    int[] stepArgmax(long[] ids, KvCache cache, int from, int to) {
        int[] best = new int[ids.length];
        run(ids, cache, from, to, null, best);
        return best;
    }

    private void run(long[] ids, KvCache cache, int from, int to, double[] logits, int[] argmax) {
        planLock.readLock().lock();
        try {
            runLocked(ids, cache, from, to, logits, argmax);
        } finally {
            planLock.readLock().unlock();
        }
    }

    private void runLocked(long[] ids, KvCache cache, int from, int to, double[] logits, int[] argmax) {
        int rows = ids.length;
        if (plan == 0) {
            throw new IllegalStateException("native step closed");
        }
        if (!config.isCausal()) {
            throw new IllegalStateException(config.name() + " is not causal: it has no decode step");
        }
        if (rows != cache.batch()) {
            throw new IllegalArgumentException(rows + " ids for a cache of " + cache.batch() + " rows");
        }
        if (from < 0 || to > config.outputVocabSize() || from >= to) {
            throw new IllegalArgumentException("logit range [" + from + ", " + to + ") outside the vocabulary of "
                    + config.outputVocabSize());
        }
        int position = cache.length();
        if (position >= cache.capacity() || position >= config.blockSize()) {
            throw new IllegalStateException("KV cache overflow: position " + position + " of " + cache.capacity());
        }
        DataType expected = isDouble ? DataType.FLOAT64 : DataType.FLOAT32;
        if (!holds(cache)) {
            throw new IllegalArgumentException("the cache holds " + cache.dataType() + ", the step computes in "
                    + expected);
        }
        NativeOpsBridge.gptStep(plan, ids, rows, position, cache.handles(), cache.isBf16(), cache.capacity(), from,
                to, logits, argmax);
        cache.advance(1);
    }

    /**
     * A full pass: every block over every position of {@code x}, then the final norm (the head is
     * the caller's, which picks its matmul for the rows it has).
     *
     * @param x (B, T, H) input embeddings plus positions, contiguous, in the activation dtype;
     *     overwritten with the residual stream
     * @param cache null, or the empty cache of a causal model, which gets positions 0..T-1 and
     *     advances by T
     * @return the final-normed hidden states, (B, H) of the last position when {@code lastOnly}
     *     else (B, T, H), attached to x's manager
     */
    NDArray pass(NDArray x, KvCache cache, boolean lastOnly) {
        planLock.readLock().lock();
        try {
            return passLocked(x, cache, lastOnly);
        } finally {
            planLock.readLock().unlock();
        }
    }

    private NDArray passLocked(NDArray x, KvCache cache, boolean lastOnly) {
        if (plan == 0) {
            throw new IllegalStateException("native step closed");
        }
        Shape s = x.getShape();
        DataType dtype = isDouble ? DataType.FLOAT64 : DataType.FLOAT32;
        if (s.dimension() != 3 || s.get(2) != config.hiddenSize() || x.getDataType() != dtype) {
            throw new IllegalArgumentException("a pass takes " + dtype + " (B, T, " + config.hiddenSize()
                    + "), got " + x.getDataType() + " " + s);
        }
        int rows = (int) s.get(0);
        int length = (int) s.get(1);
        if (length > config.blockSize()) {
            throw new IllegalArgumentException(length + " positions exceed the block size " + config.blockSize());
        }
        PtNDArray input = (PtNDArray) x;
        if (!NativeKernels.Contiguity.isContiguous(input)) {
            throw new IllegalArgumentException("a pass needs a contiguous input");
        }
        if (cache != null) {
            if (!config.isCausal()) {
                throw new IllegalArgumentException(config.name() + " is not causal: it has no KV cache");
            }
            if (cache.length() != 0 || cache.batch() != rows || length > cache.capacity() || !holds(cache)) {
                throw new IllegalArgumentException("a pass fills an empty " + dtype + " cache of " + rows
                        + " rows and at least " + length + " positions, got " + cache.dataType() + ", "
                        + cache.batch() + " rows, " + cache.length() + " of " + cache.capacity() + " used");
            }
        }
        PtNDArray out = (PtNDArray) x.getManager().create(
                lastOnly ? new Shape(rows, config.hiddenSize()) : s, dtype);
        long[] created = new long[NativeOpsBridge.PASS_SCRATCH + config.numLayers()];
        try {
            NativeOpsBridge.gptPass(plan, input.getHandle(), rows, length, config.isCausal(),
                    cache == null ? null : cache.handles(), cache != null && cache.isBf16(),
                    cache == null ? 0 : cache.capacity(), out.getHandle(),
                    lastOnly, created);
        } catch (RuntimeException e) {
            out.close();
            throw e;
        } finally {
            for (long handle : created) {
                NativeOps.freeTensor(handle);
            }
        }
        if (cache != null) {
            cache.advance(length);
        }
        return out;
    }

    @Override
    public void close() {
        planLock.writeLock().lock();
        try {
            if (plan != 0) {
                NativeOpsBridge.gptFree(plan);
                plan = 0;
            }
            if (ownBf16 != null) {
                ownBf16.close();
            }
        } finally {
            planLock.writeLock().unlock();
        }
    }
}

package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeOps;
import io.github.bark4j.internal.nativ.NativeOpsBridge;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The matmul weights of one {@link Gpt} (the four projections of every layer and the heads)
 * rounded once to bfloat16, for {@link Precision#BF16}. The tensors live in the native bridge only
 * (DJL aborts the JVM on bfloat16), and three paths read them:
 *
 * <ul>
 *   <li>{@link NativeGpt#pass}: the prompt passes, the coarse re-prefills and the fine passes
 *       (with the native step and SDPA) multiply by these tensors with activations written as
 *       bfloat16 by the pass's own loops: bark4j's bfloat16 GEMM where the CPU has AVX-512 BF16
 *       (FP32 products), libtorch's elsewhere.
 *   <li>{@link #linear}: the heads, and the same passes on the Java path. Many rows
 *       go to libtorch's bfloat16 GEMM (oneDNN, AVX-512 BF16 where the CPU has it: about twice the
 *       FP32 GEMM's FLOP rate), which rounds x and the product to bfloat16; up to {@link
 *       #KERNEL_ROWS} rows go to the bridge's small-batch kernel, which keeps x and the result in
 *       FP32 (the last position's logits of a prompt pass, for example). A head over many rows
 *       (the fine passes' logits) stays an FP32 GEMM on the FP32 weights.
 *   <li>{@link NativeGpt#step}: the decode step reads the same tensors in place ({@link #address}).
 * </ul>
 *
 * Biases, norms, embeddings, the residual stream and the logits stay FP32. Must be closed before
 * the weights' manager.
 */
public final class Bf16Matmuls implements AutoCloseable {
    /** At most this many rows: the small-batch kernel (FP32 x and result), else the bf16 GEMM. */
    static final int KERNEL_ROWS = 16;

    /** What a weight is to the model: which copies {@link #whileLoading} keeps depends on it. */
    enum Kind { MATMUL, HEAD, EMBEDDING }

    private record Rounded(long tensor, long address, long out, long in, Kind kind) {}

    /** Keyed by the FP32 weight's identity: {@link Gpt} looks its weights up as it goes. */
    private final Map<NDArray, Rounded> byWeight = new IdentityHashMap<>();
    /** Whether {@link #load} rounds for a causal model (else the fine one's FP32 copies stay). */
    private final boolean causalModel;
    private volatile boolean closed;

    private Bf16Matmuls(boolean causalModel) {
        this.causalModel = causalModel;
    }

    /** Rounds every matmul weight and head of {@code weights} (FP32, on the CPU); the FP32 ones stay. */
    static Bf16Matmuls round(GptWeights weights) {
        Bf16Matmuls m = new Bf16Matmuls(false);
        try {
            m.add(weights, false);
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * An empty set for a whole model in bfloat16 ({@link Precision#BF16}), which {@link
     * GptWeights#load} fills through {@link #load} as it reads the checkpoint, one tensor at a time:
     * every matmul weight and head, and a causal model's input embedding table, is rounded as
     * soon as it is read. Where the model keeps no FP32 copy (the layers' matmul weights, half of
     * bark-small's 1.6 GB, and a causal model's embedding table and head) the bfloat16 copy is
     * made straight from the checkpoint's float32 bytes, so no FP32 copy ever exists in memory
     * the process owns and loading never holds a tensor twice; a causal model's embedding table is
     * then gathered in bfloat16 ({@link #embed}; the semantic one is 398 MB in FP32), and its
     * head's many-row GEMM, which generation never runs, rounds the logits to bfloat16 too. The
     * fine model keeps its FP32 heads, for the FP32 GEMM of its logits, and its eight small
     * embedding tables (26 MB), whose sum in bfloat16 measured up to 0.46 from FP32 in first-pass
     * logits against 0.44 without, too close to the bound.
     */
    static Bf16Matmuls whileLoading(boolean causal) {
        return new Bf16Matmuls(causal);
    }

    /**
     * Reads {@code key} (exactly {@code shape}) from {@code store} and rounds it, where this model
     * rounds that {@code kind} of weight (see {@link #whileLoading}). Returns what {@link GptWeights} holds for
     * it: the FP32 weight where the model keeps it, else a closed stand-in that only names the
     * bfloat16 copy here (by identity, as every lookup does).
     */
    NDArray load(WeightStore store, String key, Kind kind, long... shape) {
        if (kind == Kind.EMBEDDING && !causalModel) {
            return store.load(key, shape);
        }
        if (kind == Kind.HEAD && !causalModel) {
            NDArray w = store.load(key, shape);
            try {
                add(w, kind);
            } catch (RuntimeException e) {
                w.close();
                throw e;
            }
            return w;
        }
        // rounded from the checkpoint's own bytes, closed by the store once read
        return store.readFloat32(key, view -> add(view, kind), shape);
    }

    /** Rounds a head that {@link GptWeights#load} tied to an input embedding table it keeps. */
    void addTiedHead(NDArray table) {
        add(table, Kind.HEAD);
    }

    private void add(GptWeights weights, boolean embeddings) {
        for (GptWeights.Layer l : weights.layers()) {
            add(l.attnProjWeight(), Kind.MATMUL);
            add(l.attnOutWeight(), Kind.MATMUL);
            add(l.mlpInWeight(), Kind.MATMUL);
            add(l.mlpOutWeight(), Kind.MATMUL);
        }
        for (NDArray head : weights.heads()) {
            add(head, Kind.HEAD);
        }
        if (embeddings) {
            for (NDArray table : weights.inputEmbeddings()) {
                add(table, Kind.EMBEDDING);
            }
        }
    }

    private void add(NDArray w, Kind kind) {
        if (byWeight.containsKey(w)) {
            return; // tied weights: one copy
        }
        Shape s = w.getShape();
        if (s.dimension() != 2 || w.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException("bf16 weights are rounded from FP32 matrices, got "
                    + w.getDataType() + " " + s);
        }
        long tensor = NativeOps.toBf16Tensor(w);
        long address;
        try {
            address = NativeOps.bf16Address(tensor);
        } catch (RuntimeException e) {
            NativeOps.freeTensor(tensor);
            throw e;
        }
        byWeight.put(w, new Rounded(tensor, address, s.get(0), s.get(1), kind));
    }

    /** Whether {@code table} is an input embedding table with a bfloat16 copy here ({@link #embed}). */
    boolean holdsEmbedding(NDArray table) {
        Rounded r = byWeight.get(table);
        return r != null && r.kind() == Kind.EMBEDDING;
    }

    /** Whether {@code weight} has a bfloat16 copy here. */
    boolean holds(NDArray weight) {
        return byWeight.containsKey(weight);
    }

    /** Address of the bfloat16 copy of {@code weight}, for the native step to read in place. */
    long address(NDArray weight) {
        return rounded(weight).address();
    }

    /** The bridge tensor handle of the bfloat16 copy of {@code weight}, for the native passes' GEMMs. */
    long tensor(NDArray weight) {
        return rounded(weight).tensor();
    }

    /**
     * {@code x · Wᵀ + bias} with W's bfloat16 copy; x (..., in) FP32, result (..., out) FP32,
     * attached to x's manager.
     */
    NDArray linear(NDArray x, NDArray weight, NDArray bias) {
        Rounded w = rounded(weight);
        if (x.getDataType() != DataType.FLOAT32) {
            x = x.toType(DataType.FLOAT32, false);
        }
        Shape s = x.getShape();
        long rows = s.size() / s.get(s.dimension() - 1);
        if (w.kind() == Kind.HEAD && rows > KERNEL_ROWS && !weight.isReleased()) {
            // logits stay FP32: a GEMM rounding them to bfloat16 would cost up to 2^-8 of their size
            // for a few percent of a pass's FLOPs
            return Ops.linear(x, weight, bias);
        }
        if (rows <= KERNEL_ROWS) {
            NDArray flat = x.reshape(rows, w.in()).duplicate();
            NDArray y = x.getManager().zeros(new Shape(rows, w.out()), DataType.FLOAT32);
            NativeKernels.linearBf16(flat, w.address(), w.out(), w.in(), bias, y);
            return y.reshape(s.slice(0, s.dimension() - 1).add(w.out()));
        }
        NDArray y = NativeOps.linearBf16(x, w.tensor());
        return bias == null ? y : y.addi(bias);
    }

    /**
     * Rows {@code ids} (int64, any shape) of the bfloat16 copy of the embedding table {@code
     * table}, widened: FP32 (..., hidden), attached to the ids' manager.
     */
    NDArray embed(NDArray ids, NDArray table) {
        Rounded t = rounded(table);
        if (t.kind() != Kind.EMBEDDING) {
            throw new IllegalArgumentException("not an embedding table");
        }
        long[] flat = ids.toLongArray();
        NDArray out = ids.getManager().create(ids.getShape().add(t.in()), DataType.FLOAT32);
        try {
            NativeOpsBridge.embedBf16(t.address(), Math.toIntExact(t.out()), Math.toIntExact(t.in()), flat,
                    flat.length, NativeKernels.address(out, "embeddings"));
        } catch (RuntimeException e) {
            out.close();
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return out;
    }

    private Rounded rounded(NDArray weight) {
        if (closed) {
            throw new IllegalStateException("bf16 matmul weights closed");
        }
        Rounded r = byWeight.get(weight);
        if (r == null) {
            throw new IllegalArgumentException("no bf16 copy of this weight");
        }
        return r;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Rounded r : byWeight.values()) {
            NativeOps.freeTensor(r.tensor());
        }
    }
}

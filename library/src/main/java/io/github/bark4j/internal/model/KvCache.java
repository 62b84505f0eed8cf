package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.internal.nativ.NativeKernels;
import io.github.bark4j.internal.nativ.NativeLibrary;
import io.github.bark4j.internal.nativ.NativeOps;
import io.github.bark4j.internal.nativ.NativeOpsBridge;

/**
 * Keys and values of every layer for the positions seen so far, preallocated to a fixed capacity and
 * written in place, so a decode step copies only its own new entries (not the whole history, as
 * concatenation would). The mutable state of a causal GPT during one generation window.
 *
 * <p>Two kinds: NDArrays of the model's dtype, which the Java {@link Gpt} reads and writes; or
 * bfloat16 tensors that only the native step and passes touch ({@link #bf16}), for BF16 models:
 * half the bytes a decode step's attention reads, and half the memory. DJL aborts on bfloat16
 * tensors, so those stay raw bridge handles, freed with DJL's deleter.
 */
public final class KvCache implements AutoCloseable {
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private final int heads;
    private final int headDim;
    private int batch;
    private int length;
    /**
     * {@link #handles()}: for an NDArray cache made on first use and again after {@link #keepRows}
     * replaces the tensors; for a bfloat16 cache the tensors themselves, owned here.
     */
    private long[] handles;
    private final boolean bf16;

    public KvCache(NDManager manager, GptConfig config, int batch, int capacity, DataType dtype) {
        this.capacity = capacity;
        this.heads = config.numHeads();
        this.headDim = config.headDim();
        this.batch = batch;
        this.bf16 = false;
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        Shape shape = new Shape(batch, config.numHeads(), capacity, config.headDim());
        for (int i = 0; i < keys.length; i++) {
            keys[i] = manager.zeros(shape, dtype);
            values[i] = manager.zeros(shape, dtype);
        }
    }

    private KvCache(GptConfig config, int batch, int capacity) {
        this.capacity = capacity;
        this.heads = config.numHeads();
        this.headDim = config.headDim();
        this.batch = batch;
        this.bf16 = true;
        this.keys = null;
        this.values = null;
        long[] made = new long[2 * config.numLayers()];
        try {
            for (int i = 0; i < made.length; i++) {
                made[i] = NativeOpsBridge.kvBf16(batch, heads, capacity, headDim);
            }
        } catch (RuntimeException e) {
            free(made);
            throw e;
        }
        this.handles = made;
    }

    /**
     * A bfloat16 cache for the native step and passes of a BF16 model (see {@link NativeGpt#holds});
     * the Java {@link Gpt} cannot read or write it.
     */
    static KvCache bf16(GptConfig config, int batch, int capacity) {
        NativeLibrary.requireAvailable();
        if (batch < 1 || capacity < 1) {
            throw new IllegalArgumentException("a KV cache of " + batch + " rows and " + capacity + " positions");
        }
        return new KvCache(config, batch, capacity);
    }

    int length() {
        return length;
    }

    public int capacity() {
        return capacity;
    }

    /** Rows (batch entries) the cache holds now. */
    int batch() {
        return batch;
    }

    /** Whether this is a bfloat16 cache, which only native code reads and writes. */
    boolean isBf16() {
        return bf16;
    }

    DataType dataType() {
        return bf16 ? DataType.BFLOAT16 : keys[0].getDataType();
    }

    /**
     * The PyTorch handles of every layer's keys and values, in layer order (k0, v0, k1, v1, ...),
     * for the native step to write in place; each is a contiguous (B, heads, capacity, hd) tensor.
     * Valid until the next {@link #keepRows}.
     */
    long[] handles() {
        if (handles == null) {
            long[] h = new long[2 * keys.length];
            for (int i = 0; i < keys.length; i++) {
                h[2 * i] = contiguousHandle(keys[i]);
                h[2 * i + 1] = contiguousHandle(values[i]);
            }
            handles = h;
        }
        return handles;
    }

    private void requireNdArrays() {
        if (bf16) {
            throw new IllegalStateException("a bfloat16 KV cache is read and written by the native step only");
        }
    }

    /** Stores k and v (B, heads, T, hd) for positions length..length+T-1 of {@code layer}. */
    void write(int layer, NDArray k, NDArray v) {
        requireNdArrays();
        long t = k.getShape().get(2);
        if (length + t > capacity) {
            throw new IllegalStateException("KV cache overflow: " + (length + t) + " > " + capacity);
        }
        NDIndex where = new NDIndex(":, :, {}:{}", length, length + t);
        keys[layer].set(where, k);
        values[layer].set(where, v);
    }

    /** Views of all cached keys / values of {@code layer} up to {@code end} positions. */
    NDArray keys(int layer, int end) {
        requireNdArrays();
        return keys[layer].get(new NDIndex(":, :, :{}", end));
    }

    NDArray values(int layer, int end) {
        requireNdArrays();
        return values[layer].get(new NDIndex(":, :, :{}", end));
    }

    private static long contiguousHandle(NDArray a) {
        ai.djl.pytorch.engine.PtNDArray pt = (ai.djl.pytorch.engine.PtNDArray) a;
        if (!NativeKernels.Contiguity.isContiguous(pt)) {
            throw new IllegalStateException("KV cache tensor is not contiguous");
        }
        return pt.getHandle();
    }

    /**
     * Keeps only batch rows {@code rows} (in that order), dropping the others' keys and values: a
     * batch shrinks when some of its sequences finish before the rest.
     */
    public void keepRows(long[] rows) {
        for (long r : rows) {
            if (r < 0 || r >= batch) {
                throw new IndexOutOfBoundsException("row " + r + " of a batch of " + batch);
            }
        }
        if (bf16) {
            for (int i = 0; i < handles.length; i++) {
                long kept = NativeOpsBridge.kvBf16Rows(handles[i], batch, heads, capacity, headDim, rows, rows.length);
                NativeOps.freeTensor(handles[i]);
                handles[i] = kept;
            }
        } else {
            handles = null;
            for (int i = 0; i < keys.length; i++) {
                keys[i] = selectRows(keys[i], rows);
                values[i] = selectRows(values[i], rows);
            }
        }
        batch = rows.length;
    }

    private static NDArray selectRows(NDArray a, long[] rows) {
        NDArray kept;
        try (NDArray index = a.getManager().create(rows)) {
            kept = a.get(new NDIndex("{}", index));
        }
        a.close();
        return kept;
    }

    /**
     * Empties the cache for another window of the same rows: positions are written from 0 again,
     * over the old entries, which nothing reads (every read stops at {@link #length()}).
     */
    public void clear() {
        length = 0;
    }

    /** Called once per forward pass, after every layer has written its new entries. */
    void advance(int t) {
        length += t;
    }

    private static void free(long[] tensors) {
        for (int i = 0; i < tensors.length; i++) {
            NativeOps.freeTensor(tensors[i]);
            tensors[i] = 0L;
        }
    }

    @Override
    public void close() {
        if (bf16) {
            free(handles);
            return;
        }
        for (int i = 0; i < keys.length; i++) {
            keys[i].close();
            values[i].close();
        }
    }
}

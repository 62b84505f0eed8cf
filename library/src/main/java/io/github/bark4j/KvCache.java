package io.github.bark4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Keys and values of every layer for the positions seen so far, preallocated to a fixed capacity and
 * written in place, so a decode step copies only its own new entries (not the whole history, as
 * concatenation would). The mutable state of a causal GPT during one generation window.
 */
final class KvCache implements AutoCloseable {
    private final NDArray[] keys;
    private final NDArray[] values;
    private final int capacity;
    private int length;
    /** {@link #handles()}, made on first use and again after {@link #keepRows} replaces the tensors. */
    private long[] handles;

    KvCache(NDManager manager, GptConfig config, int batch, int capacity, DataType dtype) {
        this.capacity = capacity;
        this.keys = new NDArray[config.numLayers()];
        this.values = new NDArray[config.numLayers()];
        Shape shape = new Shape(batch, config.numHeads(), capacity, config.headDim());
        for (int i = 0; i < keys.length; i++) {
            keys[i] = manager.zeros(shape, dtype);
            values[i] = manager.zeros(shape, dtype);
        }
    }

    int length() {
        return length;
    }

    int capacity() {
        return capacity;
    }

    /** Rows (batch entries) the cache holds now. */
    int batch() {
        return (int) keys[0].getShape().get(0);
    }

    DataType dataType() {
        return keys[0].getDataType();
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

    /** Stores k and v (B, heads, T, hd) for positions length..length+T-1 of {@code layer}. */
    void write(int layer, NDArray k, NDArray v) {
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
        return keys[layer].get(new NDIndex(":, :, :{}", end));
    }

    NDArray values(int layer, int end) {
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
    void keepRows(long[] rows) {
        handles = null;
        for (int i = 0; i < keys.length; i++) {
            keys[i] = selectRows(keys[i], rows);
            values[i] = selectRows(values[i], rows);
        }
    }

    private static NDArray selectRows(NDArray a, long[] rows) {
        long batch = a.getShape().get(0);
        for (long r : rows) {
            if (r < 0 || r >= batch) {
                throw new IndexOutOfBoundsException("row " + r + " of a batch of " + batch);
            }
        }
        NDArray kept;
        try (NDArray index = a.getManager().create(rows)) {
            kept = a.get(new NDIndex("{}", index));
        }
        a.close();
        return kept;
    }

    /** Called once per forward pass, after every layer has written its new entries. */
    void advance(int t) {
        length += t;
    }

    @Override
    public void close() {
        for (int i = 0; i < keys.length; i++) {
            keys[i].close();
            values[i].close();
        }
    }
}

package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.io.MappedBuffers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Turns checkpoint tensors into DJL arrays of the compute dtype, looked up by Hugging Face key, with
 * the shape each key must have. Remembers which keys were used so that a checkpoint with keys the
 * model does not know is reported instead of silently ignored.
 */
public final class WeightStore {
    private final TensorSource source;
    private final NDManager manager;
    private final DataType dtype;
    private final Set<String> used;

    public WeightStore(TensorSource source, NDManager manager, DataType dtype) {
        this(source, manager, dtype, new LinkedHashSet<>());
    }

    private WeightStore(TensorSource source, NDManager manager, DataType dtype, Set<String> used) {
        this.source = source;
        this.manager = manager;
        this.dtype = dtype;
        this.used = used;
    }

    /** The same checkpoint read as another dtype (e.g. the codec in FP32 beside FP16 GPTs). */
    WeightStore as(DataType other) {
        return new WeightStore(source, manager, other, used);
    }

    DataType dtype() {
        return dtype;
    }

    NDManager manager() {
        return manager;
    }

    public boolean has(String key) {
        return source.contains(key);
    }

    /** The tensor under {@code key}, which must have exactly {@code shape}, as the compute dtype. */
    public NDArray load(String key, long... shape) {
        RawTensor raw = raw(key, shape);
        try {
            return toNDArray(raw, dtype);
        } finally {
            // copied into libtorch (or failed): the mapping goes now, not at some later GC
            MappedBuffers.release(raw.data());
        }
    }

    /**
     * Hands the tensor under {@code key} (exactly {@code shape}) to {@code read} as a float32 array
     * without a copy where the checkpoint holds float32: the array wraps the memory-mapped file
     * (read-only: never written), and other dtypes are widened into a transient array first. It
     * lives only during the call: closed, and the mapping released, as soon as {@code read}
     * returns, before the next tensor is read. For {@code read} to copy it into another form
     * (bfloat16) without holding the float32 values in memory the process owns.
     *
     * @return the closed array, which stands for the tensor by identity only
     */
    NDArray readFloat32(String key, java.util.function.Consumer<NDArray> read, long... shape) {
        RawTensor raw = raw(key, shape);
        NDArray view = null;
        try {
            view = wrap(raw, manager);
            if (view.getDataType() != DataType.FLOAT32) {
                NDArray wide = view.toType(DataType.FLOAT32, false);
                view.close();
                view = wide;
            }
            read.accept(view);
            return view;
        } finally {
            if (view != null) {
                view.close();
            }
            MappedBuffers.release(raw.data());
        }
    }

    /** Like {@link #load} but keeps the values as float32 on the Java side (for folding). */
    float[] loadFloats(String key, long... shape) {
        RawTensor raw = raw(key, shape);
        try {
            return raw.toFloatArray();
        } finally {
            MappedBuffers.release(raw.data());
        }
    }

    NDArray loadOptional(String key, long... shape) {
        return has(key) ? load(key, shape) : null;
    }

    private RawTensor raw(String key, long... shape) {
        if (!source.contains(key)) {
            throw new ModelLoadException("Checkpoint lacks tensor '" + key + "' (expected shape "
                    + Arrays.toString(shape) + "); is this a Bark checkpoint in the Hugging Face layout?");
        }
        RawTensor raw = source.tensor(key);
        if (!Arrays.equals(raw.shape(), shape)) {
            throw new ModelLoadException("Tensor '" + key + "' has shape " + Arrays.toString(raw.shape())
                    + " but config.json implies " + Arrays.toString(shape));
        }
        if (!raw.dtype().isFloatingPoint()) {
            throw new ModelLoadException("Tensor '" + key + "' has dtype " + raw.dtype()
                    + "; weights must be F32, F16, BF16 or F64");
        }
        used.add(key);
        return raw;
    }

    /** Marks a key as understood without loading it (e.g. buffers the runtime recomputes). */
    public void markUsed(String key) {
        used.add(key);
    }

    /** Fails when the checkpoint has keys that are neither used nor known to be irrelevant. */
    public void checkNoUnknownKeys(Predicate<String> irrelevant) {
        Set<String> unknown = new TreeSet<>();
        for (String name : source.names()) {
            if (!used.contains(name) && !irrelevant.test(name)) {
                unknown.add(name);
            }
        }
        if (!unknown.isEmpty()) {
            List<String> shown = unknown.stream().limit(10).toList();
            throw new ModelLoadException("Checkpoint has " + unknown.size() + " tensor(s) this model"
                    + " configuration does not use, e.g. " + shown + "; does config.json match the weights?");
        }
    }

    /**
     * Copies a raw tensor into a fresh DJL array of {@code target} type, in memory libtorch owns.
     *
     * <p>DJL's {@code create(ByteBuffer)} on the CPU wraps the buffer without copying and keeps it alive
     * as long as the array. Weights built that way would sit in direct byte buffers, which count against
     * {@code -XX:MaxDirectMemorySize} (by default the heap limit), so a model larger than the heap would
     * not load. Instead the file's own memory-mapped bytes (which do not count) are wrapped only for the
     * moment libtorch copies them ({@code clone} or the dtype conversion). BF16 (and any type DJL's JNI
     * cannot take) is widened in Java first, because handing it to DJL aborts the JVM; that widening
     * needs one transient direct buffer per tensor, released before the next.
     */
    static NDArray toNDArray(RawTensor raw, NDManager manager, DataType target) {
        NDArray wrapped = wrap(raw, manager);
        try {
            // a new tensor in libtorch's own memory either way: the wrapped bytes may go
            return wrapped.getDataType() == target ? wrapped.duplicate() : wrapped.toType(target, false);
        } finally {
            wrapped.close();
        }
    }

    /**
     * An array over {@code raw}'s own bytes where DJL can take them (float32, float64, float16 in a
     * direct buffer: a memory-mapped file), else over a transient widened copy; valid only as long
     * as those bytes.
     */
    private static NDArray wrap(RawTensor raw, NDManager manager) {
        Shape shape = new Shape(raw.shape());
        DataType direct = raw.dtype().djlTypeOrNull();
        NDArray wrapped;
        if (direct != null && (direct == DataType.FLOAT32 || direct == DataType.FLOAT64 || direct == DataType.FLOAT16)) {
            ByteBuffer bytes = raw.data().duplicate().order(ByteOrder.nativeOrder());
            if (!bytes.isDirect()) {
                bytes = transientDirect(raw, bytes.remaining()).put(bytes).flip();
            }
            wrapped = manager.create(bytes, shape, direct);
        } else if (raw.dtype() == DType.BF16) {
            // bfloat16 is the high half of a float32
            ByteBuffer src = raw.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            int n = Math.toIntExact(raw.numElements());
            ByteBuffer wide = transientDirect(raw, Math.multiplyExact((long) n, 4L));
            for (int i = 0; i < n; i++) {
                wide.putInt((src.getShort(i * 2) & 0xFFFF) << 16);
            }
            wide.flip();
            wrapped = manager.create(wide, shape, DataType.FLOAT32);
        } else {
            wrapped = manager.create(raw.toFloatArray(), shape);
        }
        return wrapped;
    }

    /** A direct buffer for one tensor's copy, or a load error naming the JVM flag that limits it. */
    private static ByteBuffer transientDirect(RawTensor raw, long bytes) {
        if (bytes > Integer.MAX_VALUE) {
            throw new ModelLoadException("Tensor '" + raw.name() + "' needs " + bytes
                    + " bytes once widened; a single tensor must be under 2 GiB");
        }
        try {
            return ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        } catch (OutOfMemoryError e) {
            throw new ModelLoadException("Not enough direct memory to stage tensor '" + raw.name() + "' ("
                    + bytes + " bytes): raise -XX:MaxDirectMemorySize (by default the -Xmx heap limit)", e);
        }
    }

    private NDArray toNDArray(RawTensor raw, DataType target) {
        return toNDArray(raw, manager, target);
    }
}

package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Moves small arrays (token ids, logits) between Java and DJL. */
public final class Tensors {

    /**
     * Runs {@code step} in its own {@link ai.djl.ndarray.NDScope}: every array it makes is freed when
     * it returns, except its result, which moves to the caller's scope. For the layers of a long pass,
     * whose intermediates would otherwise all live until the pass ends.
     */
    public static NDArray scoped(java.util.function.Supplier<NDArray> step) {
        NDArray out;
        try (ai.djl.ndarray.NDScope scope = new ai.djl.ndarray.NDScope()) {
            scope.suppressNotUsedWarning();
            out = step.get();
            ai.djl.ndarray.NDScope.unregister(out);
        }
        ai.djl.ndarray.NDScope.register(out);
        return out;
    }

    private Tensors() {}

    /** Values as doubles; fp64 stays exact, narrower types are widened. */
    public static double[] toDoubles(NDArray a) {
        if (a.getDataType() == DataType.FLOAT64) {
            return a.toDoubleArray();
        }
        try (NDArray f = a.toType(DataType.FLOAT64, false)) {
            return f.toDoubleArray();
        }
    }

    /**
     * {@code a} on {@code manager}'s device, owned by {@code manager}: a copy when the device differs;
     * on the same device libtorch may hand back a view of the same storage, so never write to it.
     */
    public static NDArray copyTo(NDArray a, NDManager manager) {
        NDArray c = a.toDevice(manager.getDevice(), true);
        if (c == a) {
            c = a.duplicate();
        }
        c.attach(manager);
        return c;
    }

    public static NDArray ids(NDManager manager, long[] values, long... shape) {
        return manager.create(values, new Shape(shape));
    }

    public static NDArray ids(NDManager manager, int[] values, long... shape) {
        long[] v = new long[values.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = values[i];
        }
        return manager.create(v, new Shape(shape));
    }
}

package io.github.bark4j;

import java.io.Closeable;
import java.util.Set;

/**
 * A set of named tensors read from a checkpoint file (safetensors, PyTorch zip, npz). Tensors stay in
 * the file (memory-mapped) until a caller converts them; close releases the mapping.
 */
interface TensorSource extends Closeable {

    /** Every tensor name in the file, in file order. */
    Set<String> names();

    /** The tensor with this exact name; throws {@link ModelLoadException} when absent. */
    RawTensor tensor(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    void close();
}

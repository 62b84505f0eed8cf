package io.github.bark4j.internal.checkpoint;

import io.github.bark4j.ModelLoadException;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * A set of named tensors read from a checkpoint file (safetensors, PyTorch zip, npz). Tensors stay in
 * the file (memory-mapped) until a caller converts them; close releases the mapping.
 */
public interface TensorSource extends Closeable {

    /** Every tensor name in the file, in file order. */
    Set<String> names();

    /** The tensor with this exact name; throws {@link ModelLoadException} when absent. */
    RawTensor tensor(String name);

    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    void close();

    /** Opens a weights file for reading, with the errors every reader reports alike. */
    static FileChannel openReadOnly(Path path) {
        try {
            return FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("Weights file not found: " + path);
        } catch (IOException e) {
            throw new ModelLoadException("Cannot open weights file " + path + ": " + e.getMessage(), e);
        }
    }
}

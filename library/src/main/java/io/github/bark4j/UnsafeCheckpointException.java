package io.github.bark4j;

/**
 * A checkpoint's pickle asks for something beyond rebuilding tensors: a global outside the short
 * allow-list (for example {@code os.system} or {@code builtins.eval}), or an opcode that would
 * construct or call arbitrary objects. bark4j never executes a pickle; it refuses such files outright.
 * Load weights only from sources you trust, or convert them to safetensors with a trusted tool.
 */
public class UnsafeCheckpointException extends ModelLoadException {
    private static final long serialVersionUID = 1L;

    public UnsafeCheckpointException(String message) {
        super(message);
    }
}

package io.github.bark4j;

/** Receives progress of a generation; called on the generating thread, so keep it quick. */
@FunctionalInterface
public interface ProgressListener {

    /**
     * @param stage the running stage
     * @param done units finished in this stage (tokens, windows)
     * @param total the expected number of units; the semantic stage reports its upper bound
     */
    void onProgress(Stage stage, int done, int total);

    ProgressListener NONE = (stage, done, total) -> { };
}

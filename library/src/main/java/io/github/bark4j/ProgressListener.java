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

    /**
     * Called when a segment's audio is ready (long-form speech and streams; a single generation is
     * one segment). Segments run in batches, so the stage progress in between covers the batch.
     *
     * @param done segments finished so far, in text order
     * @param total segments of the text
     */
    default void onSegment(int done, int total) {
    }

    ProgressListener NONE = (stage, done, total) -> { };
}

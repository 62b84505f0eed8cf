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
     * Segments of one text ({@code generate(String, ...)} and {@code stream}): called with
     * {@code done = 0} before the first segment starts, then each time a segment's audio is ready
     * (a short text is one segment). Segments run in batches, so the stage progress in between
     * covers the whole batch. The list form of {@code generate} reports only texts spoken in
     * several segments.
     *
     * @param done segments finished so far, in text order
     * @param total segments of the text
     */
    default void onSegment(int done, int total) {
    }

    ProgressListener NONE = (stage, done, total) -> { };
}

package io.github.bark4j.internal.model;

/**
 * The greedy pick over a row of logits, shared by the Java decode step, the native step's check and
 * the sampler's greedy mode, so that all of them break ties the same way.
 */
public final class Logits {
    private Logits() {}

    /** The index of the largest of {@code values[from, to)}, relative to {@code from}; the first of equal maxima. */
    public static int argmax(double[] values, int from, int to) {
        int best = from;
        for (int i = from + 1; i < to; i++) {
            if (values[i] > values[best]) {
                best = i;
            }
        }
        return best - from;
    }
}

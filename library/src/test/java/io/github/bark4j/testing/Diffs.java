package io.github.bark4j.testing;

/** How far two arrays of the same computation are apart. */
public final class Diffs {
    private Diffs() {}

    /** The largest |a[i] - b[i]|; arrays of different lengths fail. */
    public static double maxAbsDiff(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}

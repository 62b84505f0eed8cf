package io.github.bark4j.internal.pipeline;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits on the Java side, exactly as the original Bark filters them: top-p
 * on the untempered logits, then top-k, then softmax(logits / temperature), then one categorical
 * draw. Greedy is argmax ({@link io.github.bark4j.internal.model.Logits#argmax}). Draws come from one seeded {@link SplittableRandom} per generation, whose
 * algorithm is fixed by the JDK spec, so a seed reproduces a run in any JVM.
 */
public final class Sampler {
    private final SplittableRandom random;

    public Sampler(long seed) {
        this.random = new SplittableRandom(seed);
    }

    /**
     * Probabilities over {@code logits[from, to)} after the filters.
     *
     * @param topK keep the k largest (ties kept), or 0 for no limit
     * @param topP keep the smallest head of the distribution whose mass exceeds p, or 0 for no limit
     */
    static double[] probabilities(double[] logits, int from, int to, double temperature, int topK, double topP) {
        int n = to - from;
        double[] l = Arrays.copyOfRange(logits, from, to);
        if (topP > 0 && topP < 1) {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            final double[] ref = l;
            Arrays.sort(order, (a, b) -> Double.compare(ref[b], ref[a]));
            double[] sorted = new double[n];
            for (int i = 0; i < n; i++) {
                sorted[i] = l[order[i]];
            }
            double[] p = softmax(sorted, 1.0);
            double cumulative = 0;
            boolean removeNext = false;
            for (int i = 0; i < n; i++) {
                // the token that crosses p is kept: removal is shifted one place right
                boolean remove = removeNext;
                cumulative += p[i];
                removeNext = cumulative > topP;
                if (remove && i > 0) {
                    l[order[i]] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        if (topK > 0 && topK < n) {
            double[] sorted = l.clone();
            Arrays.sort(sorted);
            double kth = sorted[n - topK];
            for (int i = 0; i < n; i++) {
                if (l[i] < kth) {
                    l[i] = Double.NEGATIVE_INFINITY;
                }
            }
        }
        return softmax(l, temperature);
    }

    static double[] softmax(double[] logits, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) {
            max = Math.max(max, v / temperature);
        }
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            out[i] = Math.exp(logits[i] / temperature - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** One categorical draw from normalized probabilities. */
    int draw(double[] probabilities) {
        double u = random.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < probabilities.length; i++) {
            if (probabilities[i] > 0) {
                cumulative += probabilities[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // rounding left u above the total mass
    }
}

package io.github.bark4j.internal.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.internal.model.Vocabulary;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

/** Token selection: argmax, the top-p / top-k / temperature filters, and seeded categorical draws. */
class SamplerTest {

    /** softmax(l / t) computed directly, with -inf entries at zero. */
    static double[] softmax(double[] l, double t) {
        double sum = 0;
        double[] out = new double[l.length];
        for (int i = 0; i < l.length; i++) {
            out[i] = l[i] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(l[i] / t);
            sum += out[i];
        }
        for (int i = 0; i < l.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    static double sum(double[] p) {
        return Arrays.stream(p).sum();
    }

    @Test
    void temperatureScalesLogitsBeforeSoftmax() {
        double[] logits = {0.3, -1.2, 2.5, 0.0, 1.1};
        for (double t : new double[] {0.1, 0.5, 0.7, 1.0, 3.0}) {
            double[] p = Sampler.probabilities(logits, 0, logits.length, t, 0, 0);
            assertArrayEquals(softmax(logits, t), p, 1e-15, "temperature " + t);
            assertEquals(1.0, sum(p), 1e-12);
        }
        // a sub-range of a longer logits array
        double[] longer = {50, 50, 0.3, -1.2, 2.5, 50};
        assertArrayEquals(softmax(new double[] {0.3, -1.2, 2.5}, 0.7),
                Sampler.probabilities(longer, 2, 5, 0.7, 0, 0), 1e-15);
        // huge logits do not overflow
        double[] p = Sampler.probabilities(new double[] {1000, 999}, 0, 2, 1.0, 0, 0);
        assertEquals(1 / (1 + Math.exp(-1)), p[0], 1e-15);
        // lower temperature sharpens
        double[] cold = Sampler.probabilities(logits, 0, logits.length, 0.2, 0, 0);
        double[] warm = Sampler.probabilities(logits, 0, logits.length, 2.0, 0, 0);
        assertTrue(cold[2] > warm[2]);
    }

    @Test
    void topKKeepsTies() {
        double[] l = {1, 3, 3, 2};
        double[] p = Sampler.probabilities(l, 0, 4, 1.0, 1, 0);
        assertArrayEquals(new double[] {0, 0.5, 0.5, 0}, p, 1e-15, "both tied maxima survive top-1");
        p = Sampler.probabilities(new double[] {5, 4, 4, 4, 1}, 0, 5, 1.0, 2, 0);
        assertEquals(0, p[4]);
        assertTrue(p[1] > 0 && p[2] > 0 && p[3] > 0, "all tokens tied with the k-th survive");
        assertArrayEquals(softmax(new double[] {5, 4, 4, 4, Double.NEGATIVE_INFINITY}, 1), p, 1e-15);
        // k ≥ n or 0 is no filter
        double[] l2 = {0.5, -0.5, 2};
        assertArrayEquals(softmax(l2, 0.7), Sampler.probabilities(l2, 0, 3, 0.7, 3, 0), 1e-15);
        assertArrayEquals(softmax(l2, 0.7), Sampler.probabilities(l2, 0, 3, 0.7, 10, 0), 1e-15);
        // top-2 of distinct values with a temperature
        double[] kept = {0.5, Double.NEGATIVE_INFINITY, 2};
        assertArrayEquals(softmax(kept, 0.7), Sampler.probabilities(l2, 0, 3, 0.7, 2, 0), 1e-15);
    }

    @Test
    void topPKeepsTheCrossingTokenAndAtLeastOne() {
        // probabilities 0.5, 0.3, 0.15, 0.05 at shuffled positions
        double[] probs = {0.15, 0.5, 0.05, 0.3};
        double[] l = new double[4];
        for (int i = 0; i < 4; i++) {
            l[i] = Math.log(probs[i]) + 3; // any shift gives the same softmax
        }
        double inf = Double.NEGATIVE_INFINITY;
        // 0.5 does not exceed 0.6, 0.8 does: the 0.3 token crosses and is kept
        assertArrayEquals(softmax(new double[] {inf, l[1], inf, l[3]}, 1), Sampler.probabilities(l, 0, 4, 1, 0, 0.6),
                1e-12);
        // 0.5 exceeds 0.4 at once: only the top token
        assertArrayEquals(new double[] {0, 1, 0, 0}, Sampler.probabilities(l, 0, 4, 1, 0, 0.4), 1e-12);
        assertArrayEquals(new double[] {0, 1, 0, 0}, Sampler.probabilities(l, 0, 4, 1, 0, 1e-9), 1e-12,
                "a tiny top-p still keeps one token");
        // 0.5, 0.8, then 0.95 > 0.9: three kept
        assertArrayEquals(softmax(new double[] {l[0], l[1], inf, l[3]}, 1), Sampler.probabilities(l, 0, 4, 1, 0, 0.9),
                1e-12);
        // top-p works on the untempered logits; the temperature applies to the survivors
        assertArrayEquals(softmax(new double[] {inf, l[1], inf, l[3]}, 2.5), Sampler.probabilities(l, 0, 4, 2.5, 0, 0.6),
                1e-12);
        // 1 and 0 disable it
        assertArrayEquals(softmax(l, 1), Sampler.probabilities(l, 0, 4, 1, 0, 1.0), 1e-12);
        assertArrayEquals(softmax(l, 1), Sampler.probabilities(l, 0, 4, 1, 0, 0), 1e-12);
        // then top-k on what is left
        assertArrayEquals(new double[] {0, 1, 0, 0}, Sampler.probabilities(l, 0, 4, 1, 1, 0.9), 1e-12);
    }

    @Test
    void drawIsReproducibleForASeed() {
        double[] p = Sampler.probabilities(new double[] {0.1, 0.4, -0.3, 1.2, 0.8, 0.0}, 0, 6, 1.0, 0, 0);
        Sampler a = new Sampler(42);
        Sampler b = new Sampler(42);
        Sampler c = new Sampler(43);
        int[] da = new int[200];
        int[] db = new int[200];
        int[] dc = new int[200];
        for (int i = 0; i < 200; i++) {
            da[i] = a.draw(p);
            db[i] = b.draw(p);
            dc[i] = c.draw(p);
        }
        assertArrayEquals(da, db);
        assertNotEquals(Arrays.toString(da), Arrays.toString(dc), "another seed gives other draws");
    }

    @Test
    void drawFollowsTheDistribution() {
        double[] p = {0.1, 0.0, 0.2, 0.3, 0.0, 0.4, 0.0};
        int n = 200_000;
        long[] counts = new long[p.length];
        Sampler s = new Sampler(7);
        for (int i = 0; i < n; i++) {
            counts[s.draw(p)]++;
        }
        double chi2 = 0;
        for (int i = 0; i < p.length; i++) {
            if (p[i] == 0) {
                assertEquals(0, counts[i], "zero-probability token " + i + " was drawn");
            } else {
                double expected = p[i] * n;
                chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
            }
        }
        // 3 degrees of freedom: P(chi2 > 21.1) < 1e-4; the seed is fixed, so this never flakes
        assertTrue(chi2 < 21.1, "chi-square " + chi2 + " for counts " + Arrays.toString(counts));
    }

    @Test
    void drawNeverPicksZeroProbabilityEvenWhenRoundingLeavesMassShort() {
        // the total is a bit below 1: a u above it falls back to the last possible token
        double[] p = {0, 0.3, 0, 0.69999, 0};
        Sampler s = new Sampler(1);
        for (int i = 0; i < 20_000; i++) {
            int d = s.draw(p);
            assertTrue(d == 1 || d == 3, "drew " + d);
        }
        double[] one = {0, 0, 1, 0};
        for (int i = 0; i < 100; i++) {
            assertEquals(2, s.draw(one));
        }
    }

    @Test
    void semanticPickOnlyConsidersSemanticIdsAndEos() {
        GenerationOptions greedy = GenerationOptions.builder().greedy().build();
        double[] logits = new double[10_048];
        logits[17] = 3;
        logits[10_020] = 50; // beyond EOS: never eligible
        assertEquals(17, Semantic.pick(logits, greedy, new Sampler(0)));
        logits[Semantic.EOS] = 4;
        assertEquals(-1, Semantic.pick(logits, greedy, new Sampler(0)), "EOS as argmax ends the utterance");
        // sampling: EOS probability at or above min_eos_p ends it even if another token is drawn
        double[] l = new double[10_048];
        Arrays.fill(l, Double.NEGATIVE_INFINITY);
        l[5] = Math.log(0.7);
        l[Semantic.EOS] = Math.log(0.3);
        GenerationOptions early = GenerationOptions.builder().temperature(1).minEosP(0.25).build();
        GenerationOptions late = GenerationOptions.builder().temperature(1).minEosP(0).build();
        Sampler s = new Sampler(3);
        int eos = 0;
        for (int i = 0; i < 1000; i++) {
            assertEquals(-1, Semantic.pick(l, early, s));
            int t = Semantic.pick(l, late, s);
            assertTrue(t == 5 || t == -1);
            eos += t == -1 ? 1 : 0;
        }
        assertTrue(eos > 200 && eos < 400, "EOS drawn " + eos + " times of 1000 at p=0.3");
    }

    @Test
    void coarsePickStaysInItsCodebook() {
        GenerationOptions greedy = GenerationOptions.builder().greedy().build();
        double[] logits = new double[12_096];
        int start = Coarse.CODES_START + Vocabulary.CODEBOOK_SIZE; // second codebook
        logits[start + 700] = 5;
        logits[100] = 99; // a semantic id: outside the codebook
        logits[start - 1] = 99; // last code of the first codebook
        assertEquals(700, Coarse.pick(logits, start, greedy, new Sampler(0)));
        GenerationOptions sampling = GenerationOptions.builder().temperature(0.7).build();
        Sampler s = new Sampler(9);
        for (int i = 0; i < 500; i++) {
            int c = Coarse.pick(logits, start, sampling, s);
            assertTrue(c >= 0 && c < 1024, "code " + c);
        }
    }
}

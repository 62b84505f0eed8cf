package io.github.bark4j.internal.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.Attention;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

/**
 * The coarse stage keeps one KV cache for all its windows: a batch whose rows have different
 * lengths (so the shorter one leaves the cache after its last window) gives every row the tokens
 * it gets alone, greedy in FP64 (where batching changes no bit), on the native step's cache and on
 * the Java path's.
 */
class CoarseTest {

    @Test
    void rowsLeavingTheSharedCacheKeepTheirTokens() {
        SplittableRandom random = new SplittableRandom(21);
        // 40 semantic tokens take 2 windows of 60 coarse steps, 100 take 5: the first row leaves
        int[][] semantic = {tokens(random, 40), tokens(random, 100)};
        assertTrue(windows(semantic[0]) < windows(semantic[1]), "the rows end in different windows");
        GenerationOptions o = GenerationOptions.builder().greedy().build();
        for (boolean nativeStep : new boolean[] {true, false}) {
            try (Pipeline p = TestModels.tinyBark(Precision.FP64, Attention.SDPA, nativeStep);
                    NDManager m = p.model().manager().newSubManager()) {
                Gpt gpt = p.model().coarse;
                int[][][] batch = Coarse.generate(gpt, m, semantic, null, o, samplers(2));
                for (int b = 0; b < semantic.length; b++) {
                    int[][] alone = Coarse.generate(gpt, m, new int[][] {semantic[b]}, null, o, samplers(1))[0];
                    assertEquals(Coarse.steps(semantic[b].length) / Coarse.CODEBOOKS, alone[0].length);
                    assertArrayEquals(alone, batch[b], (nativeStep ? "native" : "Java") + " step, row " + b);
                }
            }
        }
    }

    private static int windows(int[] semantic) {
        return (int) Math.ceil(Coarse.steps(semantic.length) / (double) Coarse.WINDOW);
    }

    private static int[] tokens(SplittableRandom random, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(10_000);
        }
        return t;
    }

    private static Sampler[] samplers(int n) {
        Sampler[] s = new Sampler[n];
        for (int i = 0; i < n; i++) {
            s[i] = new Sampler(i);
        }
        return s;
    }
}

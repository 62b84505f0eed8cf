package io.github.bark4j.internal.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The decode loops of all stages and the codec never touch the model's shared NDManager, whose
 * attach and detach are synchronized: a whole generation runs to the end on another thread while this
 * test holds that manager's monitor. (Attaching one array to it would block the worker until the
 * timeout.) So concurrent calls share no lock per step.
 */
class SharedLockFreeStepsTest {

    @Test
    void stagesRunWhileTheModelManagerIsLocked() throws Exception {
        GenerationOptions o = GenerationOptions.builder().greedy().maxSemanticSeconds(0.5).build();
        String text = "Hello world, this is a speech test.";
        Thread[] thread = new Thread[1];
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> thread[0] = new Thread(r, "generation"));
        try (Pipeline s = TestModels.tinyBark(Precision.FP32)) {
            Utterance expected = s.generate(List.of(text), null, o, new long[] {0}).get(0);
            BarkModel model = s.model();
            NDManager shared = model.manager();
            float[] audio;
            int[][] fine;
            synchronized (shared) {
                Future<Object[]> f = worker.submit(() -> {
                    JniUtils.setGradMode(false); // as generate() does on its calling thread
                    try (NDManager own = NDManager.newBaseManager(model.weightDevice(), "PyTorch")) {
                        long[][] ids = {s.tokenize(text, new ArrayList<>())};
                        Sampler[] samplers = {new Sampler(0)};
                        int[][] sem = Semantic.generate(model.semantic, own, ids, null, o, samplers);
                        int[][][] coarse = Coarse.generate(model.coarse, own, sem, null, o, samplers);
                        int[][][] fn = Fine.generate(model.fine, own, coarse, null, o, samplers);
                        return new Object[] {fn[0], s.decode(own, fn[0])};
                    }
                });
                Object[] out;
                try {
                    out = f.get(30, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    StringBuilder where = new StringBuilder("generation blocked on the model's manager:");
                    for (StackTraceElement el : thread[0].getStackTrace()) {
                        where.append("\n  at ").append(el);
                    }
                    throw new AssertionError(where.toString(), e);
                }
                fine = (int[][]) out[0];
                audio = (float[]) out[1];
            }
            assertArrayEquals(expected.fine(), fine);
            assertArrayEquals(expected.samples(), audio);
            assertEquals(expected.samples().length, audio.length);
        } finally {
            worker.shutdownNow();
        }
    }
}

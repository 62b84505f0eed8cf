package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.Precision;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.internal.pipeline.Semantic;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;
import io.github.bark4j.testing.TestModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.Map;

/**
 * Each GPT's first forward pass against the logits the original Bark computed on the fixture: within
 * 1e-3 in FP32 and much tighter in FP64.
 */
public class FirstPassLogitsTest {
    private static final Map<Precision, Pipeline> SYNTHS = new EnumMap<>(Precision.class);

    @BeforeAll
    static void load() {
        for (Precision p : new Precision[] {Precision.FP32, Precision.FP64}) {
            SYNTHS.put(p, TestModels.tinyBark(p));
        }
    }

    @AfterAll
    static void close() {
        SYNTHS.values().forEach(Pipeline::close);
    }

    private static double tolerance(Precision p) {
        return p == Precision.FP64 ? 1e-9 : 1e-3;
    }

    @Test
    void semanticFirstPass() {
        long[] input = Golden.longs(toJson(Npy.read(SharedFiles.tinyBark().resolve("first_semantic_input.npy"))));
        double[] expected = Golden.npyDoubles("first_semantic_logits.npy");
        for (Precision p : SYNTHS.keySet()) {
            BarkModel m = SYNTHS.get(p).model();
            try (NDManager mgr = m.manager().newSubManager()) {
                double[] actual = Tensors.toDoubles(Semantic.firstLogits(m.semantic, mgr, input));
                assertClose(expected, actual, tolerance(p), "semantic " + p);
            }
        }
    }

    @Test
    void coarseFirstPass() {
        long[] input = Golden.longs(toJson(Npy.read(SharedFiles.tinyBark().resolve("first_coarse_input.npy"))));
        double[] expected = Golden.npyDoubles("first_coarse_logits.npy");
        for (Precision p : SYNTHS.keySet()) {
            BarkModel m = SYNTHS.get(p).model();
            try (NDManager mgr = m.manager().newSubManager()) {
                NDArray x = m.coarse.embed(Tensors.ids(mgr, input, 1, input.length));
                double[] actual = Tensors.toDoubles(m.coarse.forwardCausal(x, null, true));
                assertClose(expected, actual, tolerance(p), "coarse " + p);
            }
        }
    }

    @Test
    void fineFirstPass() {
        RawTensor in = Npy.read(SharedFiles.tinyBark().resolve("first_fine_input.npy"));
        assertArrayEquals(new long[] {1024, 8}, in.shape());
        long[] codes = in.toLongArray();
        double[] expected = Golden.npyDoubles("first_fine_logits.npy");
        for (Precision p : SYNTHS.keySet()) {
            BarkModel m = SYNTHS.get(p).model();
            try (NDManager mgr = m.manager().newSubManager()) {
                NDArray logits = m.fine.forwardFine(Tensors.ids(mgr, codes, 1, 1024, 8), 2);
                assertEquals(DataType.FLOAT64 == m.dtype ? DataType.FLOAT64 : DataType.FLOAT32, logits.getDataType());
                assertClose(expected, Tensors.toDoubles(logits), tolerance(p), "fine " + p);
            }
        }
    }

    public static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        if (!(worst <= tol)) {
            throw new AssertionError(what + ": max |diff| " + worst + " at " + at + " exceeds " + tol);
        }
    }

    private static com.google.gson.JsonArray toJson(RawTensor t) {
        com.google.gson.JsonArray a = new com.google.gson.JsonArray();
        for (long v : t.toLongArray()) {
            a.add(v);
        }
        return a;
    }
}

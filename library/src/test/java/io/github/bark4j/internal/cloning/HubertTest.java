package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import io.github.bark4j.internal.model.Tensors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

/** HuBERT on the tiny-clone fixture against the original code's float64 outputs. */
class HubertTest {
    private static Hubert fp64;
    private NDManager mgr;

    @BeforeAll
    static void load() {
        fp64 = Hubert.load(CloneFixture.hubertDir(), DataType.FLOAT64);
    }

    @AfterAll
    static void close() {
        fp64.close();
    }

    @BeforeEach
    void manager() {
        mgr = NDManager.newBaseManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    @Test
    void layerNineEqualsTheReferenceForEveryRecording() {
        for (CloneFixture.Recording r : CloneFixture.recordings()) {
            double[] wav = CloneFixture.npy(r.wav16());
            NDArray f = fp64.features(mgr, wav);
            assertArrayEquals(new long[] {r.frames(), 32}, f.getShape().getShape(), r.name());
            assertEquals(r.frames(), fp64.frames(wav.length), r.name());
            double diff = CloneFixture.maxAbsDiff(CloneFixture.npy(r.hubert()), Tensors.toDoubles(f));
            System.out.println(r.name() + " fp64 layer 9 max abs diff " + diff);
            assertTrue(diff < 1e-9, r.name() + ": " + diff);
        }
    }
}

package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** gitmylo's quantizers on the tiny-clone fixture against the original code's tokens. */
class SemanticQuantizerTest {
    private NDManager mgr;

    @BeforeEach
    void manager() {
        mgr = NDManager.newBaseManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    @Test
    void tokensOfTheGoldenFeaturesEqualTheReference() {
        for (int version : new int[] {0, 1}) {
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                try (SemanticQuantizer q = SemanticQuantizer.load(CloneFixture.quantizer(version), dtype)) {
                    assertEquals(version, q.version());
                    for (CloneFixture.Recording r : CloneFixture.recordings()) {
                        double[] f = CloneFixture.npy(r.hubert());
                        NDArray features = mgr.create(f, new Shape(r.frames(), 32));
                        int[] expected = version == 0 ? r.tokensV0() : r.tokensV1();
                        assertArrayEquals(expected, q.tokens(features), r.name() + " v" + version + " " + dtype);
                    }
                }
            }
        }
    }
}

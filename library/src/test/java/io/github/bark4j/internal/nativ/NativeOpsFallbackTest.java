package io.github.bark4j.internal.nativ;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

/** Runs when the bridge is not there (e.g. built with -Dbark4j.native.skip=true). */
class NativeOpsFallbackTest {

    @Test
    void withoutTheBridgeOpsFailCleanlyAndTheEngineStillWorks() {
        assumeFalse(NativeOps.isAvailable(), "native bridge is available");
        String reason = NativeOps.unavailableReason();
        assertNotNull(reason);
        if (Boolean.getBoolean("bark4j.native.skip")) {
            assertTrue(reason.contains("not built"), reason);
        }
        try (NDManager manager = Engine.getEngine("PyTorch").newBaseManager()) {
            NDArray q = manager.ones(new Shape(1, 1, 2, 4));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> NativeOps.scaledDotProductAttention(q, q, q, true));
            assertTrue(e.getMessage().contains(reason), e.getMessage());
            assertThrows(IllegalStateException.class,
                    () -> NativeOps.convTranspose1d(manager.ones(new Shape(1, 1, 3)),
                            manager.ones(new Shape(1, 1, 2)), null, 1, 0, 0, 1, 1));
            assertThrows(IllegalStateException.class, () -> NativeKernels.address(q, "q"));
            assertThrows(IllegalStateException.class, () -> NativeKernels.threads());
            // the pure-DJL path is unaffected
            assertTrue(q.matMul(q.transpose(0, 1, 3, 2)).sum().getFloat() == 16f);
        }
    }
}

package io.github.bark4j.internal.nativ;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the tests that run the bridge's kernels on each instruction set: they need the bridge,
 * start on the best set this CPU has ({@link #bestIsa}), may cap it with {@link
 * NativeKernels#useIsa}, and leave it restored for the next class.
 */
abstract class KernelTestBase {
    static int bestIsa;

    @BeforeAll
    static void requireBridgeOnTheBestInstructionSet() {
        NativeTestSupport.requireBridge();
        bestIsa = NativeKernels.useIsa(NativeKernels.AVX512);
    }

    @AfterAll
    static void restoreTheBestInstructionSet() {
        if (NativeLibrary.isAvailable()) {
            NativeKernels.useIsa(bestIsa);
        }
    }
}

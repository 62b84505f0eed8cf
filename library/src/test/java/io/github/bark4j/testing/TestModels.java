package io.github.bark4j.testing;

import io.github.bark4j.Attention;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.pipeline.Pipeline;

/**
 * The tiny-bark fixture loaded below the public API, for tests of the internal classes: the same
 * loading and fast-path choice as {@code Synthesizer.builder().modelDir(...).build()}, on the CPU.
 */
public final class TestModels {
    private TestModels() {}

    /** The library's defaults: SDPA and the native step where the bridge loads. */
    public static Pipeline tinyBark(Precision precision) {
        return tinyBark(precision, Attention.SDPA, true);
    }

    public static Pipeline tinyBark(Precision precision, Attention attention, boolean nativeStep) {
        return Pipeline.load(SharedFiles.tinyBark(), precision, attention, nativeStep, Offload.NONE, null);
    }
}

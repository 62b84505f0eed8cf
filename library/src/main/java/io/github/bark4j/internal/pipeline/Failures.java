package io.github.bark4j.internal.pipeline;

import ai.djl.engine.EngineException;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationException;
import io.github.bark4j.ModelLoadException;

import java.util.Locale;

/**
 * The one place where errors from below the public API (DJL's {@link EngineException}, libtorch's
 * out-of-memory, internal {@link IllegalStateException}s and other unchecked surprises) become
 * {@link BarkException}s that say what to do. {@link BarkException}s pass through unchanged.
 */
public final class Failures {
    private Failures() {}

    /** An error raised while generating, as the public API reports it. */
    public static BarkException duringGeneration(RuntimeException e, String device) {
        if (e instanceof BarkException be) {
            return be;
        }
        if (isOutOfMemory(e)) {
            return new GenerationException("Out of memory on " + device + " while generating: use smaller batches"
                    + " or fewer concurrent calls, Precision.FP16, Offload.PER_STAGE, or the CPU (" + e.getMessage()
                    + ")", e);
        }
        if (e instanceof EngineException) {
            return new GenerationException("libtorch failed while generating on " + device + ": " + e.getMessage()
                    + "; retry on the CPU with Precision.FP32, and report it with this stack trace if it persists", e);
        }
        return new GenerationException("bark4j failed while generating (" + e + "); this is a bug: please"
                + " report it with this stack trace", e);
    }

    /** An error raised while loading a model, as the public API reports it. */
    public static BarkException duringLoad(RuntimeException e, Object what) {
        if (e instanceof BarkException be) {
            return be;
        }
        if (isOutOfMemory(e)) {
            return new ModelLoadException("Out of memory while loading " + what + ": free memory, use"
                    + " Precision.FP16, Offload.PER_STAGE (weights stay on the host), or a smaller model ("
                    + e.getMessage() + ")", e);
        }
        return new ModelLoadException("Cannot load " + what + ": " + e.getMessage()
                + (e instanceof EngineException ? " (libtorch error)" : " (unexpected; please report it)"), e);
    }

    static boolean isOutOfMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null) {
                String lower = m.toLowerCase(Locale.ROOT);
                if (lower.contains("out of memory") || lower.contains("outofmemory")
                        || lower.contains("defaultcpuallocator: can't allocate memory")
                        || lower.contains("not enough memory")) {
                    return true;
                }
            }
        }
        return false;
    }
}

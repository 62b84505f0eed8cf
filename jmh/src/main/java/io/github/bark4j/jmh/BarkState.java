package io.github.bark4j.jmh;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

import io.github.bark4j.Attention;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.internal.model.BarkModel;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.NativeGpt;
import io.github.bark4j.internal.nativ.NativeOps;
import io.github.bark4j.internal.pipeline.Pipeline;

import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One loaded {@link Synthesizer} per benchmark trial, configured from the JMH parameters. Every
 * benchmark (per stage and end to end) takes its model from here, so a new Synthesizer option becomes
 * a benchmark dimension in one place:
 *
 * <ol>
 *   <li>add a {@code @Param} field below whose first value is the unoptimised default;
 *   <li>apply it in {@link #builder()};
 *   <li>list its values in {@code io.github.bark4j.jmh.Matrix} for the quick and full runs, and its
 *       default in {@code ReportGenerator.DEFAULTS} (the baseline row of the tables).
 * </ol>
 *
 * Batching is per call rather than per model: it is {@link EndToEndBenchmark}'s {@code batch}
 * parameter. Offload lives inside {@link Synthesizer#generate}, so only the end-to-end benchmark
 * sees it; the stage benchmarks call the stage code directly and ignore it.
 */
@State(Scope.Benchmark)
public class BarkState {
    /** A shipped config: bark-small or bark (random weights at the real sizes). */
    @Param({"bark-small"})
    public String model;

    /** {@link Precision} name: FP32, BF16, FP16 or FP64. */
    @Param({"FP32"})
    public String precision;

    /** {@link Attention} name: EAGER (DJL ops) or SDPA (libtorch's fused kernel via the native bridge). */
    @Param({"EAGER"})
    public String attention;

    /** NATIVE (one native call per decode step, {@link NativeGpt}) or JAVA (the reference {@link Gpt} path). */
    @Param({"JAVA"})
    public String step;

    /** {@link Offload} name: NONE or PER_STAGE (each stage's weights copied in for its run and freed). */
    @Param({"NONE"})
    public String offload;

    /** libtorch intra-op threads; 0 keeps the engine's default (DJL: all cores, or ai.djl.pytorch.num_threads). */
    @Param({"0"})
    public int threads;

    /** DJL device name ("cpu", "gpu0"); empty for the engine's default device. */
    @Param({""})
    public String device;

    private Synthesizer synth;
    private Pipeline pipeline;

    /**
     * Restarts the peak-memory count after the trial's setup: a trial's first iteration runs the
     * model load after {@link io.github.bark4j.jmh.PeakMemoryProfiler}'s own reset, so without
     * this a single-iteration benchmark reported the load's peak, not the call's.
     */
    @Setup(Level.Iteration)
    public void resetPeakMemory() {
        io.github.bark4j.jmh.PeakMemoryProfiler.resetPeak();
    }

    @Setup(Level.Trial)
    public void load() {
        Workload.check();
        if (threads > 0) {
            Engine.getEngine("PyTorch"); // loads libtorch, whose JNI setNumThreads calls
            JniUtils.setNumThreads(threads);
        }
    }

    /**
     * The public API for this trial's parameters (end-to-end and long-form benchmarks), loaded on
     * the first call: call it from a setup method so that the load is not timed.
     */
    Synthesizer synth() {
        if (synth == null) {
            synth = builder().build();
            check(synth.attention(), synth.nativeStep());
        }
        return synth;
    }

    /**
     * The pipeline below the API for this trial's parameters (the stage benchmarks call the stage
     * code on its model), loaded on the first call, from a setup method.
     */
    Pipeline pipeline() {
        if (pipeline == null) {
            pipeline = Pipeline.load(RandomBarkModel.folder(model), Precision.valueOf(precision),
                    Attention.valueOf(attention), step.equals("NATIVE"), Offload.valueOf(offload),
                    device.isEmpty() ? null : device);
            check(pipeline.speed().attention(), pipeline.speed().nativeStep());
        }
        return pipeline;
    }

    /** The loaded model of {@link #pipeline()}. */
    BarkModel bark() {
        return pipeline().model();
    }

    /** The library falls back to EAGER and the Java step when the bridge cannot load: do not mislabel the row. */
    private void check(Attention used, boolean nativeStep) {
        if (!used.name().equals(attention)) {
            throw new IllegalStateException("Asked for " + attention + " attention, the library uses " + used
                    + " (" + NativeOps.unavailableReason() + ")");
        }
        if (nativeStep != step.equals("NATIVE")) {
            throw new IllegalStateException("Asked for the " + step + " step, the library uses "
                    + (nativeStep ? "NATIVE" : "JAVA") + " (" + NativeOps.unavailableReason() + ")");
        }
    }

    /** The Synthesizer for this trial's parameters: the one place where options are applied. */
    Synthesizer.Builder builder() {
        Synthesizer.Builder b = Synthesizer.builder()
                .modelDir(RandomBarkModel.folder(model))
                .precision(Precision.valueOf(precision))
                .attention(Attention.valueOf(attention))
                .nativeStep(step.equals("NATIVE"))
                .offload(Offload.valueOf(offload));
        if (!device.isEmpty()) {
            b.device(device);
        }
        return b;
    }

    @TearDown(Level.Trial)
    public void close() {
        if (synth != null) {
            synth.close();
        }
        if (pipeline != null) {
            pipeline.close();
        }
    }
}

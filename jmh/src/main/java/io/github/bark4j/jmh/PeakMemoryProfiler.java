package io.github.bark4j.jmh;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.util.cuda.CudaUtils;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.io.IOException;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Peak memory of each iteration, reported as JMH secondary results (the maximum over iterations):
 *
 * <ul>
 *   <li>{@code peak-rss}: the process's peak resident set (Linux {@code VmHWM}, MB), reset before each
 *       iteration by writing 5 to {@code /proc/self/clear_refs}, so it is the peak during that iteration:
 *       the loaded weights plus everything the run allocates, native (libtorch) and Java alike. Where the
 *       reset is refused (old kernels) the value is the peak since the JVM started; {@code rss-reset}
 *       says which (1 reset, 0 not).
 *   <li>{@code process-peak-rss}: the process's peak resident set from the fork's start to the end
 *       of the iteration, MB, model loading included (what a user of the library pays): each reset
 *       first folds the peak so far into a running maximum.
 *   <li>{@code device-mem} (GPU runs only): memory in use on the benchmark's GPU after the iteration
 *       (cudaMemGetInfo via DJL, MB). libtorch's caching allocator is emptied before each iteration and
 *       keeps what it reserves until emptied again, so this approximates the iteration's peak reserved
 *       memory plus the CUDA context, and counts other processes on the same GPU. libtorch's own
 *       allocator statistics (max_memory_allocated) are not reachable through DJL.
 * </ul>
 *
 * Also {@code load-1m}: the 1-minute load average after each iteration (maximum over iterations),
 * which includes the benchmark's own threads: clearly above the thread count means other processes
 * competed for the cores and the timings of that row are inflated.
 *
 * <p>Use with {@code -prof io.github.bark4j.jmh.PeakMemoryProfiler}.
 */
public class PeakMemoryProfiler implements InternalProfiler {
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private boolean reset;
    /** The largest VmHWM seen before any reset in this process (kB), for {@code process-peak-rss}. */
    private static long processPeakKb = -1;

    @Override
    public String getDescription() {
        return "Peak resident memory per iteration (VmHWM) and GPU memory in use";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        Device gpu = gpu(benchmarkParams);
        if (gpu != null) {
            JniUtils.emptyCudaCache();
        }
        reset = resetPeak();
    }

    /**
     * Restarts the process's peak resident count (VmHWM) from its current resident set; whether
     * it could. For states whose setup runs inside the first iteration, after {@link
     * #beforeIteration}.
     */
    public static boolean resetPeak() {
        long hwm = statusKb("VmHWM");
        synchronized (PeakMemoryProfiler.class) {
            processPeakKb = Math.max(processPeakKb, hwm);
        }
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException | SecurityException | UnsupportedOperationException e) {
            return false;
        }
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
            IterationResult result) {
        List<Result> out = new ArrayList<>();
        long hwmKb = statusKb("VmHWM");
        if (hwmKb >= 0) {
            out.add(new ScalarResult("peak-rss", hwmKb / 1024.0, "MB", AggregationPolicy.MAX));
            out.add(new ScalarResult("rss-reset", reset ? 1 : 0, "bool", AggregationPolicy.MIN));
            long processPeak;
            synchronized (PeakMemoryProfiler.class) {
                processPeak = Math.max(processPeakKb, hwmKb);
            }
            out.add(new ScalarResult("process-peak-rss", processPeak / 1024.0, "MB", AggregationPolicy.MAX));
        }
        double load = loadAverage();
        if (load >= 0) {
            out.add(new ScalarResult("load-1m", load, "load", AggregationPolicy.MAX));
        }
        Device gpu = gpu(benchmarkParams);
        if (gpu != null) {
            MemoryUsage usage = CudaUtils.getGpuMemory(gpu);
            out.add(new ScalarResult("device-mem", usage.getUsed() / (1024.0 * 1024.0), "MB", AggregationPolicy.MAX));
        }
        return out;
    }

    /** The GPU the benchmark runs on (its {@code device} parameter, else the engine default), or null. */
    private static Device gpu(BenchmarkParams params) {
        String name = params.getParamsKeys().contains("device") ? params.getParam("device") : "";
        Engine engine = Engine.getEngine("PyTorch");
        Device device = name == null || name.isEmpty() ? engine.defaultDevice() : Device.fromName(name, engine);
        return device.isGpu() ? device : null;
    }

    static double loadAverage() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    static long statusKb(String field) {
        try {
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").trim());
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}

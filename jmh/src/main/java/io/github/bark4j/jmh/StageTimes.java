package io.github.bark4j.jmh;

import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.profile.InternalProfiler;
import org.openjdk.jmh.results.AggregationPolicy;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.ScalarResult;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Per-stage times of an end-to-end call, as JMH secondary results: a benchmark that times its
 * stages {@link #record}s them during the measured call, and this profiler (in the benchmark's
 * forked JVM) reports them after the iteration as {@code <name>} in the given unit, averaged over
 * iterations. Benchmarks that record nothing get no extra results.
 */
public class StageTimes implements InternalProfiler {
    private record Metric(double value, String unit) {}

    private static final Map<String, Metric> RECORDED = new java.util.concurrent.ConcurrentHashMap<>();

    /** Called by a benchmark during its measured call. */
    public static void record(String name, double value, String unit) {
        RECORDED.put(name, new Metric(value, unit));
    }

    @Override
    public String getDescription() {
        return "Per-stage times recorded by the benchmark";
    }

    @Override
    public void beforeIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams) {
        RECORDED.clear();
    }

    @Override
    public Collection<? extends Result> afterIteration(BenchmarkParams benchmarkParams, IterationParams iterationParams,
            IterationResult result) {
        List<Result> out = new ArrayList<>();
        RECORDED.forEach((name, m) -> out.add(new ScalarResult(name, m.value(), m.unit(), AggregationPolicy.AVG)));
        RECORDED.clear();
        return out;
    }
}

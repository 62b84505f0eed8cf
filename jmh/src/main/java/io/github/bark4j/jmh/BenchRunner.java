package io.github.bark4j.jmh;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Runs a benchmark matrix ({@link Matrix}: several JMH runs, each a set of benchmarks × parameters) and
 * writes {@code <out>/<date>-<machine>.json} (JMH's JSON of all runs) and the markdown report beside
 * it ({@code .md}). {@code --include REGEX} keeps the benchmarks whose full name matches (e.g.
 * {@code 'KernelBenchmark'} or {@code 'StageBenchmark.codec'}), with the matrix's parameters.
 *
 * <pre>
 * java -cp jmh/target/benchmarks.jar io.github.bark4j.jmh.BenchRunner quick|full
 *      [--out jmh/results] [--machine NAME] [--device gpu0] [--include REGEX]
 * </pre>
 */
public final class BenchRunner {
    private BenchRunner() {}

    public static void main(String[] args) throws RunnerException, IOException {
        if (args.length == 0 || !(args[0].equals("quick") || args[0].equals("full"))) {
            System.err.println("usage: BenchRunner quick|full [--out DIR] [--machine NAME] [--device gpu0]"
                    + " [--include REGEX]");
            System.exit(2);
        }
        Matrix matrix = Matrix.valueOf(args[0].toUpperCase(Locale.ROOT));
        Path out = Path.of("jmh", "results");
        String machine = null;
        String device = null;
        String include = null;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--machine" -> machine = args[++i];
                case "--device" -> device = args[++i];
                case "--include" -> include = args[++i];
                default -> {
                    System.err.println("unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        int cores = Runtime.getRuntime().availableProcessors();
        if (machine == null) {
            machine = Machine.defaultName(cores, device);
        }
        Files.createDirectories(out);
        String stem = LocalDate.now() + "-" + machine;
        Path json = out.resolve(stem + ".json");
        Path md = out.resolve(stem + ".md");

        Pattern filter = include == null ? null : Pattern.compile(include);
        List<RunResult> all = new ArrayList<>();
        String loadBefore = Machine.loadAverage();
        long t0 = System.nanoTime();
        for (Matrix.Run run : matrix.runs(cores)) {
            List<String> benchmarks = run.benchmarks().stream()
                    .filter(b -> filter == null || filter.matcher(b).find()).toList();
            if (benchmarks.isEmpty()) {
                continue;
            }
            System.out.printf(Locale.ROOT, "%n# bark4j run '%s': %s %s%n", run.name(), benchmarks, run.params());
            ChainedOptionsBuilder o = new OptionsBuilder()
                    .addProfiler(PeakMemoryProfiler.class)
                    .addProfiler(StageTimes.class)
                    .shouldFailOnError(true)
                    .jvmArgsAppend(forkJvmArgs());
            for (String b : benchmarks) {
                o.include("^" + Pattern.quote(b) + "$");
            }
            for (Map.Entry<String, List<String>> e : run.params().entrySet()) {
                o.param(e.getKey(), e.getValue().toArray(String[]::new));
            }
            if (device != null && run.params().containsKey("model")) {
                o.param("device", device);
            }
            if (run.iterations() != null) {
                o.warmupIterations(run.iterations()[0]).measurementIterations(run.iterations()[1]);
            }
            all.addAll(new Runner(o.build()).run());
            // after every run, so that a failure later keeps what was measured
            try (PrintStream ps = new PrintStream(Files.newOutputStream(json), false, StandardCharsets.UTF_8)) {
                ResultFormatFactory.getInstance(ResultFormatType.JSON, ps).writeOut(all);
            }
        }
        double minutes = (System.nanoTime() - t0) / 60e9;
        String loadAfter = Machine.loadAverage();
        String title = "bark4j benchmarks, " + matrix.name().toLowerCase(Locale.ROOT) + " matrix, " + stem;
        String report = ReportGenerator.render(ReportGenerator.read(json), title,
                Machine.describe(cores, device) + String.format(Locale.ROOT, "; matrix wall time %.1f min", minutes)
                        + "; 1-minute load average before / after: " + loadBefore + " / " + loadAfter
                        + " (above 0 before the run, other processes were competing for the cores)");
        Files.writeString(md, report);
        System.out.println("\nWrote " + json + " and " + md);
    }

    /** What every forked benchmark JVM needs: offline DJL, quiet logs, the model cache location. */
    static String[] forkJvmArgs() {
        List<String> a = new ArrayList<>();
        a.add("-Dai.djl.offline=" + System.getProperty("ai.djl.offline", "true"));
        a.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=" + System.getProperty(
                "org.slf4j.simpleLogger.defaultLogLevel", "warn"));
        for (String key : List.of("bark4j.jmh.models", "ai.djl.pytorch.num_interop_threads")) {
            if (System.getProperty(key) != null) {
                a.add("-D" + key + "=" + System.getProperty(key));
            }
        }
        return a.toArray(String[]::new);
    }
}

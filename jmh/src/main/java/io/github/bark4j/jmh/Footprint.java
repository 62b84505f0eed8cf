package io.github.bark4j.jmh;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.Attention;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.internal.ApiAccess;
import io.github.bark4j.internal.pipeline.Pipeline;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The process's memory from its start to its end, loading included, in a fresh JVM: what a user of
 * bark4j pays in resident memory, which the JMH benchmarks (peak during a measured call) leave out.
 * Run it as a main class from {@code jmh/target/benchmarks.jar}:
 *
 * <pre>
 * java -Dai.djl.offline=true -cp jmh/target/benchmarks.jar io.github.bark4j.jmh.Footprint long FP32
 * java -Dai.djl.offline=true -cp jmh/target/benchmarks.jar io.github.bark4j.jmh.Footprint codec FP32 3
 * </pre>
 *
 * <ul>
 *   <li>{@code long PRECISION}: loads bark-small's random weights ({@link RandomBarkModel}) with the
 *       library's defaults and speaks {@link LongWorkloadBenchmark}'s workload (768 semantic tokens →
 *       1154 frames, 15.4 s of audio) once.
 *   <li>{@code codec PRECISION [RUNS]}: loads the same model and decodes 1154 frames of random codes
 *       with EnCodec RUNS times (default 3), timing each.
 * </ul>
 *
 * Prints, after loading and at the end, the peak ({@code VmHWM}) and current ({@code VmRSS})
 * resident set from {@code /proc/self/status}, the phases' own peaks from a sampler thread (every
 * 2 ms from {@code /proc/self/statm}, allocating nothing: a phase is loading, a stage, or a codec
 * run), the times, and the 1-minute load average.
 * {@code -Dbark4j.footprint.dump=FILE} writes the last run's samples as big-endian float32 (to
 * compare two builds bit for bit); {@code -Dbark4j.footprint.trace=FILE} writes every sample of the
 * resident set (milliseconds, phase, MB).
 */
public final class Footprint {
    private static final int FRAMES = LongWorkloadBenchmark.FRAMES;

    private Footprint() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !(args[0].equals("long") || args[0].equals("codec"))) {
            System.err.println("usage: Footprint long|codec FP32|BF16|FP64 [codec runs]");
            System.exit(2);
        }
        Precision precision = Precision.valueOf(args[1].toUpperCase(Locale.ROOT));
        Path model = RandomBarkModel.folder("bark-small");
        Sampler sampler = new Sampler();
        sampler.start();
        report("start", sampler);
        if (args[0].equals("long")) {
            runLong(model, precision, sampler);
        } else {
            runCodec(model, precision, args.length > 2 ? Integer.parseInt(args[2]) : 3, sampler);
        }
        sampler.stop();
        report("end", sampler);
        System.out.println(sampler.phasePeaks());
        String trace = System.getProperty("bark4j.footprint.trace");
        if (trace != null) {
            sampler.write(Path.of(trace));
        }
        System.out.printf(Locale.ROOT, "load-1m %.2f%n", PeakMemoryProfiler.loadAverage());
        System.exit(0);
    }

    private static void runLong(Path model, Precision precision, Sampler sampler) throws IOException {
        sampler.phase("load");
        long t0 = System.nanoTime();
        try (Synthesizer synth = Synthesizer.builder().modelDir(model).precision(precision).build()) {
            System.out.printf(Locale.ROOT, "load %.2f s%n", (System.nanoTime() - t0) / 1e9);
            report("loaded", sampler);
            Map<Stage, Long> last = new EnumMap<>(Stage.class);
            GenerationOptions options = ApiAccess.get().fixedSemanticTokens(GenerationOptions.builder().greedy(),
                    LongWorkloadBenchmark.SEMANTIC_TOKENS).noVoice().longForm(false)
                    .progress((stage, done, total) -> {
                        last.put(stage, System.nanoTime());
                        Stage next = switch (stage) {
                            case SEMANTIC -> done == total ? Stage.COARSE : Stage.SEMANTIC;
                            case COARSE -> done == total ? Stage.FINE : Stage.COARSE;
                            case FINE -> done == total ? Stage.DECODE : Stage.FINE;
                            default -> stage;
                        };
                        String name = next.name().toLowerCase(Locale.ROOT);
                        if (!name.equals(sampler.phase)) {
                            sampler.phase(name);
                            System.out.printf(Locale.ROOT, "-> %-8s VmRSS %7.1f MB, Java heap resident %6.1f MB%n",
                                    name, PeakMemoryProfiler.statusKb("VmRSS") / 1024.0, javaHeapResidentKb() / 1024.0);
                        }
                    }).build();
            sampler.phase("semantic");
            long start = System.nanoTime();
            Speech speech = synth.generate(Workload.TEXT, options);
            long end = System.nanoTime();
            sampler.phase("after");
            if (speech.coarseTokens()[0].length != FRAMES) {
                throw new IllegalStateException("expected " + FRAMES + " frames, got " + speech.coarseTokens()[0].length);
            }
            long sem = last.get(Stage.SEMANTIC);
            long coarse = last.get(Stage.COARSE);
            long fine = last.get(Stage.FINE);
            System.out.printf(Locale.ROOT, "generate %.2f s: semantic %.2f ms/token, coarse %.2f ms/token, fine %.2f s,"
                    + " codec %.2f s%n", (end - start) / 1e9, (sem - start) / 1e6 / LongWorkloadBenchmark.SEMANTIC_TOKENS,
                    (coarse - sem) / 1e6 / LongWorkloadBenchmark.COARSE_TOKENS, (fine - coarse) / 1e9,
                    (end - fine) / 1e9);
            dump(speech.samples());
        }
    }

    private static void runCodec(Path model, Precision precision, int runs, Sampler sampler) throws IOException {
        sampler.phase("load");
        long t0 = System.nanoTime();
        try (Pipeline pipeline = Pipeline.load(model, precision, Attention.SDPA, true, Offload.NONE, null)) {
            System.out.printf(Locale.ROOT, "load %.2f s%n", (System.nanoTime() - t0) / 1e9);
            report("loaded", sampler);
            SplittableRandom random = new SplittableRandom(7);
            int books = pipeline.model().config.fine().nCodesTotal();
            int[][] codes = new int[books][FRAMES];
            for (int[] row : codes) {
                for (int t = 0; t < FRAMES; t++) {
                    row[t] = random.nextInt(1024);
                }
            }
            float[] audio = null;
            for (int run = 0; run < runs; run++) {
                sampler.phase("codec" + run);
                try (NDManager request = pipeline.model().manager().newSubManager()) {
                    long cpu = processCpuNanos();
                    long start = System.nanoTime();
                    audio = pipeline.decode(request, codes);
                    System.out.printf(Locale.ROOT, "codec run %d: %.3f s for %d frames (process CPU %.3f s);"
                            + " VmRSS %.1f MB, Java heap resident %.1f MB%n", run, (System.nanoTime() - start) / 1e9,
                            FRAMES, (processCpuNanos() - cpu) / 1e9, PeakMemoryProfiler.statusKb("VmRSS") / 1024.0,
                            javaHeapResidentKb() / 1024.0);
                }
            }
            sampler.phase("after");
            dump(audio);
        }
    }

    /**
     * CPU time of the whole process, all threads (less sensitive to other processes on the cores
     * than wall time, where OpenMP's waiting threads sleep: OMP_WAIT_POLICY=PASSIVE).
     */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static void dump(float[] samples) throws IOException {
        String file = System.getProperty("bark4j.footprint.dump");
        if (file == null) {
            return;
        }
        try (OutputStream os = Files.newOutputStream(Path.of(file));
                DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(os))) {
            for (float v : samples) {
                out.writeFloat(v);
            }
        }
    }

    private static void report(String when, Sampler sampler) {
        System.out.printf(Locale.ROOT, "%-7s VmHWM %7.1f MB  VmRSS %7.1f MB  (RssAnon %.1f, RssFile %.1f, Java heap %.1f)%n",
                when, PeakMemoryProfiler.statusKb("VmHWM") / 1024.0, PeakMemoryProfiler.statusKb("VmRSS") / 1024.0,
                PeakMemoryProfiler.statusKb("RssAnon") / 1024.0, PeakMemoryProfiler.statusKb("RssFile") / 1024.0,
                javaHeapResidentKb() / 1024.0);
        if (Boolean.getBoolean("bark4j.footprint.smaps")) {
            printMappings();
        }
    }

    /**
     * Resident kB of the Java heap: anonymous mappings below 32 GB, where the JVM places a heap
     * with compressed pointers (the C heap and native mappings lie far above).
     */
    private static long javaHeapResidentKb() {
        try {
            boolean heap = false;
            long kb = 0;
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 5 && f[0].contains("-") && !f[0].endsWith(":")) {
                    String[] range = f[0].split("-");
                    heap = f.length == 5 && Long.parseUnsignedLong(range[0], 16) < 32L << 30;
                } else if (heap && f[0].equals("Rss:")) {
                    kb += Long.parseLong(f[1]);
                }
            }
            return kb;
        } catch (IOException e) {
            return -1;
        }
    }

    /** The resident set by mapping (anonymous ones by size class), largest first: where memory sits. */
    private static void printMappings() {
        Map<String, Long> rss = new java.util.HashMap<>();
        try {
            String name = "";
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 5 && f[0].contains("-") && !line.startsWith("Rss") && !f[0].endsWith(":")) {
                    String[] range = f[0].split("-");
                    long size = (Long.parseUnsignedLong(range[1], 16) - Long.parseUnsignedLong(range[0], 16)) >> 20;
                    name = f.length >= 6 ? f[5] : Long.parseUnsignedLong(range[0], 16) < 32L << 30 ? "Java heap"
                            : "anon " + (size >= 64 ? ">=64MB" : size >= 1 ? "1-64MB" : "<1MB");
                } else if (f[0].equals("Rss:")) {
                    rss.merge(name, Long.parseLong(f[1]), Long::sum);
                }
            }
        } catch (IOException e) {
            System.out.println("no smaps: " + e.getMessage());
            return;
        }
        rss.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
                .forEach(e -> System.out.printf(Locale.ROOT, "    %8.1f MB  %s%n", e.getValue() / 1024.0, e.getKey()));
    }

    /** Samples VmRSS every 2 ms, recording each phase's maximum. */
    private static final class Sampler implements Runnable {
        private final Thread thread = new Thread(this, "rss-sampler");
        private long[] times = new long[1 << 16];
        private long[] values = new long[1 << 16];
        private int[] phases = new int[1 << 16];
        private int count;
        private final List<String> phaseNames = new ArrayList<>();
        private final Map<String, Long> peaks = new java.util.LinkedHashMap<>();
        private final long start = System.nanoTime();
        volatile String phase = "start";
        private volatile boolean running = true;

        void start() {
            thread.setDaemon(true);
            thread.start();
        }

        void phase(String name) {
            phase = name;
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }

        @Override
        public void run() {
            // /proc/self/statm read into one reused buffer: the sampler must not allocate, or its
            // own garbage (readAllLines of /proc/self/status, 500 times a second) fills the young
            // generation and shows up as resident memory
            ByteBuffer buffer = ByteBuffer.allocate(256);
            long pageKb = 4;
            try (FileChannel statm = FileChannel.open(Path.of("/proc/self/statm"))) {
                while (running) {
                    buffer.clear();
                    statm.read(buffer, 0);
                    long kb = secondField(buffer) * pageKb;
                    String p = phase;
                    synchronized (this) {
                        peaks.merge(p, kb, Math::max);
                        if (phaseNames.isEmpty() || !phaseNames.get(phaseNames.size() - 1).equals(p)) {
                            phaseNames.add(p);
                        }
                        if (count == times.length) {
                            times = java.util.Arrays.copyOf(times, 2 * count);
                            values = java.util.Arrays.copyOf(values, 2 * count);
                            phases = java.util.Arrays.copyOf(phases, 2 * count);
                        }
                        times[count] = (System.nanoTime() - start) / 1_000_000;
                        values[count] = kb;
                        phases[count] = phaseNames.size() - 1;
                        count++;
                    }
                    Thread.sleep(2);
                }
            } catch (IOException | InterruptedException e) {
                System.out.println("sampler stopped: " + e);
            }
        }

        /** The second number of statm (resident pages), parsed without allocating. */
        private static long secondField(ByteBuffer b) {
            int i = 0;
            int n = b.position();
            while (i < n && b.get(i) != ' ') {
                i++;
            }
            long v = 0;
            for (i++; i < n && b.get(i) >= '0' && b.get(i) <= '9'; i++) {
                v = 10 * v + (b.get(i) - '0');
            }
            return v;
        }

        synchronized String phasePeaks() {
            StringBuilder s = new StringBuilder("sampled peaks (MB):");
            peaks.forEach((p, kb) -> s.append(String.format(Locale.ROOT, " %s %.0f", p, kb / 1024.0)));
            return s.toString();
        }

        synchronized void write(Path file) throws IOException {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < count; i++) {
                s.append(times[i]).append(' ').append(phaseNames.get(phases[i])).append(' ')
                        .append(String.format(Locale.ROOT, "%.1f", values[i] / 1024.0)).append('\n');
            }
            Files.writeString(file, s);
        }
    }
}

package io.github.bark4j.jmh;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Turns a JMH JSON result file of these benchmarks into markdown tables laid out like the Hugging Face
 * "Optimizing Bark" post: one row per configuration; latency, memory and throughput as absolute values
 * and relative to the unoptimised row of the same model size.
 *
 * <pre>java -cp jmh/target/benchmarks.jar io.github.bark4j.jmh.ReportGenerator results.json [report.md [machine]]</pre>
 */
public final class ReportGenerator {
    /**
     * The unoptimised value of each configuration parameter: the baseline row of a model size has
     * these (where the parameter exists) and the most threads. Add new options' defaults here.
     */
    static final Map<String, String> DEFAULTS = Map.of(
            "precision", "FP32",
            "attention", "EAGER",
            "step", "JAVA",
            "offload", "NONE",
            "batch", "1",
            "device", "");

    private static final String STAGES = Matrix.STAGES;
    private static final String E2E = Matrix.E2E;
    private static final String ATTENTION = Matrix.ATTENTION;
    private static final String CONV = Matrix.CONV;
    private static final String LONG = Matrix.LONG;
    private static final String CLONE = Matrix.CLONE;
    /** Where the benchmarks lived before io.github.bark4j.jmh: results in jmh/results/ still name it. */
    private static final String OLD_PACKAGE = "io.github.bark4j.";

    private ReportGenerator() {}

    /** One JMH result: benchmark, parameters, primary score and error in ms per operation, secondary metrics. */
    record Result(String benchmark, Map<String, String> params, double score, double error, String unit, int samples,
            Map<String, Double> secondary) {}

    public static void main(String[] args) throws IOException {
        if (args.length < 1) {
            System.err.println("usage: ReportGenerator results.json [report.md [machine-description]]");
            System.exit(2);
        }
        Path json = Path.of(args[0]);
        String name = json.getFileName().toString().replaceFirst("\\.json$", "");
        String md = render(read(json), "bark4j benchmarks, " + name, args.length > 2 ? args[2] : null);
        if (args.length > 1) {
            Files.writeString(Path.of(args[1]), md);
        } else {
            System.out.print(md);
        }
    }

    /** A benchmark's name in this package, also for results written before the benchmarks moved here. */
    static String currentName(String benchmark) {
        if (!benchmark.startsWith(OLD_PACKAGE)) {
            return benchmark;
        }
        String rest = benchmark.substring(OLD_PACKAGE.length());
        // "Class.method" directly in the old package: one dot
        return rest.indexOf('.') == rest.lastIndexOf('.') ? Matrix.class.getPackageName() + "." + rest : benchmark;
    }

    public static List<Result> read(Path json) throws IOException {
        JsonArray root = JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonArray();
        List<Result> out = new ArrayList<>();
        for (JsonElement e : root) {
            JsonObject o = e.getAsJsonObject();
            Map<String, String> params = new TreeMap<>();
            if (o.has("params")) {
                o.getAsJsonObject("params").entrySet().forEach(p -> params.put(p.getKey(), p.getValue().getAsString()));
            }
            JsonObject primary = o.getAsJsonObject("primaryMetric");
            Map<String, Double> secondary = new LinkedHashMap<>();
            if (o.has("secondaryMetrics")) {
                o.getAsJsonObject("secondaryMetrics").entrySet().forEach(
                        s -> secondary.put(s.getKey(), number(s.getValue().getAsJsonObject().get("score"))));
            }
            int samples = primary.has("rawData") ? primary.getAsJsonArray("rawData").get(0).getAsJsonArray().size() : 0;
            String unit = primary.get("scoreUnit").getAsString();
            double toMs = switch (unit) {
                case "s/op" -> 1e3;
                case "ms/op" -> 1;
                case "us/op" -> 1e-3;
                case "ns/op" -> 1e-6;
                default -> throw new IllegalArgumentException(o.get("benchmark") + " has unit " + unit
                        + ", expected time per operation");
            };
            out.add(new Result(currentName(o.get("benchmark").getAsString()), params, toMs * number(primary.get("score")),
                    toMs * number(primary.get("scoreError")), "ms/op", samples, secondary));
        }
        return out;
    }

    private static double number(JsonElement e) {
        if (e == null || e.isJsonNull()) {
            return Double.NaN;
        }
        try {
            return e.getAsDouble();
        } catch (NumberFormatException ex) {
            return Double.NaN; // JMH writes "NaN" for the error of a single sample
        }
    }

    /** A configuration: the parameters that identify a row (all of them). */
    private static String key(Map<String, String> params) {
        return params.toString();
    }

    static String label(Map<String, String> p) {
        StringBuilder sb = new StringBuilder();
        sb.append(p.getOrDefault("model", "?")).append(", ").append(p.getOrDefault("precision", "?"));
        if (p.containsKey("attention")) {
            sb.append(", ").append(p.get("attention"));
        }
        if (p.containsKey("offload")) {
            sb.append(p.get("offload").equals("NONE") ? ", no offload"
                    : p.get("offload").equals("PER_STAGE") ? ", offload per stage" : ", offload " + p.get("offload"));
        }
        String threads = p.get("threads");
        if (threads != null) {
            sb.append(", ").append(threads.equals("0") ? "default threads" : threads + (threads.equals("1") ? " thread" : " threads"));
        }
        for (Map.Entry<String, String> e : p.entrySet()) {
            String k = e.getKey();
            if (List.of("model", "precision", "threads", "attention", "offload").contains(k)) {
                continue;
            }
            if (k.equals("device") && e.getValue().isEmpty()) {
                continue;
            }
            sb.append(", ").append(k).append(' ').append(e.getValue());
        }
        return sb.toString();
    }

    public static String render(List<Result> all, String title, String machine) {
        List<Result> results = all.stream().filter(r -> !r.benchmark().equals(ATTENTION) && !r.benchmark().equals(CONV)
                && !r.benchmark().equals(LONG) && !r.benchmark().equals(CLONE)).toList();
        // rows: configurations in first-seen order, with their results by benchmark method
        Map<String, Map<String, String>> configs = new LinkedHashMap<>();
        Map<String, Map<String, Result>> byConfig = new LinkedHashMap<>();
        for (Result r : results) {
            Map<String, String> p = new TreeMap<>(r.params());
            p.remove("batch"); // a per-call setting, shown in the end-to-end table
            String k = key(p);
            configs.putIfAbsent(k, p);
            String method = r.benchmark().startsWith(STAGES) ? r.benchmark().substring(STAGES.length())
                    : r.benchmark().equals(E2E) ? "e2e" + "@" + r.params().getOrDefault("batch", "1") : r.benchmark();
            byConfig.computeIfAbsent(k, x -> new LinkedHashMap<>()).put(method, r);
        }
        Map<String, String> baseline = baselines(configs);

        StringBuilder md = new StringBuilder();
        md.append("# ").append(title).append("\n\n");
        if (machine != null) {
            md.append(machine).append(".\n\n");
        }
        md.append("Random weights at the real sizes; greedy decoding, EOS disabled, ").append(Workload.SEMANTIC_TOKENS)
                .append(" semantic tokens → ").append(Workload.COARSE_TOKENS).append(" coarse tokens → ")
                .append(fmt(Workload.UTTERANCE_SECONDS, 2)).append(" s of audio per utterance; the fine stage runs one"
                        + " full 1024-frame window (as for any utterance up to 13.6 s). Δ is relative to the"
                        + " unoptimised row of the same model (FP32, eager attention, no offload, batch 1, most"
                        + " threads, marked *base*). Ratios are only meaningful between rows of one run.\n\n");

        StringBuilder e2eRows = new StringBuilder();
        boolean deviceMem = results.stream().anyMatch(r -> r.secondary().containsKey("device-mem"));
        StringBuilder e2eHead = new StringBuilder("## End to end\n\n");
        e2eHead.append("| Configuration | Batch | Latency (s) | Δ latency | Real-time factor | Peak RSS (MB) | Δ memory |");
        if (deviceMem) {
            e2eHead.append(" Device memory (MB) |");
        }
        e2eHead.append(" Throughput (audio s/s) | Δ throughput | Load |\n");
        e2eHead.append("|---|---:|---:|---:|---:|---:|---:|").append(deviceMem ? "---:|" : "").append("---:|---:|---:|\n");
        for (Map.Entry<String, Map<String, Result>> row : byConfig.entrySet()) {
            Result base = e2e(byConfig.get(baseline.get(row.getKey())), "1");
            for (Map.Entry<String, Result> m : row.getValue().entrySet()) {
                if (!m.getKey().startsWith("e2e@")) {
                    continue;
                }
                Result r = m.getValue();
                int batch = Integer.parseInt(m.getKey().substring(4));
                boolean isBase = base == r;
                double latency = r.score() / 1000;
                double throughput = batch * Workload.UTTERANCE_SECONDS / latency;
                e2eRows.append("| ").append(label(configs.get(row.getKey()))).append(isBase ? " *(base)*" : "")
                        .append(" | ").append(batch)
                        .append(" | ").append(withError(latency, r.error() / 1000, 2))
                        .append(" | ").append(isBase || base == null ? "" : delta(r.score(), base.score()))
                        .append(" | ").append(fmt(latency / Workload.UTTERANCE_SECONDS, 1))
                        .append(" | ").append(fmt(r.secondary().getOrDefault("peak-rss", Double.NaN), 0))
                        .append(" | ").append(isBase || base == null ? ""
                                : delta(r.secondary().getOrDefault("peak-rss", Double.NaN),
                                        base.secondary().getOrDefault("peak-rss", Double.NaN)));
                if (deviceMem) {
                    e2eRows.append(" | ").append(fmt(r.secondary().getOrDefault("device-mem", Double.NaN), 0));
                }
                e2eRows.append(" | ").append(fmt(throughput, 3))
                        .append(" | ").append(isBase || base == null ? ""
                                : delta(throughput, Workload.UTTERANCE_SECONDS / (base.score() / 1000)))
                        .append(" | ").append(fmt(r.secondary().getOrDefault("load-1m", Double.NaN), 1))
                        .append(" |\n");
            }
        }

        if (e2eRows.length() > 0) {
            md.append(e2eHead).append(e2eRows).append('\n');
        }

        StringBuilder stageRows = new StringBuilder();
        StringBuilder stageHead = new StringBuilder("## Per stage\n\n");
        stageHead.append("| Configuration | Semantic (ms/token) | Δ | Coarse (ms/token) | Δ | Fine (s/window) | Δ"
                + " | EnCodec (ms per audio s) | Δ | Peak RSS (MB) | Load |\n");
        stageHead.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Map<String, Result>> row : byConfig.entrySet()) {
            Map<String, Result> rs = row.getValue();
            if (!(rs.containsKey("semantic") || rs.containsKey("coarse") || rs.containsKey("fine")
                    || rs.containsKey("codec"))) {
                continue;
            }
            Map<String, Result> base = byConfig.get(baseline.get(row.getKey()));
            boolean isBase = base == rs;
            stageRows.append("| ").append(label(configs.get(row.getKey()))).append(isBase ? " *(base)*" : "");
            for (String stage : List.of("semantic", "coarse", "fine", "codec")) {
                Result r = rs.get(stage);
                double scale = stage.equals("fine") ? 1e-3 : 1;
                int digits = stage.equals("fine") ? 2 : 1;
                stageRows.append(" | ").append(r == null ? "–" : withError(r.score() * scale, r.error() * scale, digits));
                Result b = base == null ? null : base.get(stage);
                stageRows.append(" | ").append(r == null || b == null || isBase ? "" : delta(r.score(), b.score()));
            }
            double rss = rs.entrySet().stream().filter(e -> !e.getKey().startsWith("e2e@"))
                    .mapToDouble(e -> e.getValue().secondary().getOrDefault("peak-rss", Double.NaN)).max().orElse(Double.NaN);
            double load = rs.entrySet().stream().filter(e -> !e.getKey().startsWith("e2e@"))
                    .mapToDouble(e -> e.getValue().secondary().getOrDefault("load-1m", Double.NaN)).max().orElse(Double.NaN);
            stageRows.append(" | ").append(fmt(rss, 0)).append(" | ").append(fmt(load, 1)).append(" |\n");
        }

        if (stageRows.length() > 0) {
            md.append(stageHead).append(stageRows).append('\n');
        }

        StringBuilder shareRows = new StringBuilder();
        StringBuilder shareHead = new StringBuilder("## Where the time of one utterance goes\n\n");
        shareHead.append("Stage costs scaled to one utterance (").append(Workload.SEMANTIC_TOKENS).append(" semantic and ")
                .append(Workload.COARSE_TOKENS).append(" coarse tokens, one fine window, ")
                .append(fmt(Workload.UTTERANCE_SECONDS, 2)).append(" s decoded), in seconds and share of their sum,"
                        + " beside the measured end-to-end latency.\n\n");
        shareHead.append("| Configuration | Semantic | Coarse | Fine | EnCodec | Sum of stages | End to end |\n");
        shareHead.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Map<String, Result>> row : byConfig.entrySet()) {
            Map<String, Result> rs = row.getValue();
            if (!(rs.containsKey("semantic") && rs.containsKey("coarse") && rs.containsKey("fine")
                    && rs.containsKey("codec"))) {
                continue;
            }
            double[] s = {
                rs.get("semantic").score() * Workload.SEMANTIC_TOKENS / 1000,
                rs.get("coarse").score() * Workload.COARSE_TOKENS / 1000,
                rs.get("fine").score() / 1000,
                rs.get("codec").score() * Workload.UTTERANCE_SECONDS / 1000};
            double sum = s[0] + s[1] + s[2] + s[3];
            shareRows.append("| ").append(label(configs.get(row.getKey())));
            for (double v : s) {
                shareRows.append(" | ").append(fmt(v, 2)).append(" (").append(fmt(100 * v / sum, 0)).append("%)");
            }
            Result e = e2e(rs, "1");
            shareRows.append(" | ").append(fmt(sum, 2)).append(" | ").append(e == null ? "–" : fmt(e.score() / 1000, 2))
                    .append(" |\n");
        }
        if (shareRows.length() > 0) {
            md.append(shareHead).append(shareRows).append('\n');
        }
        md.append(longWorkload(all));
        md.append(cloning(all));
        md.append(kernels(all));
        md.append("Latency: wall time of one `Synthesizer.generate` call; real-time factor = latency / audio"
                + " seconds; throughput = audio seconds generated per wall second (× batch). Peak RSS: the"
                + " process's VmHWM during a measured call (weights included), maximum over calls. Load: the"
                + " highest 1-minute load average after a measured call (own threads included; well above the"
                + " thread count means other processes competed for the cores and the row is inflated). Stage"
                + " scores: mean of the measured calls ± JMH's 99.9% interval where there are enough calls;"
                + " measured samples per row: ");
        md.append(sampleSummary(all)).append(".\n");
        return md.toString();
    }

    private static String sampleSummary(List<Result> results) {
        Map<String, Integer> min = new TreeMap<>();
        for (Result r : results) {
            String m = r.benchmark().substring(r.benchmark().lastIndexOf('.') + 1);
            min.merge(m, r.samples(), Math::min);
        }
        StringBuilder sb = new StringBuilder();
        min.forEach((k, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(k).append(' ').append(v));
        return sb.toString();
    }

    /**
     * The long workload's table: end to end with the stage times of the same call, and Δ against
     * the Java-step FP32 row of the same model and attention.
     */
    static String longWorkload(List<Result> all) {
        List<Result> rows = all.stream().filter(r -> r.benchmark().equals(LONG)).toList();
        if (rows.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("## Long workload\n\n");
        md.append("bark-small, greedy, EOS off, no voice: ").append(LongWorkloadBenchmark.SEMANTIC_TOKENS)
                .append(" semantic tokens → ").append(LongWorkloadBenchmark.COARSE_TOKENS)
                .append(" coarse tokens (39 window re-prefills) → two fine windows → ")
                .append(fmt(LongWorkloadBenchmark.AUDIO_SECONDS, 2))
                .append(" s of audio, in one `generate` call (one measured call, no warm-up). Stage times are"
                        + " taken from the same call's progress callbacks; semantic and coarse include their"
                        + " prompt pass and re-prefills. With `rows` texts in one batch, the real-time factor is the"
                        + " aggregate one: wall time over the audio of all rows. Δ is against the Java-step FP32 row"
                        + " of the same rows.\n\n");
        md.append("| Configuration | Semantic (ms/token) | Coarse (ms/token) | Fine (s) | EnCodec (s) | End to end (s)"
                + " | Real-time factor | Δ end to end | Peak RSS (MB) | Load |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : rows) {
            Result base = rows.stream().filter(b -> "JAVA".equals(b.params().get("step"))
                    && "FP32".equals(b.params().get("precision"))
                    && Objects.equals(b.params().get("model"), r.params().get("model"))
                    && Objects.equals(b.params().get("attention"), r.params().get("attention"))
                    && Objects.equals(b.params().get("rows"), r.params().get("rows"))).findFirst().orElse(null);
            Map<String, Double> x = r.secondary();
            double seconds = r.score() / 1000;
            int batchRows = Integer.parseInt(r.params().getOrDefault("rows", "1"));
            md.append("| ").append(label(r.params())).append(base == r ? " *(base)*" : "")
                    .append(" | ").append(fmt(x.getOrDefault("semantic-ms-per-token", Double.NaN), 1))
                    .append(" | ").append(fmt(x.getOrDefault("coarse-ms-per-token", Double.NaN), 1))
                    .append(" | ").append(fmt(x.getOrDefault("fine-s", Double.NaN), 1))
                    .append(" | ").append(fmt(x.getOrDefault("codec-s", Double.NaN), 1))
                    .append(" | ").append(fmt(seconds, 1))
                    .append(" | ").append(fmt(seconds / (batchRows * LongWorkloadBenchmark.AUDIO_SECONDS), 2))
                    .append(" | ").append(base == null || base == r ? "" : fmt(base.score() / r.score(), 2) + "× faster")
                    .append(" | ").append(fmt(x.getOrDefault("peak-rss", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("load-1m", Double.NaN), 1))
                    .append(" |\n");
        }
        return md.append('\n').toString();
    }

    /**
     * The voice-cloning table: the call's wall time, each part's wall time from the same call, the
     * process's CPU time (on a loaded host closer to the work than the wall time), and memory.
     */
    static String cloning(List<Result> all) {
        List<Result> rows = all.stream().filter(r -> r.benchmark().equals(CLONE)).toList();
        if (rows.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("## Voice cloning\n\n");
        md.append(fmt(CloningBenchmark.SECONDS, 0)).append(" s of speech-like audio (a ")
                .append(CloningBenchmark.WAV_RATE).append(" Hz stereo 16-bit WAV) through `Synthesizer.cloneVoice(Path)`:"
                        + " resampling to 24 and 16 kHz, bark-small's EnCodec encoder, HuBERT base to layer 9 and the"
                        + " English quantizer (LSTM 768 → 1024 × 2, fc 1024 → 10000), random weights at the real sizes."
                        + " Parts are wall times of the same call (other: WAV read, checks, preset); CPU: the process's CPU"
                        + " time during the call, all threads; added peak RSS: the call's peak resident set above the"
                        + " resident set before it, the models loaded. One warm-up and three measured calls.\n\n");
        md.append("| Configuration | Clone (s) | Resample (ms) | EnCodec encoder (ms) | HuBERT (ms) | Quantizer (ms)"
                + " | Other (ms) | CPU (s) | Added peak RSS (MB) | Peak RSS (MB) | Load |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Result r : rows) {
            Map<String, Double> x = r.secondary();
            String threads = r.params().getOrDefault("threads", "0");
            String label = threads.equals("0") ? "default threads" : threads + (threads.equals("1") ? " thread" : " threads");
            md.append("| ").append(r.params().getOrDefault("precision", "?")).append(", ").append(label)
                    .append(" | ").append(withError(r.score() / 1000, r.error() / 1000, 2))
                    .append(" | ").append(fmt(x.getOrDefault("resample-ms", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("codec-encoder-ms", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("hubert-ms", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("quantizer-ms", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("other-ms", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("cpu-s", Double.NaN), 2))
                    .append(" | ").append(fmt(x.getOrDefault("added-peak-rss", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("peak-rss", Double.NaN), 0))
                    .append(" | ").append(fmt(x.getOrDefault("load-1m", Double.NaN), 1))
                    .append(" |\n");
        }
        return md.append('\n').toString();
    }

    /** The kernel tables: each pair of implementations side by side, with the ratio slow path / fast path. */
    static String kernels(List<Result> all) {
        StringBuilder md = new StringBuilder();
        Map<String, Map<String, Result>> attention = new LinkedHashMap<>();
        Map<String, Map<String, Result>> conv = new LinkedHashMap<>();
        for (Result r : all) {
            Map<String, String> p = r.params();
            if (r.benchmark().equals(ATTENTION)) {
                attention.computeIfAbsent(p.get("shape") + "|" + p.get("precision"), k -> new TreeMap<>())
                        .put(p.get("kernel"), r);
            } else if (r.benchmark().equals(CONV)) {
                conv.computeIfAbsent(p.get("layer"), k -> new TreeMap<>()).put(p.get("impl"), r);
            }
        }
        if (!attention.isEmpty()) {
            md.append("## Attention kernel\n\n");
            md.append("One attention call at bark-small's sizes (B=1, 12 heads × 64), `AttentionKernel.EAGER`"
                    + " (DJL ops: scores, mask, softmax, matmul) vs `AttentionKernel.SDPA` (libtorch's fused"
                    + " scaled_dot_product_attention through the native bridge), µs per call, mean ± 99.9%"
                    + " interval. At FP16 the eager kernel computes in FP32 and rounds back (the library's"
                    + " choice for accuracy on CPU); SDPA stays in FP16.\n\n");
            md.append("| Shape | Precision | Eager (µs) | SDPA (µs) | Eager / SDPA |\n");
            md.append("|---|---|---:|---:|---:|\n");
            List<Map.Entry<String, Map<String, Result>>> rows = new ArrayList<>(attention.entrySet());
            rows.sort(java.util.Comparator.comparing((Map.Entry<String, Map<String, Result>> e) ->
                    List.of("FP32", "FP16", "FP64").indexOf(e.getKey().split("\\|", -1)[1]))
                    .thenComparing(e -> List.of("decode", "prefill", "fine").indexOf(e.getKey().replaceFirst("-.*", "")))
                    .thenComparing(e -> number(e.getKey().replaceFirst("^[a-z]+-", "").replaceFirst("\\|.*", ""))));
            for (Map.Entry<String, Map<String, Result>> row : rows) {
                String[] key = row.getKey().split("\\|", -1);
                pair(md, describeShape(key[0]) + " | " + key[1], row.getValue().get("EAGER"), row.getValue().get("SDPA"));
            }
            md.append('\n');
        }
        if (!conv.isEmpty()) {
            md.append("## Transposed convolution\n\n");
            md.append("EnCodec 24 kHz's upsampling layers at the input lengths of one second of audio, FP32:"
                    + " `CodecDecoder.convTransposeByMatmul` (the pure-DJL fallback) vs `NativeOps.convTranspose1d`"
                    + " (libtorch's conv_transpose1d through the bridge), µs per call, mean ± 99.9% interval.\n\n");
            md.append("| Layer | Fallback (µs) | Native (µs) | Fallback / native |\n");
            md.append("|---|---:|---:|---:|\n");
            double slow = 0;
            double fast = 0;
            List<Map.Entry<String, Map<String, Result>>> rows = new ArrayList<>(conv.entrySet());
            rows.sort(java.util.Comparator.comparing(e -> -number(e.getKey().replaceFirst("-.*", ""))));
            for (Map.Entry<String, Map<String, Result>> row : rows) {
                Result m = row.getValue().get("MATMUL");
                Result n = row.getValue().get("NATIVE");
                pair(md, describeLayer(row.getKey()), m, n);
                slow += m == null ? Double.NaN : m.score();
                fast += n == null ? Double.NaN : n.score();
            }
            if (conv.size() > 1) {
                md.append("| all ").append(conv.size()).append(" layers (sum) | ").append(fmt(slow * 1000, 0))
                        .append(" | ").append(fmt(fast * 1000, 0)).append(" | ").append(fmt(slow / fast, 2))
                        .append("× |\n");
            }
            md.append('\n');
        }
        return md.toString();
    }

    private static double number(String s) {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.MAX_VALUE;
        }
    }

    /** A side-by-side row: slow, fast and their ratio, times in µs. */
    private static void pair(StringBuilder md, String label, Result slow, Result fast) {
        md.append("| ").append(label)
                .append(" | ").append(slow == null ? "–" : withError(slow.score() * 1000, slow.error() * 1000, 0))
                .append(" | ").append(fast == null ? "–" : withError(fast.score() * 1000, fast.error() * 1000, 0))
                .append(" | ").append(slow == null || fast == null ? "–" : fmt(slow.score() / fast.score(), 2) + "×")
                .append(" |\n");
    }

    /** "decode-257" → "decode step, Tq=1, Tk=257", and the prefill and fine shapes alike. */
    static String describeShape(String shape) {
        int dash = shape.indexOf('-');
        String n = dash < 0 ? "?" : shape.substring(dash + 1);
        if (shape.startsWith("decode-")) {
            return "decode step (causal), Tq=1, Tk=" + n;
        } else if (shape.startsWith("prefill-")) {
            return "prefill (causal), Tq=Tk=" + n;
        } else if (shape.startsWith("fine-")) {
            return "fine pass (non-causal), Tq=Tk=" + n;
        }
        return shape;
    }

    /** "512-256-k16-s8-t75" → "512→256, k16 s8, T=75". */
    static String describeLayer(String layer) {
        String[] f = layer.split("-");
        if (f.length != 5) {
            return layer;
        }
        return f[0] + "→" + f[1] + ", k" + f[2].substring(1) + " s" + f[3].substring(1) + ", T=" + f[4].substring(1);
    }

    private static Result e2e(Map<String, Result> rs, String batch) {
        return rs == null ? null : rs.get("e2e@" + batch);
    }

    /** For each configuration, the key of its model's baseline configuration. */
    private static Map<String, String> baselines(Map<String, Map<String, String>> configs) {
        Map<String, String> bestByModel = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, String>> c : configs.entrySet()) {
            Map<String, String> p = c.getValue();
            boolean defaults = DEFAULTS.entrySet().stream()
                    .allMatch(d -> !p.containsKey(d.getKey()) || Objects.equals(p.get(d.getKey()), d.getValue()));
            if (!defaults) {
                continue;
            }
            String model = p.get("model");
            String current = bestByModel.get(model);
            if (current == null || threads(p) > threads(configs.get(current))) {
                bestByModel.put(model, c.getKey());
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Map<String, String>> c : configs.entrySet()) {
            String base = bestByModel.get(c.getValue().get("model"));
            out.put(c.getKey(), base);
        }
        return out;
    }

    private static int threads(Map<String, String> p) {
        int t = Integer.parseInt(p.getOrDefault("threads", "0"));
        return t == 0 ? Integer.MAX_VALUE : t;
    }

    static String delta(double value, double base) {
        if (!Double.isFinite(value) || !Double.isFinite(base) || base == 0) {
            return "";
        }
        double pct = 100 * (value / base - 1);
        return (pct >= 0 ? "+" : "−") + fmt(Math.abs(pct), 0) + "%";
    }

    static String withError(double value, double error, int digits) {
        return Double.isFinite(error) ? fmt(value, digits) + " ± " + fmt(error, digits) : fmt(value, digits);
    }

    static String fmt(double v, int digits) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%." + digits + "f", v) : "–";
    }
}

package io.github.bark4j.spark;

import io.github.bark4j.Precision;

import java.nio.file.Path;
import java.util.Locale;

/** The job's command line, parsed and checked; {@link IllegalArgumentException} says what is wrong. */
public final class JobOptions {
    static final String USAGE = String.join("\n",
            "Usage: bark4j-spark --input FILE --output DIR (--model-dir DIR | --model ID) [options]",
            "  --master URL          Spark master for a run without spark-submit, e.g. local[2]",
            "  --input PATH          table of texts: columns id, text, optional voice, seed",
            "  --input-format F      csv (with a header), json (JSON Lines) or parquet;",
            "                        default from the extension (.csv, .json/.jsonl, .parquet)",
            "  --output DIR          folder every executor can write: audio/, manifest/, _rows/",
            "  --audio-format F      wav (one file per row, default) or parquet (audio column in the manifest)",
            "  --model-dir DIR       local Bark model folder, on storage every executor sees",
            "  --model ID            manifest model, e.g. suno/bark-small, downloaded once per executor",
            "  --cache-dir DIR       download cache for --model (default ~/.cache/bark4j)",
            "  --offline             never download (--model must already be in the cache)",
            "  --batch-size N        rows per batched call (default 8)",
            "  --partitions N        tasks (default: 256 rows per task, at least Spark's default parallelism)",
            "  --precision P         fp32 (default), fp64 or fp16",
            "  --device D            cpu or gpu0 ... (default: the engine's default device)",
            "  --greedy              argmax decoding (seeds then do not matter)",
            "  --temperature T       semantic and coarse temperature (default 0.7)",
            "  --max-seconds S       cap on each row's speech length",
            "  -h, --help            this help");

    String master;
    Path input;
    String inputFormat;
    Path output;
    boolean audioInParquet;
    String modelDir;
    String model;
    String cacheDir;
    boolean offline;
    int batchSize = 8;
    Integer partitions;
    Precision precision = Precision.FP32;
    String device;
    boolean greedy;
    Double temperature;
    Double maxSeconds;
    boolean help;

    static JobOptions parse(String... args) {
        JobOptions o = new JobOptions();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "-h", "--help" -> o.help = true;
                case "--offline" -> o.offline = true;
                case "--greedy" -> o.greedy = true;
                case "--master" -> o.master = value(args, ++i, a);
                case "--input" -> o.input = Path.of(value(args, ++i, a));
                case "--input-format" -> o.inputFormat = oneOf(value(args, ++i, a), a, "csv", "json", "parquet");
                case "--output" -> o.output = Path.of(value(args, ++i, a));
                case "--audio-format" -> o.audioInParquet = oneOf(value(args, ++i, a), a, "wav", "parquet")
                        .equals("parquet");
                case "--model-dir" -> o.modelDir = value(args, ++i, a);
                case "--model" -> o.model = value(args, ++i, a);
                case "--cache-dir" -> o.cacheDir = value(args, ++i, a);
                case "--batch-size" -> o.batchSize = positive(value(args, ++i, a), a);
                case "--partitions" -> o.partitions = positive(value(args, ++i, a), a);
                case "--precision" -> o.precision = Precision.valueOf(
                        oneOf(value(args, ++i, a), a, "fp32", "fp64", "fp16").toUpperCase(Locale.ROOT));
                case "--device" -> o.device = value(args, ++i, a);
                case "--temperature" -> o.temperature = number(value(args, ++i, a), a);
                case "--max-seconds" -> o.maxSeconds = number(value(args, ++i, a), a);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (o.help) {
            return o;
        }
        if (o.input == null || o.output == null) {
            throw new IllegalArgumentException("--input and --output are required");
        }
        if ((o.modelDir == null) == (o.model == null)) {
            throw new IllegalArgumentException("give exactly one of --model-dir and --model");
        }
        if (o.inputFormat == null) {
            o.inputFormat = formatOf(o.input);
        }
        return o;
    }

    ModelSpec modelSpec() {
        return new ModelSpec(modelDir, model, cacheDir, offline, precision, device);
    }

    GenerationSettings generation() {
        return new GenerationSettings(greedy, temperature, maxSeconds);
    }

    private static String formatOf(Path input) {
        String name = input.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) {
            return "csv";
        }
        if (name.endsWith(".json") || name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return "json";
        }
        if (name.endsWith(".parquet")) {
            return "parquet";
        }
        throw new IllegalArgumentException("cannot tell the format of " + input + " from its name: give --input-format");
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static String oneOf(String v, String option, String... allowed) {
        String l = v.toLowerCase(Locale.ROOT);
        for (String a : allowed) {
            if (a.equals(l)) {
                return a;
            }
        }
        throw new IllegalArgumentException(option + " must be one of " + String.join(", ", allowed) + ", got " + v);
    }

    private static int positive(String v, String option) {
        try {
            int n = Integer.parseInt(v);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new IllegalArgumentException(option + " needs a positive integer, got " + v);
    }

    private static double number(String v, String option) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, got " + v);
        }
    }
}

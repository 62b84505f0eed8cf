package io.github.bark4j.examples;

import io.github.bark4j.Attention;
import io.github.bark4j.BarkException;
import io.github.bark4j.DownloadListener;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Precision;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.Synthesizer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Command line text-to-speech: {@code speak [options] [text...]} writes a 24 kHz WAV. Text comes from
 * the arguments, from {@code --text-file}, or, when there are none, from standard input, and may be of
 * any length (spoken in segments). Progress goes to standard error.
 */
public final class Speak {
    private static final String USAGE = String.join("\n",
            "Usage: speak [options] [text...]   (text from stdin when no text arguments are given)",
            "  Text of any length is spoken in segments (sentences packed up to --segment-tokens),",
            "  one voice throughout, joined by --pause seconds of silence.",
            "  --text-file FILE      read the text from a UTF-8 file ('-' for standard input)",
            "  --model-dir DIR       local Bark model folder (Hugging Face layout)",
            "  --model ID            model to download and cache, e.g. suno/bark-small",
            "  --cache-dir DIR       download cache (default ~/.cache/bark4j)",
            "  --offline             never use the network (model files from the cache only)",
            "  --out FILE            output WAV (default speech.wav)",
            "  --voice NAME|FILE     preset name (v2/en_speaker_6) or .npz file",
            "  --save-voice FILE     also save this generation as a voice preset (.npz)",
            "  --seed N              reproducible sampling",
            "  --greedy              argmax decoding (deterministic)",
            "  --temperature T       semantic and coarse temperature (default 0.7)",
            "  --precision P         fp32 (default), bf16 (native bridge on a CPU), fp16 or fp64",
            "  --attention A         sdpa (default, native bridge) or eager",
            "  --max-seconds S       cap on generated speech length, per segment",
            "  --pause S             silence between segments (default 0.25)",
            "  --max-batch N         segments generated together (default 4)",
            "  --segment-tokens N    most text tokens per segment, 1..256 (default 48)",
            "  --single              one generation, text cut at 256 tokens (the original Bark)",
            "  --stream              write the WAV segment by segment as each is ready (sizes fixed at the end)",
            "  --srt FILE            also write SubRip captions, one per segment",
            "  --list-voices         print the model's voice presets and exit",
            "  --quiet               no progress output",
            "  --verbose             show all log messages (default: warnings and errors only)",
            "  -h, --help            this help");

    private Speak() {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    /** Runs the command; returns the process exit code (0 ok, 2 usage, 1 failure). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (System.getProperty("ai.djl.offline") == null) {
            // libtorch comes from the pytorch-native-cpu jar on the classpath: DJL has nothing to
            // download. Model downloads are bark4j's and follow its own switches (--offline, BARK4J_OFFLINE).
            System.setProperty("ai.djl.offline", "true");
        }
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("speak: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }
        configureLogging(o.verbose);
        if (o.help) {
            out.println(USAGE);
            return 0;
        }
        try {
            String text = o.textFile != null ? readText(o.textFile)
                    : o.text.isEmpty() ? readStdin() : String.join(" ", o.text);
            Synthesizer.Builder builder = Synthesizer.builder().precision(o.precision).attention(o.attention);
            if (o.modelDir != null) {
                builder.modelDir(o.modelDir);
            } else {
                builder.model(o.model);
                if (o.cacheDir != null) {
                    builder.cacheDir(o.cacheDir);
                }
                if (o.offline) {
                    builder.offline(true);
                }
                if (!o.quiet) {
                    builder.downloadListener(new ProgressBar(err));
                }
            }
            try (Synthesizer synth = builder.build()) {
                if (o.listVoices) {
                    synth.availableVoices().forEach(out::println);
                    return 0;
                }
                GenerationOptions.Builder g = GenerationOptions.builder();
                if (o.greedy) {
                    g.greedy();
                }
                if (o.seed != null) {
                    g.seed(o.seed);
                }
                if (o.temperature != null) {
                    g.temperature(o.temperature);
                }
                if (o.maxSeconds != null) {
                    g.maxSemanticSeconds(o.maxSeconds);
                }
                if (o.pause != null) {
                    g.pauseSeconds(o.pause);
                }
                if (o.maxBatch != null) {
                    g.maxBatch(o.maxBatch);
                }
                if (o.segmentTokens != null) {
                    g.maxSegmentTokens(o.segmentTokens);
                }
                if (o.single) {
                    g.longForm(false);
                }
                if (o.voice != null) {
                    if (o.voice.endsWith(".npz")) {
                        g.voice(Path.of(o.voice));
                    } else {
                        g.voice(o.voice);
                    }
                }
                if (!o.quiet) {
                    g.progress(new StageProgress(err));
                }
                long start = System.nanoTime();
                GenerationOptions options = g.build();
                if (o.stream) {
                    return stream(synth, text, options, o, start, err);
                }
                Speech speech = synth.generate(text, options);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (!o.quiet) {
                    err.println();
                }
                speech.warnings().forEach(w -> err.println("warning: " + w));
                speech.writeWav(o.out);
                if (o.saveVoice != null) {
                    speech.toVoicePreset().save(o.saveVoice);
                }
                if (o.srt != null) {
                    writeText(o.srt, SubRip.captions(speech.segments(), speech.sampleRate()));
                }
                err.printf(Locale.ROOT, "wrote %s: %.2f s of audio at %d Hz (%d segments, %d semantic tokens) in %.1f s%n",
                        o.out, speech.durationSeconds(), speech.sampleRate(), speech.segments().size(),
                        speech.semanticTokens().length, seconds);
                return 0;
            }
        } catch (BarkException | IllegalStateException e) {
            err.println("speak: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("speak: " + e.getMessage());
            return 1;
        }
    }

    /**
     * Writes each segment to the WAV as soon as it is ready, so a player can start early; the
     * header's sizes are fixed at the end (also after a failure, for what was written). With
     * {@code --save-voice} the first segment's voice is saved: the voice of the whole text.
     */
    private static int stream(Synthesizer synth, String text, GenerationOptions options, Options o, long start,
            PrintStream err) throws IOException {
        int rate = synth.sampleRate();
        int pause = (int) Math.round(options.pauseSeconds() * rate);
        List<Speech.Segment> segments = new ArrayList<>();
        int semanticTokens = 0;
        double firstAudio = -1;
        try (Stream<Speech> speech = synth.stream(text, options);
                StreamingWav wav = new StreamingWav(o.out, rate)) {
            for (Speech part : (Iterable<Speech>) speech::iterator) {
                if (!segments.isEmpty()) {
                    wav.silence(pause);
                }
                int at = (int) wav.samplesWritten();
                wav.append(part.samples());
                Speech.Segment s = part.segments().get(0);
                segments.add(new Speech.Segment(s.text(), at + s.startSample(), at + s.endSample()));
                semanticTokens += part.semanticTokens().length;
                if (firstAudio < 0) {
                    firstAudio = (System.nanoTime() - start) / 1e9;
                    if (o.saveVoice != null && part.semanticTokens().length > 0) {
                        part.toVoicePreset().save(o.saveVoice);
                    }
                }
                for (String w : part.warnings()) {
                    err.println();
                    err.println("warning: segment " + segments.size() + ": " + w);
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!o.quiet) {
            err.println();
        }
        if (o.srt != null) {
            writeText(o.srt, SubRip.captions(segments, rate));
        }
        double audio = segments.isEmpty() ? 0 : segments.get(segments.size() - 1).endSample() / (double) rate;
        err.printf(Locale.ROOT, "wrote %s: %.2f s of audio at %d Hz (%d segments, %d semantic tokens) in %.1f s,"
                + " first audio after %.1f s%n", o.out, audio, rate, segments.size(), semanticTokens, seconds, firstAudio);
        return 0;
    }

    private static String readText(Path file) throws IOException {
        if (file.toString().equals("-")) {
            return readStdin();
        }
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot read text from " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeText(Path file, String text) throws IOException {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Quiet by default: warnings and errors only, without the known-harmless GPU probe (DJL warns that
     * it found no CUDA driver on every CPU-only machine). {@code --verbose} shows everything. Settings
     * given on the command line ({@code -Dorg.slf4j.simpleLogger...}) win; slf4j-simple reads them
     * when the first logger is made, which is after this in a fresh JVM.
     */
    static void configureLogging(boolean verbose) {
        String prefix = "org.slf4j.simpleLogger.";
        setIfUnset(prefix + "logFile", "System.err");
        setIfUnset(prefix + "defaultLogLevel", verbose ? "info" : "warn");
        if (verbose) {
            setIfUnset(prefix + "log.io.github.bark4j", "debug");
        } else {
            setIfUnset(prefix + "log.ai.djl.util.cuda.CudaUtils", "error");
        }
    }

    private static void setIfUnset(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }

    /**
     * Per-stage progress on one line each, semantic tokens every 25; for text in several segments,
     * each line starts with the segments done so far.
     */
    static final class StageProgress implements io.github.bark4j.ProgressListener {
        private final PrintStream err;
        private Stage last;
        private int segmentsDone;
        private int segments;

        StageProgress(PrintStream err) {
            this.err = err;
        }

        @Override
        public void onSegment(int done, int total) {
            segmentsDone = done;
            segments = total;
        }

        @Override
        public void onProgress(Stage stage, int done, int total) {
            if (stage != last && last != null) {
                err.println();
            }
            boolean changed = stage != last;
            last = stage;
            if (changed || done % 25 == 0 || done == total || stage != Stage.SEMANTIC) {
                String prefix = segments > 1 ? String.format(Locale.ROOT, "[%d/%d segments] ", segmentsDone, segments)
                        : "";
                err.printf(Locale.ROOT, "\r%s%-8s %5d / %-5d", prefix, stage.name().toLowerCase(Locale.ROOT), done, total);
                err.flush();
            }
        }
    }

    private static String readStdin() throws IOException {
        return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    }

    /** Parsed command-line options. */
    static final class Options {
        Path modelDir;
        String model;
        Path cacheDir;
        boolean offline;
        Path out = Path.of("speech.wav");
        String voice;
        Path saveVoice;
        Long seed;
        boolean greedy;
        Double temperature;
        Precision precision = Precision.FP32;
        Attention attention = Attention.SDPA;
        Double maxSeconds;
        Path textFile;
        Double pause;
        Integer maxBatch;
        Integer segmentTokens;
        boolean single;
        boolean stream;
        Path srt;
        boolean listVoices;
        boolean quiet;
        boolean verbose;
        boolean help;
        final List<String> text = new ArrayList<>();

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "-h", "--help" -> o.help = true;
                    case "--model-dir" -> o.modelDir = Path.of(value(args, ++i, a));
                    case "--model" -> o.model = value(args, ++i, a);
                    case "--cache-dir" -> o.cacheDir = Path.of(value(args, ++i, a));
                    case "--offline" -> o.offline = true;
                    case "--out" -> o.out = Path.of(value(args, ++i, a));
                    case "--voice" -> o.voice = value(args, ++i, a);
                    case "--save-voice" -> o.saveVoice = Path.of(value(args, ++i, a));
                    case "--seed" -> o.seed = parseLong(value(args, ++i, a), a);
                    case "--greedy" -> o.greedy = true;
                    case "--temperature" -> o.temperature = parseDouble(value(args, ++i, a), a);
                    case "--precision" -> o.precision = parsePrecision(value(args, ++i, a));
                    case "--attention" -> o.attention = parseAttention(value(args, ++i, a));
                    case "--max-seconds" -> o.maxSeconds = parseDouble(value(args, ++i, a), a);
                    case "--text-file" -> o.textFile = Path.of(value(args, ++i, a));
                    case "--pause" -> o.pause = parseDouble(value(args, ++i, a), a);
                    case "--max-batch" -> o.maxBatch = parseInt(value(args, ++i, a), a);
                    case "--segment-tokens" -> o.segmentTokens = parseInt(value(args, ++i, a), a);
                    case "--single" -> o.single = true;
                    case "--stream" -> o.stream = true;
                    case "--srt" -> o.srt = Path.of(value(args, ++i, a));
                    case "--list-voices" -> o.listVoices = true;
                    case "--quiet" -> o.quiet = true;
                    case "--verbose" -> o.verbose = true;
                    case "--" -> {
                        for (i++; i < args.length; i++) {
                            o.text.add(args[i]);
                        }
                    }
                    default -> {
                        if (a.startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + a);
                        }
                        o.text.add(a);
                    }
                }
            }
            if (!o.help) {
                if (o.modelDir != null && o.model != null) {
                    throw new IllegalArgumentException("give either --model-dir or --model, not both");
                }
                if (o.modelDir == null && o.model == null) {
                    throw new IllegalArgumentException("give --model-dir DIR or --model suno/bark-small");
                }
                if (o.textFile != null && !o.text.isEmpty()) {
                    throw new IllegalArgumentException("give the text either as arguments or with --text-file, not both");
                }
                if (o.modelDir != null && !Files.isDirectory(o.modelDir)) {
                    throw new IllegalArgumentException("--model-dir " + o.modelDir + " is not a folder");
                }
            }
            return o;
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            return args[i];
        }

        private static long parseLong(String s, String option) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " needs an integer, got '" + s + "'");
            }
        }

        private static int parseInt(String s, String option) {
            try {
                return Integer.parseInt(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " needs an integer, got '" + s + "'");
            }
        }

        private static double parseDouble(String s, String option) {
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " needs a number, got '" + s + "'");
            }
        }

        private static Precision parsePrecision(String s) {
            try {
                return Precision.valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--precision must be fp32, bf16, fp16 or fp64, got '" + s + "'");
            }
        }

        private static Attention parseAttention(String s) {
            try {
                return Attention.valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--attention must be sdpa or eager, got '" + s + "'");
            }
        }
    }

    /** A one-line download progress bar on standard error. */
    static final class ProgressBar implements DownloadListener {
        private final PrintStream err;
        private long lastPrint;

        ProgressBar(PrintStream err) {
            this.err = err;
        }

        @Override
        public void onStart(String file, long totalBytes) {
            err.printf(Locale.ROOT, "downloading %s (%s)%n", file, totalBytes < 0 ? "size unknown" : mib(totalBytes));
        }

        @Override
        public void onProgress(String file, long done, long total) {
            long now = System.nanoTime();
            if (now - lastPrint < 200_000_000L && done != total) {
                return;
            }
            lastPrint = now;
            if (total > 0) {
                int width = 30;
                int filled = (int) (width * done / total);
                err.printf(Locale.ROOT, "\r[%s%s] %5.1f%% %s", "#".repeat(filled), " ".repeat(width - filled),
                        100.0 * done / total, mib(done));
            } else {
                err.printf(Locale.ROOT, "\r%s", mib(done));
            }
            err.flush();
        }

        @Override
        public void onComplete(String file, String sha256) {
            err.printf(Locale.ROOT, "%n%s verified (sha256 %s)%n", file, sha256);
        }

        @Override
        public void onNotice(String message) {
            err.println("note: " + message);
        }

        private static String mib(long bytes) {
            return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
    }
}

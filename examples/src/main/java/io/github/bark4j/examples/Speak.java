package io.github.bark4j.examples;

import io.github.bark4j.BarkException;
import io.github.bark4j.DownloadListener;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Speech;
import io.github.bark4j.Stage;
import io.github.bark4j.Synthesizer;
import io.github.bark4j.VoicePreset;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * Command line text-to-speech: {@code speak [options] [text...]} writes a 24 kHz WAV. Text comes from
 * the arguments, from {@code --text-file}, or, when there are none, from standard input, and may be of
 * any length (spoken in segments). Progress goes to standard error.
 */
@Command(name = "speak", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 110,
        description = {"Speaks text into a 24 kHz WAV with Bark.",
            "Text of any length is spoken in segments (sentences packed up to --segment-tokens), one voice "
                + "throughout, joined by --pause seconds of silence. Text comes from the arguments, from "
                + "--text-file, or from standard input."})
public final class Speak implements Callable<Integer> {

    @Mixin
    SynthesizerOptions model;

    @Parameters(paramLabel = "TEXT", description = "the text to speak (standard input when none is given)")
    List<String> text = new ArrayList<>();

    @Option(names = "--text-file", paramLabel = "FILE", description = "read the text from a UTF-8 file ('-' for standard input)")
    Path textFile;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "speech.wav", description = "output WAV (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--voice", paramLabel = "NAME|FILE", description = "preset name (v2/en_speaker_6) or .npz file")
    String voice;

    @Option(names = "--clone-voice", paramLabel = "WAV",
            description = "clone the voice of a recording (5-30 s of speech, WAV) and speak with it; the cloning models"
                    + " come from --cloning-hubert/--cloning-quantizer or --voice-cloning, else the manifest's defaults")
    Path cloneVoice;

    @Option(names = "--save-voice", paramLabel = "FILE",
            description = "also save the voice as a preset (.npz): the cloned one, or this generation's; with"
                    + " --clone-voice and no text, only clone and save")
    Path saveVoice;

    @Option(names = "--seed", paramLabel = "N", description = "reproducible sampling")
    Long seed;

    @Option(names = "--greedy", description = "argmax decoding (deterministic)")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", description = "semantic and coarse temperature (default 0.7)")
    Double temperature;

    @Option(names = "--max-seconds", paramLabel = "S", description = "cap on generated speech length, per segment")
    Double maxSeconds;

    @Option(names = "--pause", paramLabel = "S", description = "silence between segments (default 0.25)")
    Double pause;

    @Option(names = "--max-batch", paramLabel = "N", description = "segments generated together (default 4)")
    Integer maxBatch;

    @Option(names = "--segment-tokens", paramLabel = "N", description = "most text tokens per segment, 1..256 (default 48)")
    Integer segmentTokens;

    @Option(names = "--single", description = "one generation, text cut at 256 tokens (the original Bark)")
    boolean single;

    @Option(names = "--stream", description = "write the WAV segment by segment as each is ready (sizes fixed at the end)")
    boolean stream;

    @Option(names = "--srt", paramLabel = "FILE", description = "also write SubRip captions, one per segment")
    Path srt;

    @Option(names = "--list-voices", description = "print the model's voice presets and exit")
    boolean listVoices;

    @Option(names = "--quiet", description = "no progress output")
    boolean quiet;

    @Option(names = "--verbose", description = "show all log messages (default: warnings and errors only)")
    boolean verbose;

    @Spec
    CommandLine.Model.CommandSpec spec;

    private final PrintStream stdout;
    private final PrintStream stderr;

    private Speak(PrintStream stdout, PrintStream stderr) {
        this.stdout = stdout;
        this.stderr = stderr;
    }

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
        CommandLine cli = new CommandLine(new Speak(out, err)).setCaseInsensitiveEnumValuesAllowed(true)
                .setOut(new PrintWriter(out, true, StandardCharsets.UTF_8))
                .setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        cli.setParameterExceptionHandler((e, a) -> {
            PrintWriter w = e.getCommandLine().getErr();
            w.println("speak: " + e.getMessage());
            w.println("Try 'speak --help' for the options.");
            return CommandLine.ExitCode.USAGE;
        });
        return cli.execute(args);
    }

    @Override
    public Integer call() {
        configureLogging(verbose);
        String problem = model.problem();
        if (problem == null && textFile != null && !text.isEmpty()) {
            problem = "give the text either as arguments or with --text-file, not both";
        }
        if (problem == null && cloneVoice != null && voice != null) {
            problem = "give either --voice or --clone-voice, not both";
        }
        if (problem == null && cloneVoice == null && model.cloning()) {
            problem = "the cloning models are for --clone-voice WAV";
        }
        if (problem != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), problem);
        }
        PrintStream err = stderr;
        boolean cloneOnly = cloneVoice != null && saveVoice != null && textFile == null && text.isEmpty();
        try {
            String words = cloneOnly ? null : textFile != null ? readText(textFile)
                    : text.isEmpty() ? readStdin() : String.join(" ", text);
            Synthesizer.Builder builder = model.builder(quiet ? null : new ProgressBar(err));
            if (cloneVoice != null) {
                if (model.cloning()) {
                    model.applyCloning(builder);
                } else {
                    builder.voiceCloning();
                }
            }
            try (Synthesizer synth = builder.build()) {
                if (listVoices) {
                    synth.availableVoices().forEach(stdout::println);
                    return 0;
                }
                VoicePreset cloned = null;
                if (cloneVoice != null) {
                    long t = System.nanoTime();
                    cloned = synth.cloneVoice(cloneVoice);
                    err.printf(Locale.ROOT, "cloned the voice of %s in %.1f s%n", cloneVoice,
                            (System.nanoTime() - t) / 1e9);
                    if (saveVoice != null) {
                        cloned.save(saveVoice);
                        err.println("saved the voice to " + saveVoice);
                    }
                    if (cloneOnly) {
                        return 0;
                    }
                }
                GenerationOptions.Builder g = GenerationOptions.builder();
                if (greedy) {
                    g.greedy();
                }
                if (seed != null) {
                    g.seed(seed);
                }
                if (temperature != null) {
                    g.temperature(temperature);
                }
                if (maxSeconds != null) {
                    g.maxSemanticSeconds(maxSeconds);
                }
                if (pause != null) {
                    g.pauseSeconds(pause);
                }
                if (maxBatch != null) {
                    g.maxBatch(maxBatch);
                }
                if (segmentTokens != null) {
                    g.maxSegmentTokens(segmentTokens);
                }
                if (single) {
                    g.longForm(false);
                }
                if (cloned != null) {
                    g.voice(cloned);
                } else if (voice != null) {
                    if (voice.endsWith(".npz")) {
                        g.voice(Path.of(voice));
                    } else {
                        g.voice(voice);
                    }
                }
                if (!quiet) {
                    g.progress(new StageProgress(err));
                }
                long start = System.nanoTime();
                GenerationOptions options = g.build();
                if (stream) {
                    return stream(synth, words, options, start, err);
                }
                Speech speech = synth.generate(words, options);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (!quiet) {
                    err.println();
                }
                speech.warnings().forEach(w -> err.println("warning: " + w));
                speech.writeWav(out);
                if (saveVoice != null && cloned == null) {
                    speech.toVoicePreset().save(saveVoice);
                }
                if (srt != null) {
                    writeText(srt, SubRip.captions(speech.segments(), speech.sampleRate()));
                }
                err.printf(Locale.ROOT, "wrote %s: %.2f s of audio at %d Hz (%d segments, %d semantic tokens) in %.1f s%n",
                        out, speech.durationSeconds(), speech.sampleRate(), speech.segments().size(),
                        speech.semanticTokens().length, seconds);
                return 0;
            }
        } catch (BarkException | IllegalStateException | IllegalArgumentException e) {
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
    private int stream(Synthesizer synth, String text, GenerationOptions options, long start, PrintStream err)
            throws IOException {
        int rate = synth.sampleRate();
        int pause = (int) Math.round(options.pauseSeconds() * rate);
        List<Speech.Segment> segments = new ArrayList<>();
        int semanticTokens = 0;
        double firstAudio = -1;
        try (Stream<Speech> speech = synth.stream(text, options);
                StreamingWav wav = new StreamingWav(out, rate)) {
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
                    if (saveVoice != null && cloneVoice == null && part.semanticTokens().length > 0) {
                        part.toVoicePreset().save(saveVoice);
                    }
                }
                for (String w : part.warnings()) {
                    err.println();
                    err.println("warning: segment " + segments.size() + ": " + w);
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!quiet) {
            err.println();
        }
        if (srt != null) {
            writeText(srt, SubRip.captions(segments, rate));
        }
        double audio = segments.isEmpty() ? 0 : segments.get(segments.size() - 1).endSample() / (double) rate;
        err.printf(Locale.ROOT, "wrote %s: %.2f s of audio at %d Hz (%d segments, %d semantic tokens) in %.1f s,"
                + " first audio after %.1f s%n", out, audio, rate, segments.size(), semanticTokens, seconds, firstAudio);
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

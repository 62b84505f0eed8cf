package io.github.bark4j;

import ai.djl.Device;

import io.github.bark4j.internal.audio.Audio;
import io.github.bark4j.internal.audio.Resampler;
import io.github.bark4j.internal.audio.WavReader;
import io.github.bark4j.internal.checkpoint.PyTorchCheckpoint;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.RestrictedUnpickler;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.hub.ModelManifest;
import io.github.bark4j.internal.io.ZipDirectory;
import io.github.bark4j.internal.model.BarkConfig;
import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.internal.pipeline.Pipeline;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;
import io.github.bark4j.testing.TestWavs;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The fuzz targets of {@link FileFuzzTest} (seeded mutation loop) and {@link JazzerFuzzTest} (Jazzer):
 * each takes a mutation script, builds one input from the fixture's real file (read in place) and
 * feeds it to the reader under test, returning the input's size. Seeds are read once; inputs are
 * written to a scratch folder (tmpfs where there is one) deleted at exit.
 */
final class FuzzTargets {
    private static final int FULL_LOAD_EVERY = 100;
    private static final int MAX_CONFIG_LOADS = 25;

    private static final Path tmp = scratch();
    private static Synthesizer synth;

    private FuzzTargets() {}

    private static Path scratch() {
        try {
            Path dir = makeScratch();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            return dir;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Releases the synthesizer of {@link #requestText()}. */
    static synchronized void close() {
        if (synth != null) {
            synth.close();
            synth = null;
        }
    }

    private static Path makeScratch() throws IOException {
        // tmpfs where there is one: the weights inputs are rewritten a thousand times
        Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? Files.createTempDirectory(shm, "bark4j-fuzz")
                : Files.createTempDirectory("bark4j-fuzz");
    }

    private static void deleteTree(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // scratch files only
        }
    }

    private static Path tiny(String name) {
        return SharedFiles.tinyBark().resolve(name);
    }

    /** A model folder whose {@code name} is {@code bytes} and whose other files link to the fixture. */
    private static Path folderWith(String name, byte[] bytes, String weights) throws IOException {
        Path dir = tmp.resolve("model");
        if (Files.exists(dir)) {
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    Files.delete(p);
                }
            }
        } else {
            Files.createDirectories(dir);
        }
        for (String f : List.of("config.json", "tokenizer.json", weights)) {
            if (!f.equals(name)) {
                Files.createSymbolicLink(dir.resolve(f), tiny(f));
            }
        }
        Files.write(dir.resolve(name), bytes);
        return dir;
    }

    private static void fullLoad(Path dir) {
        Pipeline.load(dir, Precision.FP32, Attention.EAGER, false, Offload.NONE, "cpu").close();
    }

    /** Reads every tensor's bounds, and the values of the small ones. */
    private static void touch(TensorSource source) {
        for (String name : source.names()) {
            RawTensor t = source.tensor(name);
            ByteBuffer d = t.data();
            if (d.remaining() > 0) {
                d.get(d.limit() - 1);
            }
            if (d.remaining() <= 1 << 16) {
                if (t.dtype().isFloatingPoint()) {
                    t.toFloatArray();
                } else {
                    t.toLongArray();
                }
            }
        }
    }

    static FuzzHarness.Target safetensors() throws Exception {
        byte[] seed = Files.readAllBytes(tiny("model.safetensors"));
        long headerEnd = 8 + ByteBuffer.wrap(seed).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        long[] hot = {0, headerEnd};
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return script -> {
            byte[] input = Mutator.apply(seed, script, hot, false);
            if (n.getAndIncrement() % FULL_LOAD_EVERY == 0) {
                fullLoad(folderWith("model.safetensors", input, "model.safetensors"));
            } else {
                Path p = tmp.resolve("fuzz.safetensors");
                Files.write(p, input);
                try (SafetensorsFile f = SafetensorsFile.open(p)) {
                    touch(f);
                }
            }
            return input.length;
        };
    }

    static FuzzHarness.Target pytorchCheckpoint() throws Exception {
        Path real = tiny("pytorch_model.bin");
        byte[] seed = Files.readAllBytes(real);
        List<long[]> ranges = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(real, StandardOpenOption.READ)) {
            ZipDirectory zip = ZipDirectory.read(real, ch);
            for (ZipDirectory.Entry e : zip.entries().values()) {
                long data = zip.dataOffset(e);
                ranges.add(new long[] {e.localHeaderOffset(), data}); // local header
                if (e.name().endsWith("data.pkl") || e.name().endsWith("byteorder") || e.name().endsWith("version")) {
                    ranges.add(new long[] {data, data + e.compressedSize()});
                }
            }
        }
        ranges.add(new long[] {Math.max(0, seed.length - (64 << 10)), seed.length}); // central directory
        long[] hot = Mutator.ranges(ranges);
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return script -> {
            byte[] input = Mutator.apply(seed, script, hot, false);
            if (n.getAndIncrement() % FULL_LOAD_EVERY == 0) {
                fullLoad(folderWith("pytorch_model.bin", input, "pytorch_model.bin"));
            } else {
                Path p = tmp.resolve("fuzz.bin");
                Files.write(p, input);
                try (PyTorchCheckpoint c = PyTorchCheckpoint.open(p)) {
                    touch(c);
                }
            }
            return input.length;
        };
    }

    static FuzzHarness.Target pickle() throws Exception {
        byte[] seed;
        try (ZipFile zip = new ZipFile(tiny("pytorch_model.bin").toFile())) {
            ZipEntry e = zip.stream().filter(z -> z.getName().endsWith("/data.pkl")).findFirst().orElseThrow();
            try (InputStream in = zip.getInputStream(e)) {
                seed = in.readAllBytes();
            }
        }
        return script -> {
            byte[] input = Mutator.apply(seed, script, null, false);
            RestrictedUnpickler.load(input, "fuzz data.pkl");
            return input.length;
        };
    }

    static FuzzHarness.Target npz() throws Exception {
        byte[] seed = Files.readAllBytes(SharedFiles.voice("v2/en_speaker_6"));
        Path p = tmp.resolve("fuzz.npz");
        return script -> {
            byte[] input = Mutator.apply(seed, script, null, false);
            Files.write(p, input);
            VoicePreset.load(p);
            return input.length;
        };
    }

    static FuzzHarness.Target npy() throws Exception {
        List<String> names = new ArrayList<>();
        List<byte[]> members = new ArrayList<>();
        try (ZipFile zip = new ZipFile(SharedFiles.voice("v2/de_speaker_1").toFile())) {
            for (ZipEntry e : java.util.Collections.list(zip.entries())) {
                try (InputStream in = zip.getInputStream(e)) {
                    names.add(e.getName());
                    members.add(in.readAllBytes());
                }
            }
        }
        Path p = tmp.resolve("fuzz-npy.npz");
        return script -> {
            int which = script.length == 0 ? 0 : (script[0] & 0xff) % members.size();
            byte[] rest = java.util.Arrays.copyOfRange(script, Math.min(1, script.length), script.length);
            byte[] member = members.get(which);
            // the header (magic, version, length, dict) is the structure; the data are values
            long[] hot = {0, Math.min(member.length, 128)};
            byte[] mutated = Mutator.apply(member, rest, hot, false);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
                for (int i = 0; i < members.size(); i++) {
                    zip.putNextEntry(new ZipEntry(names.get(i)));
                    zip.write(i == which ? mutated : members.get(i));
                    zip.closeEntry();
                }
            }
            Files.write(p, bytes.toByteArray());
            VoicePreset.load(p);
            return bytes.size() + mutated.length;
        };
    }

    static FuzzHarness.Target config() throws Exception {
        byte[] seed = Files.readAllBytes(tiny("config.json"));
        java.util.concurrent.atomic.AtomicInteger loads = new java.util.concurrent.atomic.AtomicInteger();
        Path p = tmp.resolve("config.json");
        return script -> {
            byte[] input = Mutator.apply(seed, script, null, true);
            Files.write(p, input);
            BarkConfig.load(p);
            if (loads.get() < MAX_CONFIG_LOADS) {
                // a config that parses drives every shape of the load: check it against the real weights
                loads.incrementAndGet();
                fullLoad(folderWith("config.json", input, "model.safetensors"));
                return Files.size(tiny("model.safetensors"));
            }
            return input.length;
        };
    }

    static FuzzHarness.Target tokenizer() throws Exception {
        byte[] seed = Files.readAllBytes(tiny("tokenizer.json"));
        Path p = tmp.resolve("tokenizer.json");
        return script -> {
            byte[] input = Mutator.apply(seed, script, null, true);
            Files.write(p, input);
            try (TextTokenizer t = TextTokenizer.load(p)) {
                t.encode("Hello world, this is a speech test. Ünïcödé 123!");
            }
            return input.length;
        };
    }

    static FuzzHarness.Target modelsManifest() throws Exception {
        byte[] seed;
        try (InputStream in = ModelManifest.class.getClassLoader().getResourceAsStream(ModelManifest.RESOURCE)) {
            seed = in.readAllBytes();
        }
        ModelManifest.parse(new String(seed, StandardCharsets.UTF_8), "bundled"); // the seed itself is valid
        return script -> {
            byte[] input = Mutator.apply(seed, script, null, true);
            ModelManifest.parse(new String(input, StandardCharsets.UTF_8), "fuzz");
            return input.length;
        };
    }

    private static final String[] ODD = {"\u0000", "\u0001", "\u0007", "\b", "\t", "\n", "\r", "\u001b", "\u007f",
            "\u0085", "\u00a0", "\u2028", "\u2029", "\ufeff", "\ud800", "\udfff", "\udc00\ud800", "\ud83d\ude00",
            "\u0301\u0301\u0301", "\u202e", "\uffff", "\ufffd", "\u200b", " ", "", "ß", "日本語", "\ud83d"};

    static FuzzHarness.Target requestText() throws Exception {
        Synthesizer synth;
        synchronized (FuzzTargets.class) {
            if (FuzzTargets.synth == null) {
                FuzzTargets.synth = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build();
            }
            synth = FuzzTargets.synth;
        }
        String[] texts = Golden.cases().stream().map(Golden.Case::text).toArray(String[]::new);
        GenerationOptions quick = GenerationOptions.builder().greedy().fixedSemanticTokens(2).build();
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return script -> {
            StringBuilder text = new StringBuilder(texts[(script.length == 0 ? 0 : script[0] & 0xff) % texts.length]);
            for (int i = 1; i + 2 < script.length; i += 3) {
                String odd = ODD[(script[i] & 0xff) % ODD.length];
                int at = (script[i + 1] & 0xff) * text.length() / 256;
                int repeat = (script[i + 2] & 0xff) > 250 ? 2000 : 1 + (script[i + 2] & 3);
                text.insert(at, odd.repeat(repeat));
                if ((script[i + 2] & 0xff) < 40) {
                    text.setLength(at); // and cut after it, sometimes mid-pair
                }
            }
            String s = text.toString();
            if (n.getAndIncrement() % FULL_LOAD_EVERY == 0) {
                synth.generate(s, quick);
            } else {
                synth.tokenize(s, new ArrayList<>());
            }
            return 2L * s.length();
        };
    }

    /** Seconds of audio a WAV input may decode: keeps the resampled audio within the harness's heap bound. */
    private static final double WAV_MAX_SECONDS = 5;

    /**
     * WAV recordings for voice cloning: the tiny-clone fixture's three recordings and one small file of each
     * encoding and layout {@link TestWavs#examples()} writes, mutated mostly in their headers (everything
     * before the samples) and tails (chunks after them). Inputs are read from memory and from a file by
     * turns, and every 10th one read is also resampled to 24 and 16 kHz (any mutated rate builds a kernel).
     */
    static FuzzHarness.Target wav() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        try (var files = Files.list(SharedFiles.tinyClone().resolve("audio"))) {
            for (Path f : files.filter(f -> f.toString().endsWith(".wav")).sorted().toList()) {
                seeds.add(Files.readAllBytes(f));
            }
        }
        if (seeds.size() < 3) {
            throw new IllegalStateException("tiny-clone recordings not found in " + SharedFiles.tinyClone());
        }
        seeds.addAll(TestWavs.examples());
        List<long[]> hot = new ArrayList<>();
        for (byte[] seed : seeds) {
            int data = indexOf(seed, "data".getBytes(StandardCharsets.US_ASCII));
            hot.add(new long[] {0, data < 0 ? Math.min(seed.length, 256) : data + 8,
                    Math.max(0, seed.length - 64), seed.length});
        }
        Path p = tmp.resolve("fuzz.wav");
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return script -> {
            int which = script.length == 0 ? 0 : (script[0] & 0xff) % seeds.size();
            byte[] rest = java.util.Arrays.copyOfRange(script, Math.min(1, script.length), script.length);
            byte[] input = Mutator.apply(seeds.get(which), rest, hot.get(which), false);
            int i = n.getAndIncrement();
            Audio audio;
            if (i % 2 == 0) {
                audio = WavReader.read(input, "fuzz.wav", WAV_MAX_SECONDS);
            } else {
                Files.write(p, input);
                audio = WavReader.read(p, WAV_MAX_SECONDS);
            }
            if (i % 10 < 2) {
                double[] wav24 = Resampler.resample(audio.samples(), audio.sampleRate(), 24_000);
                Resampler.resample(wav24, 24_000, 16_000);
            }
            return input.length;
        };
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}

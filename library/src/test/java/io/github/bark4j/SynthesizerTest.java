package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.internal.checkpoint.SafetensorsFile;
import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.checkpoint.TensorSource;
import io.github.bark4j.internal.model.GptWeights;
import io.github.bark4j.internal.model.TextTokenizer;
import io.github.bark4j.internal.model.Voices;
import io.github.bark4j.internal.pipeline.Fine;
import io.github.bark4j.internal.pipeline.Sampler;
import io.github.bark4j.internal.pipeline.Semantic;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import javax.sound.sampled.AudioFormat;
import javax.sound.sampled.AudioInputStream;
import javax.sound.sampled.AudioSystem;

/**
 * The public API on the tiny-bark fixture: reproducibility, input validation, truncation, model
 * loading errors, the PyTorch checkpoint fallback, tied fine heads, WAV output, voices and lifecycle.
 */
class SynthesizerTest {
    private static final String[] MODEL_FILES = {"config.json", "tokenizer.json", "model.safetensors",
        "pytorch_model.bin"};

    private static Synthesizer synth;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void load() {
        synth = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build();
    }

    @AfterAll
    static void close() {
        synth.close();
    }

    private static final String TEXT = "Hello world, this is a test.";
    private static final double SAMPLING_SECONDS = 0.1;
    private static Speech greedyHello;
    private static Speech sampledSeed1;

    private static GenerationOptions sampling(long seed) {
        return GenerationOptions.builder().seed(seed).maxSemanticSeconds(SAMPLING_SECONDS).build();
    }

    private static GenerationOptions greedyShort() {
        return GenerationOptions.builder().greedy().maxSemanticSeconds(0.1).build();
    }

    /** "Hello world", greedy, short: shared by several tests (generation is the slow part). */
    private static synchronized Speech greedyHello() {
        if (greedyHello == null) {
            greedyHello = synth.generate("Hello world", greedyShort());
        }
        return greedyHello;
    }

    /** {@link #TEXT} sampled with seed 1. */
    private static synchronized Speech sampledSeed1() {
        if (sampledSeed1 == null) {
            sampledSeed1 = synth.generate(TEXT, sampling(1));
        }
        return sampledSeed1;
    }

    /** A new folder with links to the fixture's files, leaving out those {@code skip} names. */
    static Path linkedCopy(Path target, Predicate<String> skip) throws IOException {
        Path dir = Files.createDirectories(target);
        for (String f : MODEL_FILES) {
            if (!skip.test(f)) {
                Files.createSymbolicLink(dir.resolve(f), SharedFiles.tinyBark().resolve(f));
            }
        }
        return dir;
    }

    static void assertMentions(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    private static ModelLoadException assertLoadFails(Path dir, String... mentions) {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> Synthesizer.builder().modelDir(dir).build().close());
        assertMentions(e, mentions);
        return e;
    }

    // ---- reproducibility ----

    @Test
    void aVoiceCloningModelIsNotABarkModel() {
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> Synthesizer.builder().model("facebook/hubert-base-ls960").offline(true).build());
        assertTrue(e.getMessage().contains("voiceCloning"), e.getMessage());
    }

    @Test
    void sameSeedGivesIdenticalOutputDifferentSeedDoesNot() {
        Speech a = sampledSeed1();
        Speech b = synth.generate(TEXT, sampling(1));
        Speech c = synth.generate(TEXT, sampling(2));
        assertTrue(a.semanticTokens().length > 0);
        assertArrayEquals(a.semanticTokens(), b.semanticTokens());
        assertArrayEquals(a.coarseTokens(), b.coarseTokens());
        assertArrayEquals(a.fineTokens(), b.fineTokens());
        assertArrayEquals(a.samples(), b.samples());
        assertEquals(a.fineTokens()[0].length * 320, a.samples().length);
        assertNotEquals(Arrays.toString(a.semanticTokens()), Arrays.toString(c.semanticTokens()));
        // greedy decoding ignores the seed
        Speech g = synth.generate("Hello world", greedyShort().toBuilder().seed(5).build());
        assertArrayEquals(greedyHello().fineTokens(), g.fineTokens());
        assertArrayEquals(greedyHello().samples(), g.samples());
    }

    @Test
    void anotherThreadGivesTheSameAudioAndKeepsItsGradMode() throws Exception {
        Speech[] other = new Speech[1];
        boolean[] gradAfter = new boolean[1];
        Thread t = new Thread(() -> {
            // a fresh thread starts with PyTorch's grad mode on (DJL turns it off only where the engine started)
            ai.djl.pytorch.jni.JniUtils.setGradMode(true);
            other[0] = synth.generate(TEXT, sampling(1));
            gradAfter[0] = ai.djl.pytorch.jni.JniUtils.isGradMode();
        });
        t.start();
        t.join();
        Speech here = sampledSeed1();
        assertArrayEquals(here.fineTokens(), other[0].fineTokens());
        assertArrayEquals(here.samples(), other[0].samples(), "sample for sample, whatever the thread");
        assertTrue(gradAfter[0], "the caller's grad mode is restored");
    }

    @Test
    void sameSeedReproducesInAnotherJvm() throws Exception {
        Speech here = sampledSeed1();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        String threads = System.getProperty("ai.djl.pytorch.num_threads");
        if (threads != null) {
            cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
        }
        cmd.addAll(List.of(SynthesizerChild.class.getName(), SharedFiles.tinyBark().toString(), TEXT, "1",
                Double.toString(SAMPLING_SECONDS)));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Path log = tmp.resolve("child.log");
        pb.redirectOutput(log.toFile());
        Process child = pb.start();
        try {
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child did not finish");
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        String out = Files.readString(log);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("SEMANTIC " + Arrays.toString(here.semanticTokens()) + "\n"), out);
        assertTrue(out.contains("COARSE " + Arrays.deepToString(here.coarseTokens()) + "\n"), out);
    }

    // ---- text input ----

    @Test
    void blankOrNullTextIsRejected() {
        for (String text : new String[] {"", "   ", "\t\n \u00a0\u2003", null}) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> synth.generate(text, greedyShort()), "text '" + text + "'");
            assertTrue(e.getMessage().contains("text"), e.getMessage());
        }
    }

    @Test
    void messyWhitespaceIsNormalized() {
        String messy = "  Hello\t\n world\u00a0 ";
        assertArrayEquals(synth.tokenize("Hello world", new ArrayList<>()), synth.tokenize(messy, new ArrayList<>()));
        assertEquals("Hello world", TextTokenizer.normalizeWhitespace(messy));
        Speech clean = greedyHello();
        Speech dirty = synth.generate(messy, greedyShort());
        assertArrayEquals(clean.semanticTokens(), dirty.semanticTokens());
        assertArrayEquals(clean.fineTokens(), dirty.fineTokens());
    }

    @Test
    void textOver256TokensIsTruncatedWithAWarning() {
        String text = "Hello world. ".repeat(120); // 3 tokens each
        List<String> warnings = new ArrayList<>();
        long[] ids = synth.tokenize(text, warnings);
        assertEquals(Semantic.TEXT_SLOTS, ids.length);
        assertEquals(1, warnings.size());
        Speech s = synth.generate(text, greedyShort().toBuilder().longForm(false).build());
        assertTrue(s.textTruncated());
        assertTrue(s.warnings().stream().anyMatch(w -> w.contains("256")), s.warnings().toString());
        assertTrue(s.samples().length > 0, "audio is still produced");
        assertEquals(s.fineTokens()[0].length * 320, s.samples().length);

        Speech shortText = greedyHello();
        assertFalse(shortText.textTruncated());
        assertTrue(shortText.warnings().isEmpty(), shortText.warnings().toString());
    }

    @Test
    void nonEnglishTextGenerates() {
        String[] texts = {"Grüße aus München, schöne Äpfel.", "こんにちは、世界。", "Привет, мир!"};
        for (String text : texts) {
            long[] ids = synth.tokenize(text, new ArrayList<>());
            assertTrue(ids.length > 0, text);
        }
        String all = String.join(" ", texts);
        Speech s = synth.generate(all, GenerationOptions.builder().seed(4).maxSemanticSeconds(0.1).build());
        assertTrue(s.semanticTokens().length > 0);
        assertEquals(s.fineTokens()[0].length * 320, s.samples().length);
    }

    // ---- options ----

    @Test
    void invalidOptionValuesAreRejected() {
        List<Executable> bad = List.of(
                () -> GenerationOptions.builder().temperature(0),
                () -> GenerationOptions.builder().temperature(-0.5),
                () -> GenerationOptions.builder().temperature(Double.NaN),
                () -> GenerationOptions.builder().temperature(Double.POSITIVE_INFINITY),
                () -> GenerationOptions.builder().semanticTemperature(0),
                () -> GenerationOptions.builder().coarseTemperature(Double.NaN),
                () -> GenerationOptions.builder().fineTemperature(-1),
                () -> GenerationOptions.builder().topP(1.5),
                () -> GenerationOptions.builder().topP(-0.1),
                () -> GenerationOptions.builder().topP(Double.NaN),
                () -> GenerationOptions.builder().topK(-1),
                () -> GenerationOptions.builder().minEosP(1.01),
                () -> GenerationOptions.builder().maxSemanticSeconds(0),
                () -> GenerationOptions.builder().maxSemanticSeconds(-2),
                () -> GenerationOptions.builder().maxSemanticSeconds(Double.NaN),
                () -> GenerationOptions.builder().voice(" "),
                () -> Synthesizer.builder().build());
        for (int i = 0; i < bad.size(); i++) {
            InvalidInputException e = assertThrows(InvalidInputException.class, bad.get(i), "case " + i);
            assertFalse(e.getMessage().isBlank());
        }
        // the boundaries that are valid
        GenerationOptions ok = GenerationOptions.builder().topP(1).topP(0).topK(0).minEosP(0).temperature(1e-3)
                .maxSemanticSeconds(Double.POSITIVE_INFINITY).build();
        assertEquals(1e-3, ok.semanticTemperature());
        assertEquals(1e-3, ok.coarseTemperature());
    }

    // ---- loading ----

    @Test
    void missingOrBrokenModelFolders() throws IOException {
        assertLoadFails(tmp.resolve("nowhere"), "not found", "nowhere");
        assertLoadFails(linkedCopy(tmp.resolve("noconfig"), f -> f.equals("config.json")), "config.json not found");
        assertLoadFails(linkedCopy(tmp.resolve("notokenizer"), f -> f.equals("tokenizer.json")), "tokenizer.json");
        assertLoadFails(linkedCopy(tmp.resolve("noweights"), f -> f.endsWith(".safetensors") || f.endsWith(".bin")), "No weights");

        Path malformed = linkedCopy(tmp.resolve("malformed"), f -> f.equals("config.json"));
        Files.writeString(malformed.resolve("config.json"), "{\"semantic_config\": {\"hidden_size\": ");
        assertLoadFails(malformed, "Malformed config.json");
        Files.writeString(malformed.resolve("config.json"), "[1, 2]");
        assertLoadFails(malformed, "config.json");
        Files.writeString(malformed.resolve("config.json"), "{\"model_type\": \"bark\"}");
        assertLoadFails(malformed, "semantic_config");
        Files.writeString(malformed.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
        assertLoadFails(malformed, "gpt2");
    }

    @Test
    void configThatDoesNotMatchTheWeights() throws IOException {
        String config = Files.readString(SharedFiles.tinyBark().resolve("config.json"));
        int at = config.indexOf("\"hidden_size\": 32", config.indexOf("\"semantic_config\""));
        assertTrue(at > 0);
        Path dir = linkedCopy(tmp.resolve("wronghidden"), f -> f.equals("config.json"));
        Files.writeString(dir.resolve("config.json"),
                config.substring(0, at) + "\"hidden_size\": 64" + config.substring(at + "\"hidden_size\": 32".length()));
        assertLoadFails(dir, "semantic.", "[129600, 32]", "[129600, 64]");

        int layers = config.indexOf("\"num_layers\": 2", config.indexOf("\"coarse_acoustics_config\""));
        Path fewer = linkedCopy(tmp.resolve("fewerlayers"), f -> f.equals("config.json"));
        Files.writeString(fewer.resolve("config.json"),
                config.substring(0, layers) + "\"num_layers\": 1" + config.substring(layers + "\"num_layers\": 2".length()));
        assertLoadFails(fewer, "coarse_acoustics.layers.1", "does not use");
    }

    /** A tensor source: another one with some names hidden and some tensors added. */
    private record Edited(TensorSource base, Predicate<String> drop, Map<String, RawTensor> extra)
            implements TensorSource {
        @Override
        public Set<String> names() {
            Set<String> out = new java.util.LinkedHashSet<>();
            base.names().stream().filter(drop.negate()).forEach(out::add);
            out.addAll(extra.keySet());
            return out;
        }

        @Override
        public RawTensor tensor(String name) {
            return extra.containsKey(name) ? extra.get(name) : base.tensor(name);
        }

        @Override
        public void close() {
            base.close();
        }
    }

    private static Path editedCopy(String name, Predicate<String> drop, Map<String, RawTensor> extra) throws IOException {
        Path dir = linkedCopy(tmp.resolve(name), f -> !f.equals("config.json") && !f.equals("tokenizer.json"));
        try (TensorSource src = new Edited(SafetensorsFile.open(SharedFiles.tinyBark().resolve("model.safetensors")),
                drop, extra)) {
            SafetensorsWriter.write(src, dir.resolve("model.safetensors"));
        }
        return dir;
    }

    @Test
    void checkpointWithAnUnknownTensorIsRejected() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        RawTensor extra = new RawTensor("semantic.layers.7.mystery.weight", DType.F32, new long[] {4}, data);
        Path dir = editedCopy("extrakey", n -> false, Map.of(extra.name(), extra));
        assertLoadFails(dir, "semantic.layers.7.mystery.weight", "does not use");
    }

    /** Newer transformers' weight-norm spelling (parametrizations.weight.original0/1) loads the same codec. */
    @Test
    void parametrizationWeightNormSpellingDecodesIdentically() throws IOException {
        Map<String, RawTensor> renamed = new java.util.LinkedHashMap<>();
        try (SafetensorsFile st = SafetensorsFile.open(SharedFiles.tinyBark().resolve("model.safetensors"))) {
            for (String n : st.names()) {
                if (n.endsWith(".weight_g") || n.endsWith(".weight_v")) {
                    String base = n.substring(0, n.length() - ".weight_g".length());
                    String to = base + ".parametrizations.weight.original" + (n.endsWith("_g") ? "0" : "1");
                    RawTensor t = st.tensor(n);
                    renamed.put(to, new RawTensor(to, t.dtype(), t.shape(), t.data()));
                }
            }
        }
        assertTrue(renamed.size() > 20, "the fixture's codec uses weight norm");
        Path dir = editedCopy("parametrizations", n -> n.endsWith(".weight_g") || n.endsWith(".weight_v"), renamed);
        Golden.Case c = Golden.byName("short");
        double[] expected = Golden.npyDoubles(c.audioFile().getFileName().toString());
        try (Synthesizer s = Synthesizer.builder().modelDir(dir).precision(Precision.FP64).build();
                NDManager mgr = s.model().manager().newSubManager()) {
            float[] audio = s.decode(mgr, c.fine());
            assertEquals(expected.length, audio.length);
            for (int i = 0; i < audio.length; i++) {
                assertEquals(expected[i], audio[i], 1e-6, "sample " + i);
            }
        }
    }

    /** Tied fine heads omitted from the file: the fine stage still reproduces the golden codes (FP64). */
    @Test
    void fineHeadsMayBeOmittedWhenTied() throws IOException {
        Path dir = editedCopy("noheads", n -> n.startsWith("fine_acoustics.lm_heads."), Map.of());
        try (SafetensorsFile st = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertTrue(st.names().stream().noneMatch(n -> n.contains("lm_heads")));
        }
        try (Synthesizer s = Synthesizer.builder().modelDir(dir).precision(Precision.FP64).build()) {
            GptWeights w = s.model().fine.weights();
            for (int i = 0; i < w.heads().size(); i++) {
                assertTrue(w.heads().get(i) == w.inputEmbeddings().get(i + 1), "head " + i + " is tied");
            }
            // only the fine stage reads the heads: run it on the golden coarse codes
            Golden.Case c = Golden.byName("short");
            try (NDManager mgr = s.model().manager().newSubManager()) {
                int[][][] fine = Fine.generate(s.model().fine, mgr, new int[][][] {c.coarse()}, null,
                        GenerationOptions.builder().greedy().build(), new Sampler[] {new Sampler(0)});
                assertArrayEquals(c.fine(), fine[0]);
            }
        }
    }

    @Test
    void closeIsIdempotentAndGenerateAfterCloseFails() {
        Synthesizer s = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build();
        assertEquals(24_000, s.sampleRate());
        s.close();
        s.close();
        SynthesizerClosedException e = assertThrows(SynthesizerClosedException.class,
                () -> s.generate("Hello world", greedyShort()));
        assertMentions(e, "closed");
    }

    // ---- output ----

    @Test
    void writeWavWritesPcm16MonoAt24kHz() throws Exception {
        Speech s = greedyHello();
        int n = s.samples().length;
        assertTrue(n > 0);
        Path wav = tmp.resolve("out/hello.wav");
        s.writeWav(wav);
        byte[] bytes = Files.readAllBytes(wav);
        assertEquals(44 + 2L * n, bytes.length);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("RIFF", new String(bytes, 0, 4, StandardCharsets.US_ASCII));
        assertEquals(36 + 2 * n, b.getInt(4));
        assertEquals("WAVEfmt ", new String(bytes, 8, 8, StandardCharsets.US_ASCII));
        assertEquals(16, b.getInt(16));
        assertEquals(1, b.getShort(20), "PCM");
        assertEquals(1, b.getShort(22), "mono");
        assertEquals(24_000, b.getInt(24));
        assertEquals(48_000, b.getInt(28));
        assertEquals(2, b.getShort(32));
        assertEquals(16, b.getShort(34));
        assertEquals("data", new String(bytes, 36, 4, StandardCharsets.US_ASCII));
        assertEquals(2 * n, b.getInt(40));
        float[] samples = s.samples();
        for (int i = 0; i < n; i++) {
            float clipped = Math.max(-1f, Math.min(1f, samples[i]));
            assertEquals(Math.round(clipped * 32767f), b.getShort(44 + 2 * i), "sample " + i);
        }
        // and Java's own WAV reader agrees
        try (AudioInputStream in = AudioSystem.getAudioInputStream(wav.toFile())) {
            AudioFormat f = in.getFormat();
            assertEquals(AudioFormat.Encoding.PCM_SIGNED, f.getEncoding());
            assertEquals(24_000f, f.getSampleRate());
            assertEquals(16, f.getSampleSizeInBits());
            assertEquals(1, f.getChannels());
            assertFalse(f.isBigEndian());
            assertEquals(n, in.getFrameLength());
        }
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        s.writeWav(stream);
        assertArrayEquals(bytes, stream.toByteArray());
        assertEquals(n / 24_000.0, s.durationSeconds(), 1e-12);
    }

    @Test
    void speechBecomesAVoiceForTheNextCall() {
        Speech first = sampledSeed1();
        VoicePreset voice = first.toVoicePreset();
        assertArrayEquals(first.semanticTokens(), voice.semanticPrompt());
        assertArrayEquals(first.coarseTokens(), voice.coarsePrompt());
        assertArrayEquals(first.fineTokens(), voice.finePrompt());
        Speech plain = greedyHello();
        Speech voiced = synth.generate("Hello world", greedyShort().toBuilder().voice(voice).build());
        assertTrue(voiced.samples().length > 0);
        assertNotEquals(Arrays.toString(plain.semanticTokens()) + Arrays.deepToString(plain.fineTokens()),
                Arrays.toString(voiced.semanticTokens()) + Arrays.deepToString(voiced.fineTokens()),
                "the voice prompt changes the output");
        // and it survives a save and load
        Path file = tmp.resolve("voice-from-speech.npz");
        voice.save(file);
        VoicePreset loaded = VoicePreset.load(file);
        assertArrayEquals(voice.semanticPrompt(), loaded.semanticPrompt());
        assertArrayEquals(voice.coarsePrompt(), loaded.coarsePrompt());
        assertArrayEquals(voice.finePrompt(), loaded.finePrompt());
    }

    // ---- named voices ----
    static Map<String, String> writeNamedVoice(Path dir, String name) throws IOException {
        Map<String, RawTensor> arrays = Npy.readNpz(SharedFiles.voice(name));
        Map<String, String> paths = new LinkedHashMap<>();
        for (String part : new String[] {"semantic_prompt", "coarse_prompt", "fine_prompt"}) {
            RawTensor t = arrays.get(part);
            String rel = "speaker_embeddings/" + name + "_" + part + ".npy";
            Path file = dir.resolve(rel);
            Files.createDirectories(file.getParent());
            if (t.dtype() == DType.I64 || t.dtype() == DType.I32) {
                Files.write(file, Npy.write(t.shape(), t.dtype(), t.data()));
            } else { // e.g. uint16: written as int64
                long[] v = t.toLongArray();
                ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (long x : v) {
                    b.putLong(x);
                }
                b.flip();
                Files.write(file, Npy.write(t.shape(), DType.I64, b));
            }
            paths.put(part, rel);
        }
        return paths;
    }


    @Test
    void fixtureFolderHasNoNamedVoices() {
        assertEquals(List.of(), synth.availableVoices());
        InvalidVoiceException e = assertThrows(InvalidVoiceException.class, () -> synth.voice("v2/en_speaker_6"));
        assertMentions(e, "v2/en_speaker_6", "available: none");
        assertThrows(InvalidVoiceException.class,
                () -> synth.generate("Hello", greedyShort().toBuilder().voice("v2/en_speaker_6").build()));
    }

    @Test
    void voicesWithoutAnIndexAreFoundByFileName() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("voicesonly"));
        writeNamedVoice(dir, "v2/en_speaker_6");
        writeNamedVoice(dir, "announcer");
        Voices voices = new Voices(dir, dir::resolve);
        assertEquals(List.of("announcer", "v2/en_speaker_6"), voices.names());
        assertArrayEquals(VoicePreset.load(SharedFiles.voice("announcer")).finePrompt(),
                voices.load("announcer").finePrompt());
        Files.delete(dir.resolve("speaker_embeddings/announcer_fine_prompt.npy"));
        InvalidVoiceException e = assertThrows(InvalidVoiceException.class, () -> voices.load("announcer"));
        assertMentions(e, "announcer_fine_prompt.npy");
        Files.writeString(dir.resolve(Voices.INDEX), "{ not json");
        assertThrows(InvalidVoiceException.class, voices::names);
    }

    @Test
    void semanticProgressCountsToTheDurationCap() {
        // 0.5 s: the cap's own arithmetic (1/49.9 per token, stop once past) allows 25 tokens
        assertEquals(25, Semantic.tokensWithinCap(0.5, 768));
        assertEquals(150, Semantic.tokensWithinCap(3.0, 768));
        assertEquals(1, Semantic.tokensWithinCap(0.0, 768));
        assertEquals(768, Semantic.tokensWithinCap(Double.POSITIVE_INFINITY, 768));
        assertEquals(768, Semantic.tokensWithinCap(100.0, 768));
        List<int[]> semantic = new ArrayList<>();
        Speech speech = synth.generate("Progress, capped.", GenerationOptions.builder().greedy().maxSemanticSeconds(0.5)
                .progress((stage, done, total) -> {
                    if (stage == Stage.SEMANTIC) {
                        semantic.add(new int[] {done, total});
                    }
                }).build());
        assertFalse(semantic.isEmpty());
        for (int[] p : semantic) {
            assertEquals(25, p[1], "semantic total under a 0.5 s cap");
            assertTrue(p[0] <= p[1]);
        }
        assertEquals(speech.semanticTokens().length, semantic.get(semantic.size() - 1)[0]);
    }
}

package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Voice cloning through the public API on the tiny-clone fixture: every recording gives the golden
 * presets of the original code (FP64, both quantizer versions), the float[] entry point gives what the
 * file gives, a cloned voice speaks the golden generation case, and every bad input gets its typed
 * error.
 */
class VoiceCloningTest {
    private static final Path FIXTURE = SharedFiles.tinyClone();
    private static JsonObject golden;
    private static Synthesizer fp64;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        golden = JsonParser.parseString(Files.readString(FIXTURE.resolve("golden.json"))).getAsJsonObject();
        fp64 = cloning(Precision.FP64, 0).build();
    }

    @AfterAll
    static void close() {
        fp64.close();
    }

    private static Synthesizer.Builder cloning(Precision precision, int quantizerVersion) {
        return Synthesizer.builder().modelDir(FIXTURE.resolve("bark")).precision(precision)
                .voiceCloning(FIXTURE.resolve("hubert"), quantizer(quantizerVersion));
    }

    private static Path quantizer(int version) {
        return FIXTURE.resolve("quantizer/tiny_quantizer_v" + version + ".pth");
    }

    private static List<JsonObject> recordings() {
        List<JsonObject> out = new ArrayList<>();
        golden.getAsJsonArray("recordings").forEach(e -> out.add(e.getAsJsonObject()));
        return out;
    }

    private static void assertPreset(VoicePreset expected, VoicePreset actual, String what) {
        assertArrayEquals(expected.semanticPrompt(), actual.semanticPrompt(), what + " semantic_prompt");
        assertArrayEquals(expected.coarsePrompt(), actual.coarsePrompt(), what + " coarse_prompt");
        assertArrayEquals(expected.finePrompt(), actual.finePrompt(), what + " fine_prompt");
    }

    @Test
    void everyRecordingClonesToTheGoldenPresetInFp64() {
        assertTrue(fp64.canCloneVoices());
        for (JsonObject r : recordings()) {
            String name = r.get("name").getAsString();
            VoicePreset cloned = fp64.cloneVoice(FIXTURE.resolve(r.get("file").getAsString()));
            assertPreset(VoicePreset.load(FIXTURE.resolve(name + "_v0.npz")), cloned, name + " v0");
            assertEquals(r.getAsJsonArray("codes").size(), cloned.finePrompt().length);
        }
    }

    @Test
    void theVersionOneQuantizerGivesItsGoldenPresets() {
        try (Synthesizer v1 = cloning(Precision.FP64, 1).build()) {
            for (JsonObject r : recordings()) {
                String name = r.get("name").getAsString();
                assertPreset(VoicePreset.load(FIXTURE.resolve(name + "_v1.npz")),
                        v1.cloneVoice(FIXTURE.resolve(r.get("file").getAsString())), name + " v1");
            }
        }
    }

    /** The stock FP32 path of the original agrees on every code and token here (golden.json's float32). */
    @Test
    void fp32ClonesTheSameTokens() {
        try (Synthesizer fp32 = cloning(Precision.FP32, 0).build()) {
            for (JsonObject r : recordings()) {
                String name = r.get("name").getAsString();
                assertPreset(VoicePreset.load(FIXTURE.resolve(name + "_v0.npz")),
                        fp32.cloneVoice(FIXTURE.resolve(r.get("file").getAsString())), name + " fp32");
            }
        }
    }

    /** rec_b is 16 kHz mono 16-bit: its samples as floats are what the file path reads. */
    @Test
    void samplesInMemoryCloneAsTheFileDoes() throws IOException {
        Path wav = FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav");
        float[] samples = pcm16(Files.readAllBytes(wav));
        assertEquals(47_777, samples.length);
        assertPreset(fp64.cloneVoice(wav), fp64.cloneVoice(samples, 16_000), "float[] vs file");
        try (var in = Files.newInputStream(wav)) {
            assertPreset(fp64.cloneVoice(wav), fp64.cloneVoice(in), "stream vs file");
        }
    }

    /** The golden generation case: greedy FP64 with rec_a's cloned v0 voice, tokens and audio. */
    @Test
    void aClonedVoiceSpeaksTheGoldenGeneration() {
        JsonObject g = golden.getAsJsonObject("generation");
        VoicePreset voice = fp64.cloneVoice(FIXTURE.resolve("audio/rec_a_44k_stereo_s16.wav"));
        Speech speech = fp64.generate(g.get("text").getAsString(), GenerationOptions.builder().greedy()
                .voice(voice).maxSemanticSeconds(g.get("max_semantic_seconds").getAsDouble()).longForm(false).build());
        assertArrayEquals(ints(g.getAsJsonArray("semantic_tokens")), speech.semanticTokens());
        assertArrayEquals(ints2(g.getAsJsonArray("coarse_tokens")), speech.coarseTokens());
        assertArrayEquals(ints2(g.getAsJsonArray("fine_tokens")), speech.fineTokens());
        RawTensor audio = Npy.read(FIXTURE.resolve(g.get("audio_file").getAsString()));
        double[] expected = doubles(audio);
        float[] actual = speech.samples();
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < actual.length; i++) {
            assertEquals(expected[i], actual[i], 1e-6, "sample " + i);
        }
    }

    /** save() writes the .npz the original Bark loads: int64 arrays under the three names. */
    @Test
    void aClonedPresetSavesAsBarkNpz() {
        VoicePreset voice = fp64.cloneVoice(FIXTURE.resolve("audio/rec_c_48k_mono_f32.wav"));
        Path npz = tmp.resolve("cloned.npz");
        voice.save(npz);
        assertPreset(voice, VoicePreset.load(npz), "saved and loaded");
        var arrays = Npy.readNpz(npz);
        assertEquals(List.of("coarse_prompt", "fine_prompt", "semantic_prompt"),
                arrays.keySet().stream().sorted().toList());
        assertEquals("I64", arrays.get("semantic_prompt").dtype().name());
        assertArrayEquals(new long[] {2, voice.coarsePrompt()[0].length}, arrays.get("coarse_prompt").shape());
        assertArrayEquals(new long[] {8, voice.finePrompt()[0].length}, arrays.get("fine_prompt").shape());
    }

    @Test
    void concurrentClonesEachGetTheirOwnPreset() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<VoicePreset>> runs = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (JsonObject r : recordings()) {
                names.add(r.get("name").getAsString());
                Path file = FIXTURE.resolve(r.get("file").getAsString());
                runs.add(pool.submit(() -> fp64.cloneVoice(file)));
            }
            for (int i = 0; i < runs.size(); i++) {
                assertPreset(VoicePreset.load(FIXTURE.resolve(names.get(i) + "_v0.npz")), runs.get(i).get(),
                        names.get(i) + " concurrently");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badAudioGetsTypedErrorsThatSayWhatToDo() throws IOException {
        InvalidAudioException shortOne = assertThrows(InvalidAudioException.class,
                () -> fp64.cloneVoice(new float[8_000], 16_000));
        assertTrue(shortOne.getMessage().contains("at least 1 s"), shortOne.getMessage());
        float[] silence = new float[48_000];
        InvalidAudioException silent = assertThrows(InvalidAudioException.class,
                () -> fp64.cloneVoice(silence, 16_000));
        assertTrue(silent.getMessage().contains("silent"), silent.getMessage());
        assertTrue(assertThrows(InvalidAudioException.class, () -> fp64.cloneVoice(new float[0], 16_000))
                .getMessage().contains("No samples"));
        assertTrue(assertThrows(InvalidAudioException.class, () -> fp64.cloneVoice(new float[48_000], 4_000))
                .getMessage().contains("8000"));
        float[] nan = new float[48_000];
        nan[100] = Float.NaN;
        assertThrows(InvalidAudioException.class, () -> fp64.cloneVoice(nan, 16_000));

        Path mp3 = tmp.resolve("voice.mp3");
        Files.write(mp3, new byte[] {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6});
        InvalidAudioException notWav = assertThrows(InvalidAudioException.class, () -> fp64.cloneVoice(mp3));
        assertTrue(notWav.getMessage().contains("MP3") && notWav.getMessage().contains("WAV"), notWav.getMessage());
        assertThrows(InvalidAudioException.class, () -> fp64.cloneVoice(tmp.resolve("missing.wav")));
    }

    @Test
    void cloningMustBeConfiguredAndItsModelsFound() {
        try (Synthesizer plain = Synthesizer.builder().modelDir(SharedFiles.tinyBark()).build()) {
            assertFalse(plain.canCloneVoices());
            BarkException e = assertThrows(BarkException.class,
                    () -> plain.cloneVoice(FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav")));
            assertTrue(e.getMessage().contains("voiceCloning"), e.getMessage());
        }
        assertTrue(assertThrows(ModelLoadException.class, () -> Synthesizer.builder().modelDir(SharedFiles.tinyBark())
                .voiceCloning(tmp.resolve("no-hubert"), quantizer(0)).build()).getMessage().contains("HuBERT folder"));
        assertTrue(assertThrows(ModelLoadException.class, () -> Synthesizer.builder().modelDir(SharedFiles.tinyBark())
                .voiceCloning(FIXTURE.resolve("hubert"), tmp.resolve("q.pth")).build()).getMessage().contains("Quantizer"));
        assertTrue(assertThrows(ModelLoadException.class, () -> Synthesizer.builder().modelDir(SharedFiles.tinyBark())
                .voiceCloning("suno/bark-small").offline(true).build()).getMessage().contains("not a voice-cloning quantizer"));
        // tiny-bark has no EnCodec encoder: the first clone says so
        try (Synthesizer noEncoder = Synthesizer.builder().modelDir(SharedFiles.tinyBark())
                .voiceCloning(FIXTURE.resolve("hubert"), quantizer(0)).build()) {
            ModelLoadException e = assertThrows(ModelLoadException.class,
                    () -> noEncoder.cloneVoice(FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav")));
            assertTrue(e.getMessage().contains("EnCodec encoder"), e.getMessage());
        }
    }

    @Test
    void anInterruptedThreadDoesNotClone() {
        Thread.currentThread().interrupt();
        try {
            assertThrows(GenerationCancelledException.class,
                    () -> fp64.cloneVoice(FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav")));
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aClosedSynthesizerDoesNotClone() {
        Synthesizer s = cloning(Precision.FP32, 0).build();
        s.cloneVoice(FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav"));
        s.close();
        assertThrows(SynthesizerClosedException.class,
                () -> s.cloneVoice(FIXTURE.resolve("audio/rec_b_16k_mono_s16.wav")));
    }

    /** 16-bit PCM of a plain WAV (fmt then data), as torchaudio reads it: int16 / 32768. */
    static float[] pcm16(byte[] wav) {
        ByteBuffer b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN);
        int at = 12;
        while (at + 8 <= wav.length) {
            String id = new String(wav, at, 4, java.nio.charset.StandardCharsets.US_ASCII);
            int size = b.getInt(at + 4);
            if (id.equals("data")) {
                float[] out = new float[size / 2];
                for (int i = 0; i < out.length; i++) {
                    out[i] = b.getShort(at + 8 + 2 * i) / 32768f;
                }
                return out;
            }
            at += 8 + size + (size & 1);
        }
        throw new AssertionError("no data chunk");
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static int[][] ints2(JsonArray a) {
        int[][] out = new int[a.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = ints(a.get(i).getAsJsonArray());
        }
        return out;
    }

    private static double[] doubles(RawTensor t) {
        ByteBuffer data = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[Math.toIntExact(t.numElements())];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.getDouble(i * 8);
        }
        return out;
    }
}

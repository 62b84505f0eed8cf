package io.github.bark4j.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.VoicePreset;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The command line on the tiny-bark fixture: WAV output, voice saving, exit codes and messages. */
class SpeakTest {
    @TempDir
    Path tmp;

    private static Path fixture() {
        return Path.of(System.getProperty("bark4j.shared", "../../shared")).resolve("fixtures/tiny-bark");
    }

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Speak.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void writesAWavAndAVoiceThenReusesTheVoice() throws Exception {
        Path wav = tmp.resolve("out.wav");
        Path voice = tmp.resolve("me.npz");
        Result r = run("--model-dir", fixture().toString(), "--greedy", "--max-seconds", "0.5", "--out", wav.toString(),
                "--save-voice", voice.toString(), "Hello", "world.");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("semantic") && r.err().contains("decode"), "stage progress on stderr: " + r.err());
        assertTrue(r.err().contains("wrote " + wav), r.err());
        byte[] bytes = Files.readAllBytes(wav);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("RIFF", new String(bytes, 0, 4, StandardCharsets.US_ASCII));
        assertEquals("WAVE", new String(bytes, 8, 4, StandardCharsets.US_ASCII));
        assertEquals(24_000, b.getInt(24));
        int dataBytes = b.getInt(40);
        assertEquals(bytes.length - 44, dataBytes);
        assertTrue(dataBytes > 0 && dataBytes % 640 == 0, "whole codec frames of 320 samples: " + dataBytes);
        assertTrue(Files.size(voice) > 0);

        Path second = tmp.resolve("again.wav");
        Result again = run("--model-dir", fixture().toString(), "--seed", "5", "--max-seconds", "0.3", "--quiet",
                "--voice", voice.toString(), "--out", second.toString(), "Same voice.");
        assertEquals(0, again.code(), again.err());
        assertTrue(Files.size(second) > 44);

        // the speed options: bf16 weights in the native step, the reference attention
        Path bf16 = tmp.resolve("bf16.wav");
        Result fast = run("--model-dir", fixture().toString(), "--greedy", "--max-seconds", "0.3", "--quiet",
                "--precision", "bf16", "--attention", "eager", "--out", bf16.toString(), "Hello.");
        assertEquals(0, fast.code(), fast.err());
        assertTrue(Files.size(bf16) > 44);
    }

    /** --clone-voice on the tiny-clone fixture: the saved preset is the original code's, and it speaks. */
    @Test
    void clonesAVoiceSavesItAndSpeaksWithIt() {
        Path clone = fixture().getParent().resolve("tiny-clone");
        Path npz = tmp.resolve("me.npz");
        Result saved = run("--model-dir", clone.resolve("bark").toString(), "--precision", "fp64",
                "--cloning-hubert", clone.resolve("hubert").toString(), "--cloning-quantizer",
                clone.resolve("quantizer/tiny_quantizer_v0.pth").toString(),
                "--clone-voice", clone.resolve("audio/rec_a_44k_stereo_s16.wav").toString(), "--save-voice", npz.toString());
        assertEquals(0, saved.code(), saved.err());
        assertTrue(saved.err().contains("cloned the voice of"), saved.err());
        VoicePreset golden = VoicePreset.load(clone.resolve("rec_a_v0.npz"));
        VoicePreset mine = VoicePreset.load(npz);
        assertArrayEquals(golden.semanticPrompt(), mine.semanticPrompt());
        assertArrayEquals(golden.finePrompt(), mine.finePrompt());

        Path wav = tmp.resolve("cloned.wav");
        Result spoke = run("--model-dir", clone.resolve("bark").toString(), "--greedy", "--max-seconds", "0.5",
                "--quiet", "--cloning-hubert", clone.resolve("hubert").toString(), "--cloning-quantizer",
                clone.resolve("quantizer/tiny_quantizer_v0.pth").toString(), "--clone-voice",
                clone.resolve("audio/rec_b_16k_mono_s16.wav").toString(), "--out", wav.toString(), "Hello in my voice.");
        assertEquals(0, spoke.code(), spoke.err());
        assertTrue(Files.exists(wav));

        Result both = run("--model-dir", clone.resolve("bark").toString(), "--voice", "x.npz", "--clone-voice",
                "a.wav", "Hi");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("either --voice or --clone-voice"), both.err());
        Result modelsAlone = run("--model-dir", clone.resolve("bark").toString(), "--cloning-hubert",
                clone.resolve("hubert").toString(), "--cloning-quantizer",
                clone.resolve("quantizer/tiny_quantizer_v0.pth").toString(), "Hi");
        assertEquals(2, modelsAlone.code());
        Result notWav = run("--model-dir", clone.resolve("bark").toString(), "--cloning-hubert",
                clone.resolve("hubert").toString(), "--cloning-quantizer",
                clone.resolve("quantizer/tiny_quantizer_v0.pth").toString(), "--clone-voice",
                clone.resolve("golden.json").toString(), "--save-voice", npz.toString());
        assertEquals(1, notWav.code());
        assertTrue(notWav.err().contains("WAV"), notWav.err());
    }

    @Test
    void usageErrorsExitWithTwo() {
        Result none = run("Hello");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("--model-dir"), none.err());
        Result unknown = run("--model-dir", fixture().toString(), "--bogus", "x");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("Unknown option: '--bogus'"), unknown.err());
        assertTrue(unknown.err().contains("speak --help"), "a pointer to the help follows the error: " + unknown.err());
        Result badNumber = run("--model-dir", fixture().toString(), "--seed", "many", "x");
        assertEquals(2, badNumber.code());
        assertTrue(badNumber.err().contains("'many' is not a long"), badNumber.err());
        Result badPrecision = run("--model-dir", fixture().toString(), "--precision", "int8", "x");
        assertEquals(2, badPrecision.code());
        assertTrue(badPrecision.err().contains("expected one of [FP32, FP16, BF16, FP64]"), badPrecision.err());
        Result badAttention = run("--model-dir", fixture().toString(), "--attention", "flash", "x");
        assertEquals(2, badAttention.code());
        assertTrue(badAttention.err().contains("expected one of [EAGER, SDPA]"), badAttention.err());
        Result missingDir = run("--model-dir", "/nonexistent/bark", "x");
        assertEquals(2, missingDir.code());
        assertTrue(missingDir.err().contains("--model-dir /nonexistent/bark is not a folder"), missingDir.err());
        Result both = run("--model-dir", fixture().toString(), "--model", "suno/bark-small", "x");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
        Result help = run("--help");
        assertEquals(0, help.code());
        for (String option : List.of("--model-dir", "--precision", "--attention", "--offload", "--device", "--voice",
                "--save-voice", "--stream", "--srt", "--segment-tokens")) {
            assertTrue(help.out().contains(option), option + " in the generated help: " + help.out());
        }
    }

    @Test
    void libraryErrorsExitWithOneAndSayWhy() {
        Result blank = run("--model-dir", fixture().toString(), "   ");
        assertEquals(1, blank.code());
        assertTrue(blank.err().contains("blank"), blank.err());
        Result badVoice = run("--model-dir", fixture().toString(), "--voice", tmp.resolve("none.npz").toString(), "x");
        assertEquals(1, badVoice.code());
        assertTrue(badVoice.err().contains("not found"), badVoice.err());
        Result badTemp = run("--model-dir", fixture().toString(), "--temperature", "0", "x");
        assertEquals(1, badTemp.code());
        assertTrue(badTemp.err().contains("temperature"), badTemp.err());
    }

    private static byte[] pcm(byte[] wav) {
        return java.util.Arrays.copyOfRange(wav, 44, wav.length);
    }

    /**
     * A long text from a file, in segments: progress names them, the WAV is the same whether written
     * at the end or streamed segment by segment (its header finalised), and the SubRip captions
     * list the segments in order with times inside the audio.
     */
    @Test
    void longTextFromAFileStreamedWithCaptions() throws Exception {
        Path text = tmp.resolve("text.txt");
        Files.writeString(text, "Hello world, this is a test.\nThe model can generate speech.\n\n"
                + "People like music in the garden.", StandardCharsets.UTF_8);
        Path whole = tmp.resolve("whole.wav");
        Path streamed = tmp.resolve("streamed.wav");
        Path srt = tmp.resolve("captions.srt");
        String[] common = {"--model-dir", fixture().toString(), "--greedy", "--max-seconds", "0.1", "--segment-tokens",
            "13", "--text-file", text.toString()};
        Result r = run(concat(common, "--out", whole.toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("3 segments"), r.err());
        assertTrue(r.err().contains("[1/3 segments]"), "segment progress: " + r.err());
        Result s = run(concat(common, "--stream", "--out", streamed.toString(), "--srt", srt.toString()));
        assertEquals(0, s.code(), s.err());
        assertTrue(s.err().contains("first audio after"), s.err());
        byte[] a = Files.readAllBytes(whole);
        byte[] b = Files.readAllBytes(streamed);
        assertEquals(java.util.Arrays.toString(java.util.Arrays.copyOf(a, 44)),
                java.util.Arrays.toString(java.util.Arrays.copyOf(b, 44)), "finalised header equals the one-shot WAV's");
        assertTrue(java.util.Arrays.equals(pcm(a), pcm(b)), "same samples streamed");
        int samples = (a.length - 44) / 2;

        List<String> lines = Files.readAllLines(srt, StandardCharsets.UTF_8);
        assertEquals("1", lines.get(0));
        assertTrue(lines.get(1).matches("00:00:00,000 --> 00:00:\\d\\d,\\d{3}"), lines.get(1));
        assertEquals("Hello world, this is a test.", lines.get(2));
        assertEquals("", lines.get(3));
        assertEquals("2", lines.get(4));
        assertEquals("The model can generate speech.", lines.get(6));
        assertEquals("People like music in the garden.", lines.get(10));
        String end = lines.get(9).substring(lines.get(9).indexOf("--> ") + 4);
        assertEquals(SubRip.time(samples, 24_000), end, "the last cue ends with the audio");
    }

    @Test
    void textFromStandardInputAndTextFileConflicts() throws Exception {
        java.io.InputStream stdin = System.in;
        Path wav = tmp.resolve("stdin.wav");
        try {
            System.setIn(new java.io.ByteArrayInputStream("Hello world.".getBytes(StandardCharsets.UTF_8)));
            Result r = run("--model-dir", fixture().toString(), "--greedy", "--max-seconds", "0.1", "--quiet",
                    "--text-file", "-", "--out", wav.toString());
            assertEquals(0, r.code(), r.err());
            assertTrue(Files.size(wav) > 44);
        } finally {
            System.setIn(stdin);
        }
        Result both = run("--model-dir", fixture().toString(), "--text-file", "x.txt", "Hello");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("--text-file"), both.err());
        Result missing = run("--model-dir", fixture().toString(), "--text-file", tmp.resolve("none.txt").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("cannot read text from"), missing.err());
    }

    @Test
    void subRipTimesAndLineWrapping() {
        assertEquals("00:00:00,000", SubRip.time(0, 24_000));
        assertEquals("00:00:01,500", SubRip.time(36_000, 24_000));
        assertEquals("01:01:01,001", SubRip.time((3661L * 1000 + 1) * 24, 24_000));
        String text = "This sentence is long enough that a caption must break it into two lines somewhere.";
        String wrapped = SubRip.wrap(text);
        for (String line : wrapped.split("\n")) {
            assertTrue(line.length() <= SubRip.LINE, line);
        }
        assertEquals(text, wrapped.replace('\n', ' '));
        assertEquals("1\n00:00:00,000 --> 00:00:01,000\nHi.\n\n2\n00:00:01,250 --> 00:00:02,000\nThere.\n\n",
                SubRip.captions(List.of(new io.github.bark4j.Speech.Segment("Hi.", 0, 24_000),
                        new io.github.bark4j.Speech.Segment("There.", 30_000, 48_000)), 24_000));
    }

    @Test
    void streamingWavIsReadableWhileGrowingAndFinalisedAtClose() throws Exception {
        Path file = tmp.resolve("growing.wav");
        try (StreamingWav wav = new StreamingWav(file, 24_000)) {
            wav.append(new float[] {0.5f, -2f});
            byte[] partial = Files.readAllBytes(file);
            assertEquals(48, partial.length, "header and samples are on disk before the end");
            assertEquals(-1, ByteBuffer.wrap(partial).order(ByteOrder.LITTLE_ENDIAN).getInt(40), "size still open");
            wav.silence(3);
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(44 + 10, bytes.length);
        assertEquals(36 + 10, b.getInt(4));
        assertEquals(10, b.getInt(40));
        assertEquals(16384, b.getShort(44)); // 0.5 * 32767 = 16383.5, rounded half up
        assertEquals(-32767, b.getShort(46)); // clipped
        assertEquals(0, b.getShort(48));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

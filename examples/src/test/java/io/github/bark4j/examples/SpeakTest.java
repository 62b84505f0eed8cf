package io.github.bark4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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

    @Test
    void usageErrorsExitWithTwo() {
        Result none = run("Hello");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("--model-dir"), none.err());
        Result unknown = run("--model-dir", fixture().toString(), "--bogus", "x");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown option --bogus"), unknown.err());
        Result badNumber = run("--model-dir", fixture().toString(), "--seed", "many", "x");
        assertEquals(2, badNumber.code());
        assertTrue(badNumber.err().contains("--seed needs an integer"), badNumber.err());
        Result badPrecision = run("--model-dir", fixture().toString(), "--precision", "int8", "x");
        assertEquals(2, badPrecision.code());
        assertTrue(badPrecision.err().contains("--precision must be fp32, bf16, fp16 or fp64"), badPrecision.err());
        Result badAttention = run("--model-dir", fixture().toString(), "--attention", "flash", "x");
        assertEquals(2, badAttention.code());
        assertTrue(badAttention.err().contains("--attention must be sdpa or eager"), badAttention.err());
        Result missingDir = run("--model-dir", "/nonexistent/bark", "x");
        assertEquals(2, missingDir.code());
        assertEquals(0, run("--help").code());
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
}

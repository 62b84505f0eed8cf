package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;

/** The upload pre-check's WAV duration: the fixture's recordings, chunk walking, streamed and cut files. */
class WavDurationTest {

    @Test
    void theFixturesRecordingsHaveTheirLengths() throws Exception {
        var audio = ServerTestSupport.cloneFixture().resolve("audio");
        // frames from the fixture's README: 175000 at 44.1 kHz, 47777 at 16 kHz, 96123 at 48 kHz
        assertEquals(175_000 / 44_100.0, seconds(Files.readAllBytes(audio.resolve("rec_a_44k_stereo_s16.wav"))), 1e-9);
        assertEquals(47_777 / 16_000.0, seconds(Files.readAllBytes(audio.resolve("rec_b_16k_mono_s16.wav"))), 1e-9);
        assertEquals(96_123 / 48_000.0, seconds(Files.readAllBytes(audio.resolve("rec_c_48k_mono_f32.wav"))), 1e-9,
                "a fact chunk between fmt and data");
    }

    /** RIFF/WAVE, a 16-bit mono fmt at {@code rate}, an odd-sized chunk, then data of {@code frames} frames. */
    private static byte[] wav(int rate, int frames, int declaredData) {
        ByteBuffer b = ByteBuffer.allocate(12 + 24 + 8 + 3 + 1 + 8 + 2 * frames).order(ByteOrder.LITTLE_ENDIAN);
        b.put(ascii("RIFF")).putInt(b.capacity() - 8).put(ascii("WAVE"));
        b.put(ascii("fmt ")).putInt(16).putShort((short) 1).putShort((short) 1).putInt(rate).putInt(2 * rate)
                .putShort((short) 2).putShort((short) 16);
        b.put(ascii("odd ")).putInt(3).put(new byte[] {1, 2, 3}).put((byte) 0); // padded to even
        b.put(ascii("data")).putInt(declaredData);
        return b.array();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static double seconds(byte[] wav) {
        var s = WavDuration.seconds(wav);
        assertTrue(s.isPresent(), "measured");
        return s.getAsDouble();
    }

    @Test
    void paddedChunksAreSkippedAndAnOpenOrOverlongDataSizeCountsTheBytesPresent() {
        assertEquals(2.0, seconds(wav(8_000, 16_000, 32_000)), 1e-12);
        assertEquals(2.0, seconds(wav(8_000, 16_000, -1)), 1e-12, "streamed: 0xFFFFFFFF");
        assertEquals(2.0, seconds(wav(8_000, 16_000, 1 << 30)), 1e-12, "declared past the end");
        assertEquals(1.0, seconds(wav(8_000, 16_000, 16_000)), 1e-12, "declared shorter: the declared size");
        byte[] cut = wav(8_000, 16_000, 32_000);
        assertEquals(0.5, seconds(Arrays.copyOf(cut, cut.length - 24_000)), 1e-12, "a cut upload");
    }

    @Test
    void whatItCannotMeasureIsLeftToTheLibrary() {
        byte[] ok = wav(8_000, 100, 200);
        assertTrue(WavDuration.seconds(new byte[0]).isEmpty());
        assertTrue(WavDuration.seconds("ID3 not a wav at all".getBytes(StandardCharsets.US_ASCII)).isEmpty());
        byte[] noRate = ok.clone();
        ByteBuffer.wrap(noRate).order(ByteOrder.LITTLE_ENDIAN).putInt(24, 0);
        assertTrue(WavDuration.seconds(noRate).isEmpty(), "sample rate 0");
        byte[] noFmt = ok.clone();
        noFmt[12] = 'x';
        assertTrue(WavDuration.seconds(noFmt).isEmpty(), "data without fmt");
        byte[] hugeChunk = ok.clone();
        ByteBuffer.wrap(hugeChunk).order(ByteOrder.LITTLE_ENDIAN).putInt(40, -2); // the odd chunk's size
        assertTrue(WavDuration.seconds(hugeChunk).isEmpty(), "a chunk past the end");
        assertTrue(WavDuration.seconds(Arrays.copyOf(ok, 20)).isEmpty(), "cut inside fmt");
    }
}

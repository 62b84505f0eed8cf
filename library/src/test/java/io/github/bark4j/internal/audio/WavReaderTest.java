package io.github.bark4j.internal.audio;

import static io.github.bark4j.testing.TestWavs.EXTENSIBLE;
import static io.github.bark4j.testing.TestWavs.FLOAT;
import static io.github.bark4j.testing.TestWavs.PCM;
import static io.github.bark4j.testing.TestWavs.chunk;
import static io.github.bark4j.testing.TestWavs.concat;
import static io.github.bark4j.testing.TestWavs.doubles;
import static io.github.bark4j.testing.TestWavs.floats;
import static io.github.bark4j.testing.TestWavs.fmt;
import static io.github.bark4j.testing.TestWavs.fmtExtensible;
import static io.github.bark4j.testing.TestWavs.ints;
import static io.github.bark4j.testing.TestWavs.riff;
import static io.github.bark4j.testing.TestWavs.wav;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.bark4j.InvalidAudioException;
import io.github.bark4j.InvalidInputException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** WAV files of every supported encoding, layout and defect, all written by the test itself. */
class WavReaderTest {
    private static final double ALL = Double.POSITIVE_INFINITY;

    @TempDir
    Path tmp;

    private static Audio read(byte[] wav) {
        return WavReader.read(wav, "test.wav", ALL);
    }

    /** Reads {@code wav} from memory and from a file and checks both give the same audio. */
    private Audio readBoth(byte[] wav, double maxSeconds) throws IOException {
        Audio fromBytes = WavReader.read(wav, "test.wav", maxSeconds);
        Path p = tmp.resolve("in.wav");
        Files.write(p, wav);
        Audio fromFile = WavReader.read(p, maxSeconds);
        assertArrayEquals(fromBytes.samples(), fromFile.samples());
        assertEquals(facts(fromBytes), facts(fromFile));
        return fromBytes;
    }

    /** Everything but the samples. */
    private static List<Object> facts(Audio a) {
        return List.of(a.sampleRate(), a.channels(), a.encoding(), a.bitsPerSample(), a.formatTag(),
                a.originalFrames(), a.cut());
    }

    private static String message(byte[] wav) {
        InvalidAudioException e = assertThrows(InvalidAudioException.class, () -> read(wav));
        return e.getMessage();
    }

    private static void assertMessage(byte[] wav, String... parts) {
        String m = message(wav);
        for (String part : parts) {
            assertTrue(m.contains(part), "'" + part + "' not in: " + m);
        }
    }

    // ---- encodings ------------------------------------------------------------------------------

    @Test
    void unsigned8BitIsCenteredAt128() throws IOException {
        long[] v = new long[256];
        double[] expected = new double[256];
        for (int u = 0; u < 256; u++) {
            v[u] = u;
            expected[u] = (u - 128) / 128.0;
        }
        Audio a = readBoth(wav(PCM, 1, 8000, 8, ints(8, v)), ALL);
        assertArrayEquals(expected, a.samples());
        assertEquals(SampleEncoding.PCM_U, a.encoding());
        assertEquals(8, a.bitsPerSample());
        assertEquals(-1.0, a.samples()[0]);
        assertEquals(127 / 128.0, a.samples()[255]);
    }

    @Test
    void signed16BitIsOver32768() throws IOException {
        long[] v = randomInts(16, 1000, 1);
        Audio a = readBoth(wav(PCM, 1, 16000, 16, ints(16, v)), ALL);
        assertArrayEquals(scaled(v, 32768.0), a.samples());
        assertEquals(SampleEncoding.PCM_S, a.encoding());
        assertEquals(16, a.bitsPerSample());
        assertEquals(1, a.formatTag());
    }

    @Test
    void signed24BitIsOver2To23() throws IOException {
        long[] v = randomInts(24, 1000, 2);
        Audio a = readBoth(wav(PCM, 1, 48000, 24, ints(24, v)), ALL);
        assertArrayEquals(scaled(v, 1 << 23), a.samples());
        assertEquals(24, a.bitsPerSample());
    }

    @Test
    void signed32BitIsOver2To31() throws IOException {
        long[] v = randomInts(32, 1000, 3);
        Audio a = readBoth(wav(PCM, 1, 44100, 32, ints(32, v)), ALL);
        assertArrayEquals(scaled(v, 2147483648.0), a.samples());
        assertEquals(-1.0, a.samples()[0]); // Integer.MIN_VALUE
        assertEquals(SampleEncoding.PCM_S, a.encoding());
    }

    @Test
    void float32IsReadAsStored() throws IOException {
        Random r = new Random(4);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        v[0] = -0.0f;
        v[1] = Float.MIN_VALUE;
        v[2] = 3.5f; // floats outside [-1, 1] are kept, as torchaudio keeps them
        v[3] = -Float.MAX_VALUE;
        Audio a = readBoth(wav(FLOAT, 1, 22050, 32, floats(v)), ALL);
        double[] expected = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            expected[i] = v[i];
        }
        assertArrayEquals(expected, a.samples());
        assertEquals(SampleEncoding.PCM_F, a.encoding());
        assertEquals(3, a.formatTag());
    }

    @Test
    void float64IsReadBitForBit() throws IOException {
        Random r = new Random(5);
        double[] v = new double[1000];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian() * 0.3;
        }
        v[0] = -0.0;
        v[1] = Double.MIN_VALUE;
        v[2] = Math.nextUp(1.0);
        Audio a = readBoth(wav(FLOAT, 1, 96000, 64, doubles(v)), ALL);
        assertArrayEquals(v, a.samples());
        assertEquals(64, a.bitsPerSample());
    }

    @Test
    void extensibleSubformats() throws IOException {
        long[] s16 = randomInts(16, 300, 6);
        long[] s24 = randomInts(24, 300, 7);
        long[] s32 = randomInts(32, 300, 8);
        // 20 valid bits left-justified in 24: the low 4 bits are zero, and the container scale applies
        long[] s20 = s24.clone();
        for (int i = 0; i < s20.length; i++) {
            s20[i] &= ~0xfL;
        }
        // 24 valid bits in a 32-bit container
        long[] s24in32 = s32.clone();
        for (int i = 0; i < s24in32.length; i++) {
            s24in32[i] &= ~0xffL;
        }
        check(fmtExtensible(PCM, 1, 16000, 16, 16), ints(16, s16), scaled(s16, 32768.0), SampleEncoding.PCM_S, 16);
        check(fmtExtensible(PCM, 1, 16000, 16, 0), ints(16, s16), scaled(s16, 32768.0), SampleEncoding.PCM_S, 16);
        check(fmtExtensible(PCM, 1, 16000, 24, 24), ints(24, s24), scaled(s24, 1 << 23), SampleEncoding.PCM_S, 24);
        check(fmtExtensible(PCM, 1, 16000, 24, 20), ints(24, s20), scaled(s20, 1 << 23), SampleEncoding.PCM_S, 24);
        check(fmtExtensible(PCM, 1, 16000, 32, 32), ints(32, s32), scaled(s32, 2147483648.0), SampleEncoding.PCM_S,
                32);
        check(fmtExtensible(PCM, 1, 16000, 32, 24), ints(32, s24in32), scaled(s24in32, 2147483648.0),
                SampleEncoding.PCM_S, 32);
        long[] u8 = {0, 1, 127, 128, 129, 255};
        double[] u8Expected = {-1, -127 / 128.0, -1 / 128.0, 0, 1 / 128.0, 127 / 128.0};
        check(fmtExtensible(PCM, 1, 16000, 8, 8), ints(8, u8), u8Expected, SampleEncoding.PCM_U, 8);
        float[] f = {0.25f, -0.5f, 1e-7f, -0.0f};
        check(fmtExtensible(FLOAT, 1, 16000, 32, 32), floats(f), new double[] {0.25, -0.5, 1e-7f, -0.0},
                SampleEncoding.PCM_F, 32);
        double[] d = {0.1, -0.7, 1e-300, 0.999999999999};
        check(fmtExtensible(FLOAT, 1, 16000, 64, 64), doubles(d), d, SampleEncoding.PCM_F, 64);
    }

    private void check(byte[] fmt, byte[] data, double[] expected, SampleEncoding encoding, int bits)
            throws IOException {
        Audio a = readBoth(riff(chunk("fmt ", fmt), chunk("data", data)), ALL);
        assertArrayEquals(expected, a.samples());
        assertEquals(encoding, a.encoding());
        assertEquals(bits, a.bitsPerSample());
        assertEquals(EXTENSIBLE, a.formatTag());
    }

    @Test
    void channelsAreAveragedToTheirMean() throws IOException {
        int frames = 200;
        for (int channels = 1; channels <= 8; channels++) {
            long[] v = randomInts(16, frames * channels, 10 + channels);
            double[] mean = new double[frames];
            for (int t = 0; t < frames; t++) {
                double sum = 0;
                for (int c = 0; c < channels; c++) {
                    sum += v[t * channels + c] / 32768.0;
                }
                mean[t] = sum / channels;
            }
            Audio a = readBoth(wav(PCM, channels, 16000, 16, ints(16, v)), ALL);
            assertArrayEquals(mean, a.samples(), "channels " + channels);
            assertEquals(channels, a.channels());
            assertEquals(frames, a.frames());

            // float64, every channel a different signal: the mean, not any one channel
            double[] d = new double[frames * channels];
            Random r = new Random(channels);
            for (int i = 0; i < d.length; i++) {
                d[i] = r.nextDouble() - 0.5;
            }
            double[] dMean = new double[frames];
            for (int t = 0; t < frames; t++) {
                double sum = d[t * channels];
                for (int c = 1; c < channels; c++) {
                    sum += d[t * channels + c];
                }
                dMean[t] = sum / channels;
            }
            assertArrayEquals(dMean, readBoth(wav(FLOAT, channels, 16000, 64, doubles(d)), ALL).samples());
        }
        // an extensible 24-bit 6-channel file (the usual 5.1 layout)
        long[] v = randomInts(24, 6 * 50, 99);
        double[] mean = new double[50];
        for (int t = 0; t < 50; t++) {
            double sum = 0;
            for (int c = 0; c < 6; c++) {
                sum += v[t * 6 + c] / (double) (1 << 23);
            }
            mean[t] = sum / 6;
        }
        assertArrayEquals(mean, read(riff(chunk("fmt ", fmtExtensible(PCM, 6, 48000, 24, 24)),
                chunk("data", ints(24, v)))).samples());
    }

    // ---- layouts --------------------------------------------------------------------------------

    private static final long[] TEN = {0, 100, -100, 32767, -32768, 1, -1, 2, 3, 4};

    private static void assertTen(Audio a) {
        assertArrayEquals(scaled(TEN, 32768.0), a.samples());
    }

    @Test
    void otherChunksAreSkippedInAnyOrder() throws IOException {
        byte[] fmt = chunk("fmt ", fmt(PCM, 1, 16000, 16));
        byte[] data = chunk("data", ints(16, TEN));
        byte[] list = chunk("LIST", concat("INFO".getBytes(StandardCharsets.US_ASCII),
                chunk("INAM", "a title\0".getBytes(StandardCharsets.US_ASCII))));
        byte[] odd = chunk("bext", new byte[] {1, 2, 3, 4, 5}); // odd size, pad byte written
        byte[] fact = chunk("fact", ints(32, TEN.length));
        byte[] junk = chunk("JUNK", new byte[28]);
        byte[] cue = chunk("cue ", concat(ints(32, 1), new byte[24]));
        byte[] id3 = chunk("id3 ", "ID3\u0003\0\0\0\0\0\0".getBytes(StandardCharsets.ISO_8859_1));
        assertTen(readBoth(riff(list, fmt, data), ALL));
        assertTen(readBoth(riff(junk, fmt, fact, data, list, id3), ALL));
        assertTen(readBoth(riff(fmt, odd, data, odd), ALL));
        assertTen(readBoth(riff(odd, fmt, cue, odd, data), ALL));
        // fmt after a data chunk whose size is known
        assertTen(readBoth(riff(list, data, odd, fmt), ALL));
        // a second fmt or data chunk is ignored: the first counts
        assertTen(readBoth(riff(fmt, chunk("fmt ", fmt(PCM, 2, 8000, 8)), data, chunk("data", new byte[40])), ALL));
        // an odd-sized chunk whose writer left out the pad byte
        byte[] unpadded = chunk("bext", 5, new byte[] {1, 2, 3, 4, 5}, false);
        assertTen(readBoth(riff(fmt, unpadded, data), ALL));
        assertTen(readBoth(riff(unpadded, fmt, data), ALL));
        // an odd-sized data chunk: the partial frame is dropped, the pad skipped, the chunk after it read
        byte[] oddData = chunk("data", concat(ints(16, TEN), new byte[] {7}));
        assertTen(readBoth(riff(oddData, list, fmt), ALL));
        // a fmt chunk of 18 bytes (cbSize 0), as many float writers make
        byte[] fmt18 = chunk("fmt ", concat(fmt(FLOAT, 1, 16000, 32), new byte[2]));
        assertArrayEquals(new double[] {0.5, -0.25}, read(riff(fmt18, fact, chunk("data", floats(0.5f, -0.25f))))
                .samples());
    }

    @Test
    void unknownAndOversizedSizesMeanToTheEndOfTheFile() throws IOException {
        byte[] fmt = chunk("fmt ", fmt(PCM, 1, 16000, 16));
        byte[] samples = ints(16, TEN);
        for (long declared : new long[] {0, 0xFFFFFFFFL, 1000, 0x7FFFFFFFL}) {
            for (long riffSize : new long[] {-1, 0, 0xFFFFFFFFL, 4, 36, 1 << 30}) {
                assertTen(readBoth(riff("RIFF", riffSize, fmt, chunk("data", declared, samples, false)), ALL));
                // a partial last frame is dropped
                byte[] partial = riff("RIFF", riffSize, fmt, chunk("data", declared, concat(samples, new byte[] {9}),
                        false));
                assertTen(readBoth(partial, ALL));
            }
        }
        // a RIFF size shorter than the file (a tag appended after it) does not hide the samples
        assertTen(readBoth(concat(riff(fmt, chunk("data", samples)), "TAG trailing junk".getBytes(
                StandardCharsets.US_ASCII)), ALL));
    }

    @Test
    void rf64TakesTheDataSizeFromDs64() throws IOException {
        byte[] fmt = chunk("fmt ", fmt(PCM, 1, 16000, 16));
        byte[] samples = ints(16, TEN);
        byte[] ds64 = chunk("ds64", concat(ints(32, 0, 0), ints(32, samples.length, 0), ints(32, TEN.length, 0),
                ints(32, 0)));
        byte[] after = chunk("LIST", new byte[12]);
        // the ds64 size ends the data before the LIST chunk that follows it
        assertTen(readBoth(riff("RF64", 0xFFFFFFFFL, ds64, fmt, chunk("data", 0xFFFFFFFFL, samples, false), after),
                ALL));
        assertTen(readBoth(riff("BW64", 0xFFFFFFFFL, ds64, fmt, chunk("data", 0xFFFFFFFFL, samples, false)), ALL));
        // without ds64 it is a stream: to the end of the file
        assertTen(readBoth(riff("RF64", 0xFFFFFFFFL, fmt, chunk("data", 0xFFFFFFFFL, samples, false)), ALL));
    }

    @Test
    void truncatedFilesReadTheWholeFramesPresentOrFail() throws IOException {
        long[] v = randomInts(16, 2 * 100, 21);
        byte[] list = chunk("LIST", concat("INFO".getBytes(StandardCharsets.US_ASCII), new byte[9]));
        byte[] head = concat(riff(list, chunk("fmt ", fmt(PCM, 2, 16000, 16)), chunk("fact", ints(32, 100))),
                "data".getBytes(StandardCharsets.US_ASCII), ints(32, 400));
        byte[] whole = concat(head, ints(16, v), chunk("LIST", new byte[20]));
        double[] mean = new double[100];
        for (int t = 0; t < 100; t++) {
            mean[t] = (v[2 * t] / 32768.0 + v[2 * t + 1] / 32768.0) / 2;
        }
        int dataStart = head.length;
        Path p = tmp.resolve("cut.wav");
        for (int cut = 0; cut <= whole.length; cut++) {
            byte[] input = Arrays.copyOf(whole, cut);
            int expectedFrames = Math.min(100, Math.max(0, (cut - dataStart) / 4));
            for (int pass = 0; pass < (cut % 7 == 0 ? 2 : 1); pass++) {
                Audio a;
                try {
                    if (pass == 0) {
                        a = WavReader.read(input, "cut.wav", ALL);
                    } else {
                        Files.write(p, input);
                        a = WavReader.read(p, ALL);
                    }
                } catch (InvalidAudioException e) {
                    assertEquals(0, expectedFrames, "cut at " + cut + ": " + e.getMessage());
                    continue;
                } catch (RuntimeException e) {
                    throw new AssertionError("cut at " + cut + " threw " + e, e);
                }
                assertTrue(expectedFrames > 0, "cut at " + cut + " read " + a.frames() + " frames from no samples");
                assertArrayEquals(Arrays.copyOf(mean, expectedFrames), a.samples(), "cut at " + cut);
                assertEquals(expectedFrames, a.originalFrames());
            }
        }
    }

    // ---- maxSeconds -----------------------------------------------------------------------------

    @Test
    void maxSecondsKeepsExactlyTheLastSeconds() throws IOException {
        int rate = 16000;
        long[] v = randomInts(16, 40000, 30); // 2.5 s
        byte[] file = wav(PCM, 1, rate, 16, ints(16, v));
        double[] all = scaled(v, 32768.0);

        Audio last = readBoth(file, 1.0);
        assertArrayEquals(Arrays.copyOfRange(all, 24000, 40000), last.samples());
        assertEquals(40000, last.originalFrames());
        assertEquals(2.5, last.originalSeconds());
        assertEquals(1.0, last.seconds());
        assertTrue(last.cut());

        Audio odd = readBoth(file, 0.50003); // floor(0.50003 * 16000) = 8000 samples
        assertArrayEquals(Arrays.copyOfRange(all, 32000, 40000), odd.samples());

        for (double enough : new double[] {2.5, 3, ALL}) {
            Audio a = readBoth(file, enough);
            assertArrayEquals(all, a.samples());
            assertFalse(a.cut());
        }
        assertEquals(1, readBoth(file, 1.0 / rate).frames());
        assertEquals(all[39999], readBoth(file, 1.0 / rate).samples()[0]);
    }

    @Test
    void maxSecondsSeeksInLargeFiles() throws IOException {
        // 3 s of 24-bit stereo at 44.1 kHz: 794 kB, read from a file in blocks; the cut lands mid-block
        int rate = 44100;
        long[] v = randomInts(24, 2 * 3 * rate, 31);
        byte[] file = riff(chunk("LIST", new byte[30]), chunk("fmt ", fmt(PCM, 2, rate, 24)), chunk("data",
                ints(24, v)));
        double[] mean = new double[3 * rate];
        for (int t = 0; t < mean.length; t++) {
            mean[t] = (v[2 * t] / (double) (1 << 23) + v[2 * t + 1] / (double) (1 << 23)) / 2;
        }
        for (double seconds : new double[] {0.001, 0.7, 1.3333, 2.999, 3, 10}) {
            Audio a = readBoth(file, seconds);
            int keep = (int) Math.min(mean.length, Math.floor(seconds * rate));
            assertArrayEquals(Arrays.copyOfRange(mean, mean.length - keep, mean.length), a.samples(), "" + seconds);
            assertEquals(keep < mean.length, a.cut());
            assertEquals(mean.length, a.originalFrames());
        }
    }

    @Test
    void maxSecondsMustBePositive() {
        byte[] file = wav(PCM, 1, 16000, 16, ints(16, TEN));
        for (double bad : new double[] {0, -1, Double.NaN, Double.NEGATIVE_INFINITY}) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> WavReader.read(file, "x.wav", bad));
            assertSame(InvalidInputException.class, e.getClass());
            assertTrue(e.getMessage().contains("maxSeconds must be positive"), e.getMessage());
            assertThrows(InvalidInputException.class, () -> WavReader.read(tmp.resolve("none.wav"), bad));
        }
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> WavReader.read(file, "x.wav", 1e-5));
        assertTrue(e.getMessage().contains("keeps no sample at 16000 Hz"), e.getMessage());
    }

    // ---- errors ---------------------------------------------------------------------------------

    @Test
    void otherFormatsAreNamed() {
        assertMessage(bytes("fLaC\0\0\0\"\u0010\u0000"), "test.wav is a FLAC file, not a WAV file",
                "RIFF/WAVE PCM 8/16/24/32-bit or IEEE float 32/64", "ffmpeg -i in.flac out.wav");
        assertMessage(bytes("ID3\u0004\0\0\0\0\0\u0017rest of the tag"), "an MP3 file (with an ID3 tag)",
                "ffmpeg -i in.mp3 out.wav");
        assertMessage(new byte[] {(byte) 0xff, (byte) 0xfb, (byte) 0x90, 0x64, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                "an MP3 file (MPEG audio)");
        assertMessage(new byte[] {(byte) 0xff, (byte) 0xf1, 0x50, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0},
                "an AAC file (ADTS)");
        assertMessage(bytes("OggS\0\u0002\0\0\0\0\0\0\0\0"), "an Ogg file (Vorbis or Opus)", "ffmpeg -i in.ogg");
        assertMessage(bytes("FORM\0\0\0\u0010AIFFCOMM"), "an AIFF file");
        assertMessage(bytes("\0\0\0\u0020ftypM4A \0\0\0\0"), "an MP4/M4A file");
        assertMessage(new byte[] {0x1a, 0x45, (byte) 0xdf, (byte) 0xa3, 1, 0, 0, 0, 0, 0, 0, 0x1f},
                "a WebM/Matroska file");
        assertMessage(bytes("fLaC"), "a FLAC file"); // shorter than a RIFF header
    }

    @Test
    void notAWavSaysWhatWorks() {
        assertMessage(bytes("hello, this is text and not audio"),
                "test.wav is not a WAV file (it starts with 68 65 6c 6c", "RIFF/WAVE PCM 8/16/24/32-bit or IEEE float"
                        + " 32/64; convert other formats, e.g. `ffmpeg -i in.mp3 out.wav`");
        assertMessage(new byte[0], "only 0 bytes long", "ffmpeg");
        assertMessage(bytes("RIFF\0\0"), "only 6 bytes long");
        assertMessage(riff("RIFF", -1, new byte[0]).clone(), "has no fmt chunk");
        byte[] avi = riff(chunk("fmt ", fmt(PCM, 1, 16000, 16)));
        avi[8] = 'A';
        avi[9] = 'V';
        avi[10] = 'I';
        avi[11] = ' ';
        assertMessage(avi, "is not a WAV file");
        assertMessage(riff("RIFX", -1, chunk("fmt ", fmt(PCM, 1, 16000, 16))), "big-endian (RIFX)", "pcm_s16le");
    }

    @Test
    void unsupportedEncodingsNameTheirTagAndBits() {
        assertMessage(wav(0x0011, 1, 16000, 4, new byte[100]), "unsupported WAV encoding (format tag 0x0011 IMA ADPCM,"
                + " 4 bits per sample)", "ffmpeg -i in.wav -c:a pcm_s16le out.wav");
        assertMessage(wav(0x0002, 2, 16000, 4, new byte[100]), "0x0002 Microsoft ADPCM, 4 bits");
        assertMessage(wav(0x0006, 1, 8000, 8, new byte[100]), "0x0006 A-law, 8 bits");
        assertMessage(wav(0x0007, 1, 8000, 8, new byte[100]), "0x0007 mu-law, 8 bits");
        assertMessage(wav(0x0055, 1, 8000, 0, new byte[100]), "0x0055 MP3, 0 bits");
        assertMessage(wav(0x1234, 1, 8000, 16, new byte[100]), "format tag 0x1234, 16 bits");
        assertMessage(wav(PCM, 1, 16000, 12, new byte[100]), "format tag 0x0001 PCM, 12 bits per sample");
        assertMessage(wav(PCM, 1, 16000, 64, new byte[100]), "0x0001 PCM, 64 bits");
        assertMessage(wav(FLOAT, 1, 16000, 16, new byte[100]), "0x0003 IEEE float, 16 bits");
        assertMessage(riff(chunk("fmt ", fmtExtensible(0x0011, 1, 16000, 16, 16)), chunk("data", new byte[10])),
                "0xFFFE extensible, sub-format 0x0011 IMA ADPCM, 16 bits");
        byte[] ambisonic = fmtExtensible(PCM, 1, 16000, 16, 16);
        ambisonic[30] = 0x21; // a GUID of another family (e.g. AMBISONIC_B_FORMAT) with the PCM tag
        assertMessage(riff(chunk("fmt ", ambisonic), chunk("data", new byte[10])),
                "WAVE_FORMAT_EXTENSIBLE with sub-format GUID 00000001-0000-0021-8000-00aa00389b71");
    }

    @Test
    void malformedFormatChunks() {
        byte[] data = chunk("data", new byte[40]);
        assertMessage(riff(chunk("fmt ", fmt(PCM, 0, 16000, 16)), data), "is not a valid WAV file: its fmt chunk"
                + " declares 0 channels", "Export or convert it again");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 2, 16000, 16, 2)), data), "block align is 2 bytes, but 2 channel(s)"
                + " of 16-bit samples take 4");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 1, 16000, 24, 4)), data), "block align is 4 bytes");
        assertMessage(riff(chunk("fmt ", Arrays.copyOf(fmt(PCM, 1, 16000, 16), 14)), data),
                "its fmt chunk is 14 bytes long; at least 16 are needed");
        byte[] shortExt = Arrays.copyOf(fmtExtensible(PCM, 1, 16000, 16, 16), 18);
        assertMessage(riff(chunk("fmt ", shortExt), data), "WAVE_FORMAT_EXTENSIBLE fmt chunk is 18 bytes long; 40"
                + " are needed");
        byte[] smallCb = fmtExtensible(PCM, 1, 16000, 16, 16);
        smallCb[16] = 0;
        assertMessage(riff(chunk("fmt ", smallCb), data), "its WAVE_FORMAT_EXTENSIBLE extension is 0 bytes long; 22"
                + " are needed");
        assertMessage(riff(chunk("fmt ", fmtExtensible(PCM, 1, 16000, 16, 17)), data),
                "17 valid bits in 16-bit samples");
        assertMessage(riff(chunk("fmt ", fmtExtensible(FLOAT, 1, 16000, 32, 24)), data),
                "24 valid bits in 32-bit float samples");
    }

    @Test
    void rateAndChannelsOutOfRange() {
        byte[] data = chunk("data", new byte[9 * 8]);
        assertMessage(riff(chunk("fmt ", fmt(PCM, 1, 7999, 16)), data), "sample rate of 7999 Hz; voice cloning reads"
                + " 8000 to 192000 Hz", "ffmpeg -i in.wav -ar 24000 out.wav");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 1, 192001, 16)), data), "sample rate of 192001 Hz");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 1, 0, 16)), data), "sample rate of 0 Hz");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 1, -1, 16)), data), "sample rate of 4294967295 Hz");
        assertEquals(8000, read(riff(chunk("fmt ", fmt(PCM, 1, 8000, 16)), data)).sampleRate());
        assertEquals(192000, read(riff(chunk("fmt ", fmt(PCM, 1, 192000, 16)), data)).sampleRate());
        assertMessage(riff(chunk("fmt ", fmt(PCM, 9, 16000, 16)), data), "has 9 channels; 1 to 8 are supported",
                "ffmpeg -i in.wav -ac 1 out.wav");
        assertMessage(riff(chunk("fmt ", fmt(PCM, 65535, 16000, 16)), data), "has 65535 channels");
        assertEquals(8, read(riff(chunk("fmt ", fmt(PCM, 8, 16000, 16)), data)).channels());
    }

    @Test
    void missingChunksAndSamples() {
        byte[] fmt = chunk("fmt ", fmt(PCM, 2, 16000, 16));
        assertMessage(riff(fmt), "is not a valid WAV file: it has no data chunk");
        assertMessage(riff(fmt, chunk("LIST", new byte[10])), "it has no data chunk");
        assertMessage(riff(chunk("data", new byte[8])), "it has no fmt chunk");
        assertMessage(riff(chunk("data", 0xFFFFFFFFL, new byte[8], false), fmt),
                "its data chunk has no size (a stream) and no fmt chunk comes before it");
        assertMessage(riff(chunk("data", 0, new byte[8], false), fmt), "no fmt chunk comes before it");
        assertMessage(riff(fmt, chunk("data", new byte[0])), "test.wav holds no audio samples (its data chunk has 0"
                + " bytes, less than one frame of 4)");
        assertMessage(riff(fmt, chunk("data", new byte[3])), "has 3 bytes, less than one frame of 4");
        assertMessage(riff(fmt, chunk("data", 0xFFFFFFFFL, new byte[0], false)), "holds no audio samples");
        assertMessage(Arrays.copyOf(riff(chunk("LIST", new byte[100]), fmt), 60),
                "the file ends inside its 'LIST' chunk, before any fmt chunk (truncated?)");
        assertMessage(Arrays.copyOf(riff(fmt, chunk("data", new byte[8])), 30),
                "the file ends inside its fmt chunk (truncated?)");
        assertMessage(riff(fmt, chunk("LIST", 1000, new byte[10], false)),
                "the file ends inside its 'LIST' chunk, before any data chunk (truncated?)");
    }

    @Test
    void nonFiniteFloatSamplesAreRefused() {
        assertMessage(wav(FLOAT, 1, 16000, 32, floats(0.5f, 0.25f, Float.NaN)), "holds a NaN sample (frame 2,"
                + " channel 0, at 0.000 s); the recording is damaged");
        double[] d = new double[2 * 32000];
        d[2 * 24000 + 1] = Double.NEGATIVE_INFINITY;
        assertMessage(wav(FLOAT, 2, 16000, 64, doubles(d)), "an infinite sample (frame 24000, channel 1, at 1.500 s)");
        // before the last maxSeconds: not read, so not refused
        assertEquals(6400, WavReader.read(wav(FLOAT, 2, 16000, 64, doubles(d)), "x", 0.4).frames());
    }

    @Test
    void missingFilesAndFolders() throws IOException {
        InvalidAudioException e = assertThrows(InvalidAudioException.class,
                () -> WavReader.read(tmp.resolve("missing.wav"), ALL));
        assertTrue(e.getMessage().startsWith("Audio file not found: "), e.getMessage());
        e = assertThrows(InvalidAudioException.class, () -> WavReader.read(tmp, ALL));
        assertTrue(e.getMessage().startsWith("Not a file: "), e.getMessage());
        Path p = tmp.resolve("named.wav");
        Files.write(p, bytes("not audio at all"));
        e = assertThrows(InvalidAudioException.class, () -> WavReader.read(p, ALL));
        assertTrue(e.getMessage().startsWith(p + " is not a WAV file"), e.getMessage());
    }

    @Test
    void everyDefectIsAnInvalidAudioException() {
        // a few hostile headers: sizes near 2^32, zeroed and maxed fields; each a typed refusal or a read
        byte[] good = wav(PCM, 2, 16000, 16, ints(16, randomInts(16, 64, 40)));
        for (int at = 0; at < 44; at++) {
            for (int value : new int[] {0, 0xff, 0x7f, 0x80}) {
                byte[] bad = good.clone();
                bad[at] = (byte) value;
                try {
                    Audio a = read(bad);
                    assertTrue(a.frames() > 0 && a.frames() <= 32);
                } catch (InvalidAudioException expected) {
                    // a clear refusal
                } catch (RuntimeException other) {
                    fail("byte " + at + " = " + value + ": " + other, other);
                }
            }
        }
    }

    // ---- helpers --------------------------------------------------------------------------------

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** Random signed values of {@code bits}, starting with the extremes and zero. */
    static long[] randomInts(int bits, int n, long seed) {
        Random r = new Random(seed);
        long[] v = new long[n];
        long min = -(1L << (bits - 1));
        long max = (1L << (bits - 1)) - 1;
        for (int i = 0; i < n; i++) {
            v[i] = i == 0 ? min : i == 1 ? max : i == 2 ? 0 : min + (long) (r.nextDouble() * (max - min + 1));
        }
        return v;
    }

    static double[] scaled(long[] v, double divisor) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i] / divisor;
        }
        return out;
    }
}

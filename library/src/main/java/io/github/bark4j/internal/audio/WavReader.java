package io.github.bark4j.internal.audio;

import io.github.bark4j.GenerationCancelledException;
import io.github.bark4j.InvalidAudioException;
import io.github.bark4j.InvalidInputException;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * Reads RIFF/WAVE recordings for voice cloning, without javax.sound: PCM 8-bit (unsigned), 16, 24 and
 * 32-bit (signed), IEEE float 32 and 64, plain or as WAVE_FORMAT_EXTENSIBLE, 1 to 8 channels at
 * 8 to 192 kHz. Samples are scaled as torchaudio (libsndfile) reads them and the channels averaged to
 * mono as encodec's {@code convert_audio} does (their mean), all in {@code double}, so float64 files
 * come through bit for bit.
 *
 * <p>No header field is trusted. A data (or RIFF) size of 0 or 0xFFFFFFFF, or one past the end of the
 * file, as streaming writers and interrupted recordings leave them, means "to the end of the file";
 * only whole frames are read. Nothing is allocated from a declared size before it has been checked
 * against the bytes that are there. Chunks other than fmt and data (LIST, fact, bext, cue, JUNK, ...)
 * are skipped in any order, with RIFF's pad byte after an odd-sized chunk (or without it, when a
 * writer left it out). RF64/BW64 files are read through their ds64 chunk.
 *
 * <p>Memory is bounded by the caller's {@code maxSeconds}: only the last {@code maxSeconds} of audio
 * are decoded (the reader seeks to them), and the result says how long the whole file was and whether
 * it was cut.
 */
public final class WavReader {
    public static final int MIN_SAMPLE_RATE = 8_000;
    public static final int MAX_SAMPLE_RATE = 192_000;
    public static final int MAX_CHANNELS = 8;

    static final String READABLE = "bark4j reads RIFF/WAVE PCM 8/16/24/32-bit or IEEE float 32/64";
    private static final String CONVERT_HINT = "; convert other formats, e.g. `ffmpeg -i in.mp3 out.wav`";
    private static final String REENCODE_HINT = "; convert it, e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`";

    private static final int TAG_PCM = 0x0001;
    private static final int TAG_FLOAT = 0x0003;
    private static final int TAG_EXTENSIBLE = 0xFFFE;
    /** The 14 bytes after the format tag in a KSDATAFORMAT_SUBTYPE_* GUID (PCM, IEEE float, ...). */
    private static final byte[] SUBFORMAT_GUID_TAIL = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, (byte) 0x80, 0x00,
            0x00, (byte) 0xAA, 0x00, 0x38, (byte) 0x9B, 0x71};
    private static final long UNKNOWN_SIZE = 0xFFFF_FFFFL;
    /** The longest result: a Java array's length, less a margin some VMs keep. */
    private static final long MAX_SAMPLES = Integer.MAX_VALUE - 16;
    /** Bytes of sample data read from a file at a time. */
    private static final int BLOCK_BYTES = 1 << 16;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, LE);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, LE);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, LE);

    private WavReader() {}

    /**
     * Reads the last {@code maxSeconds} of the WAV file at {@code path} as mono.
     *
     * @param maxSeconds how much audio to keep at most, from the end (positive; infinity keeps it all)
     * @throws InvalidAudioException if the file is missing, unreadable, not a WAV bark4j reads, malformed,
     *     empty, or out of range
     * @throws InvalidInputException if {@code maxSeconds} is not positive
     */
    public static Audio read(Path path, double maxSeconds) {
        checkMaxSeconds(maxSeconds);
        if (!Files.exists(path)) {
            throw new InvalidAudioException("Audio file not found: " + path);
        }
        if (!Files.isRegularFile(path)) {
            throw new InvalidAudioException("Not a file: " + path + " (pass the path of a WAV recording)");
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            return read(new FileSource(channel), path.toString(), maxSeconds);
        } catch (NoSuchFileException e) {
            throw new InvalidAudioException("Audio file not found: " + path);
        } catch (ClosedByInterruptException e) {
            // the reading thread was interrupted (its call cancelled), not a bad file
            GenerationCancelledException c = new GenerationCancelledException("Reading " + path
                    + " was cancelled: the thread was interrupted");
            c.initCause(e);
            throw c;
        } catch (IOException e) {
            throw new InvalidAudioException("Cannot read audio file " + path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads the last {@code maxSeconds} of the WAV file held in {@code bytes} (an upload) as mono.
     *
     * @param name what to call the input in error messages (a file name)
     * @param maxSeconds how much audio to keep at most, from the end (positive; infinity keeps it all)
     * @throws InvalidAudioException if the bytes are not a WAV bark4j reads, malformed, empty, or out of range
     * @throws InvalidInputException if {@code maxSeconds} is not positive
     */
    public static Audio read(byte[] bytes, String name, double maxSeconds) {
        checkMaxSeconds(maxSeconds);
        try {
            return read(new ArraySource(bytes), name, maxSeconds);
        } catch (IOException e) {
            throw new AssertionError("an in-memory source does no I/O", e);
        }
    }

    private static void checkMaxSeconds(double maxSeconds) {
        if (!(maxSeconds > 0)) {
            throw new InvalidInputException("maxSeconds must be positive (infinity keeps the whole recording), got "
                    + maxSeconds);
        }
    }

    /** The fmt chunk's facts, checked. */
    private record Format(int formatTag, SampleEncoding encoding, int bits, int channels, int sampleRate,
            int blockAlign) {}

    private static Audio read(Source src, String name, double maxSeconds) throws IOException {
        long size = src.size();
        if (size < 12) {
            byte[] head = src.bytes(0, (int) size);
            String other = otherFormat(head);
            throw other != null ? notWav(name, other, extension(other))
                    : new InvalidAudioException(name + " is not a WAV file: it is only " + size + " bytes long. "
                            + READABLE + CONVERT_HINT + ".");
        }
        byte[] head = src.bytes(0, 12);
        String riff = fourcc(head, 0);
        if (riff.equals("RIFX") && fourcc(head, 8).equals("WAVE")) {
            throw new InvalidAudioException(name + " is a big-endian (RIFX) WAV file, which bark4j does not read"
                    + REENCODE_HINT + ".");
        }
        boolean rf64 = riff.equals("RF64") || riff.equals("BW64");
        if (!(riff.equals("RIFF") || rf64) || !fourcc(head, 8).equals("WAVE")) {
            String other = otherFormat(head);
            if (other != null) {
                throw notWav(name, other, extension(other));
            }
            throw new InvalidAudioException(name + " is not a WAV file (it starts with " + hex(head, 12) + "). "
                    + READABLE + CONVERT_HINT + ".");
        }

        Format format = null;
        long dataStart = -1;
        long dataBytes = -1;
        boolean dataSizeKnown = false;
        long ds64DataSize = -1;
        String cutOffIn = null; // the chunk the file ends inside, if it does
        long pos = 12;
        while (pos + 8 <= size) {
            byte[] header = src.bytes(pos, 8);
            String id = fourcc(header, 0);
            long declared = u32(header, 4);
            long body = pos + 8;
            long available = size - body;
            if (id.equals("data") && dataStart < 0) {
                dataStart = body;
                long sizeToUse = declared;
                if (rf64 && declared == UNKNOWN_SIZE && ds64DataSize >= 0) {
                    sizeToUse = ds64DataSize; // RF64: the real size is in ds64
                }
                dataSizeKnown = sizeToUse != 0 && sizeToUse != UNKNOWN_SIZE && sizeToUse <= available;
                dataBytes = dataSizeKnown ? sizeToUse : available;
                if (!dataSizeKnown || format != null) {
                    break; // what follows an open-ended data chunk is samples, not chunks
                }
                declared = sizeToUse;
            } else if (id.equals("fmt ") && format == null) {
                if (declared < 16) {
                    throw malformed(name, "its fmt chunk is " + declared + " bytes long; at least 16 are needed");
                }
                if (declared > available) {
                    cutOffIn = "fmt ";
                    break;
                }
                format = parseFormat(src.bytes(body, (int) Math.min(declared, 40)), declared, name);
                if (dataStart >= 0) {
                    break;
                }
            } else if (id.equals("ds64") && rf64 && declared >= 16 && declared <= available) {
                long dataSize64 = ByteBuffer.wrap(src.bytes(body + 8, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
                ds64DataSize = dataSize64 >= 0 ? dataSize64 : -1;
            }
            if (declared > available) {
                cutOffIn = id; // a chunk running past the end: the file was cut inside it
                break;
            }
            pos = next(src, body + declared, declared, size);
        }

        if (format == null) {
            if (dataStart >= 0 && !dataSizeKnown) {
                throw malformed(name, "its data chunk has no size (a stream) and no fmt chunk comes before it, so"
                        + " the fmt chunk after it cannot be found");
            }
            throw malformed(name, cutOffIn == null ? "it has no fmt chunk"
                    : cutOffIn.equals("fmt ") ? "the file ends inside its fmt chunk (truncated?)"
                    : "the file ends inside its '" + printable(cutOffIn)
                            + "' chunk, before any fmt chunk (truncated?)");
        }
        if (dataStart < 0) {
            throw malformed(name, cutOffIn != null
                    ? "the file ends inside its '" + printable(cutOffIn) + "' chunk, before any data chunk (truncated?)"
                    : "it has no data chunk");
        }

        long frames = dataBytes / format.blockAlign;
        if (frames == 0) {
            throw new InvalidAudioException(name + " holds no audio samples (its data chunk has " + dataBytes
                    + " bytes, less than one frame of " + format.blockAlign + "); record or export some audio.");
        }
        double wanted = Math.floor(maxSeconds * format.sampleRate);
        if (wanted < 1) {
            throw new InvalidInputException("maxSeconds " + maxSeconds + " keeps no sample at " + format.sampleRate
                    + " Hz; pass at least " + 1.0 / format.sampleRate);
        }
        long keep = wanted >= frames ? frames : (long) wanted;
        if (keep > MAX_SAMPLES) {
            throw new InvalidAudioException(name + " is too long to read at once (" + frames + " frames at "
                    + format.sampleRate + " Hz); pass a maxSeconds below " + MAX_SAMPLES / format.sampleRate);
        }
        double[] samples = new double[(int) keep];
        long first = frames - keep;
        src.decode(dataStart + first * format.blockAlign, samples, format, name, first);
        return new Audio(samples, format.sampleRate, format.channels, format.encoding, format.bits, format.formatTag,
                frames, keep < frames);
    }

    /**
     * Where the chunk after one ending at {@code end} starts: after RIFF's pad byte when the chunk's size
     * is odd, unless the writer left the pad out (the byte there is not zero but starts a chunk id).
     */
    private static long next(Source src, long end, long declared, long size) throws IOException {
        if ((declared & 1) == 0 || end + 8 > size) {
            return end + (declared & 1);
        }
        byte[] b = src.bytes(end, 4);
        return b[0] != 0 && isChunkId(b) ? end : end + 1;
    }

    private static boolean isChunkId(byte[] b) {
        for (int i = 0; i < 4; i++) {
            if (b[i] < 0x20 || b[i] > 0x7e) {
                return false;
            }
        }
        return true;
    }

    private static Format parseFormat(byte[] fmt, long declared, String name) {
        int tag = u16(fmt, 0);
        int channels = u16(fmt, 2);
        long rate = u32(fmt, 4);
        int blockAlign = u16(fmt, 12);
        int bits = u16(fmt, 14);
        int subTag = tag;
        int validBits = bits;
        if (tag == TAG_EXTENSIBLE) {
            if (declared < 40) {
                throw malformed(name, "its WAVE_FORMAT_EXTENSIBLE fmt chunk is " + declared
                        + " bytes long; 40 are needed");
            }
            if (u16(fmt, 16) < 22) {
                throw malformed(name, "its WAVE_FORMAT_EXTENSIBLE extension is " + u16(fmt, 16)
                        + " bytes long; 22 are needed");
            }
            validBits = u16(fmt, 18);
            subTag = u16(fmt, 24);
            for (int i = 0; i < SUBFORMAT_GUID_TAIL.length; i++) {
                if (fmt[26 + i] != SUBFORMAT_GUID_TAIL[i]) {
                    throw new InvalidAudioException(name + " uses an unsupported WAV encoding (WAVE_FORMAT_EXTENSIBLE"
                            + " with sub-format GUID " + guid(fmt, 24) + "). " + READABLE + REENCODE_HINT + ".");
                }
            }
        }
        if (channels == 0) {
            throw malformed(name, "its fmt chunk declares 0 channels");
        }
        if (channels > MAX_CHANNELS) {
            throw new InvalidAudioException(name + " has " + channels + " channels; 1 to " + MAX_CHANNELS
                    + " are supported: mix it down, e.g. `ffmpeg -i in.wav -ac 1 out.wav`.");
        }
        SampleEncoding encoding = switch (subTag) {
            case TAG_PCM -> bits == 8 ? SampleEncoding.PCM_U
                    : bits == 16 || bits == 24 || bits == 32 ? SampleEncoding.PCM_S : null;
            case TAG_FLOAT -> bits == 32 || bits == 64 ? SampleEncoding.PCM_F : null;
            default -> null;
        };
        if (encoding == null) {
            throw new InvalidAudioException(name + " uses an unsupported WAV encoding (format tag "
                    + tagName(tag, subTag) + ", " + bits + " bits per sample). " + READABLE + REENCODE_HINT + ".");
        }
        if (tag == TAG_EXTENSIBLE) {
            // libsndfile and torchaudio scale by the container, so left-justified 20-in-24 or 24-in-32 read right
            boolean sensible = encoding == SampleEncoding.PCM_F ? validBits == bits || validBits == 0
                    : validBits <= bits;
            if (!sensible) {
                throw malformed(name, "it declares " + validBits + " valid bits in " + bits + "-bit "
                        + (encoding == SampleEncoding.PCM_F ? "float " : "") + "samples");
            }
        }
        if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
            throw new InvalidAudioException(name + " has a sample rate of " + rate + " Hz; voice cloning reads "
                    + MIN_SAMPLE_RATE + " to " + MAX_SAMPLE_RATE
                    + " Hz: resample it, e.g. `ffmpeg -i in.wav -ar 24000 out.wav`.");
        }
        int frameBytes = channels * (bits / 8);
        if (blockAlign != frameBytes) {
            throw malformed(name, "its block align is " + blockAlign + " bytes, but " + channels + " channel(s) of "
                    + bits + "-bit samples take " + frameBytes);
        }
        return new Format(tag, encoding, bits, channels, (int) rate, blockAlign);
    }

    // ---- decoding ---------------------------------------------------------------------------------

    /**
     * Decodes {@code frames} whole frames from {@code b} at {@code off} into {@code out} at {@code outOff},
     * each the mean of its channels (summed in channel order, then divided, as torch's mean does).
     */
    private static void decode(byte[] b, int off, int frames, Format f, double[] out, int outOff, String name,
            long firstFrame) {
        int channels = f.channels;
        switch (f.encoding) {
            case PCM_U -> {
                for (int i = 0, p = off; i < frames; i++) {
                    double sum = ((b[p++] & 0xff) - 128) / 128.0;
                    for (int c = 1; c < channels; c++) {
                        sum += ((b[p++] & 0xff) - 128) / 128.0;
                    }
                    out[outOff + i] = channels == 1 ? sum : sum / channels;
                }
            }
            case PCM_S -> {
                int width = f.bits / 8;
                double scale = 1.0 / (1L << (f.bits - 1)); // a power of two: multiplying is exact
                for (int i = 0, p = off; i < frames; i++) {
                    double sum = 0;
                    for (int c = 0; c < channels; c++, p += width) {
                        double v = signedPcm(b, p, width) * scale;
                        sum = c == 0 ? v : sum + v;
                    }
                    out[outOff + i] = channels == 1 ? sum : sum / channels;
                }
            }
            case PCM_F -> {
                boolean wide = f.bits == 64;
                for (int i = 0, p = off; i < frames; i++) {
                    double sum = 0;
                    for (int c = 0; c < channels; c++) {
                        double v = wide ? Double.longBitsToDouble((long) LONG_LE.get(b, p))
                                : Float.intBitsToFloat((int) INT_LE.get(b, p));
                        p += wide ? 8 : 4;
                        if (!Double.isFinite(v)) {
                            throw nonFinite(name, v, firstFrame + i, c, f.sampleRate);
                        }
                        sum = c == 0 ? v : sum + v;
                    }
                    out[outOff + i] = channels == 1 ? sum : sum / channels;
                }
            }
            default -> throw new AssertionError(f.encoding);
        }
    }

    private static InvalidAudioException nonFinite(String name, double v, long frame, int channel, int rate) {
        return new InvalidAudioException(name + " holds " + (Double.isNaN(v) ? "a NaN" : "an infinite")
                + " sample (frame " + frame + ", channel " + channel + ", at "
                + String.format(Locale.ROOT, "%.3f", frame / (double) rate)
                + " s); the recording is damaged: export it again.");
    }

    /** The little-endian signed integer of {@code width} (2, 3 or 4) bytes at {@code p}. */
    private static int signedPcm(byte[] b, int p, int width) {
        return switch (width) {
            case 2 -> (short) SHORT_LE.get(b, p);
            case 3 -> (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | b[p + 2] << 16;
            default -> (int) INT_LE.get(b, p);
        };
    }

    /** The bytes being read: a file or an in-memory upload. */
    private interface Source {
        long size();

        /** {@code len} bytes at {@code pos} (the caller keeps within {@link #size()}), a fresh array. */
        byte[] bytes(long pos, int len) throws IOException;

        /** Decodes {@code out.length} frames starting at byte {@code pos} into {@code out}. */
        void decode(long pos, double[] out, Format f, String name, long firstFrame) throws IOException;
    }

    private static final class ArraySource implements Source {
        private final byte[] data;

        ArraySource(byte[] data) {
            this.data = data;
        }

        @Override
        public long size() {
            return data.length;
        }

        @Override
        public byte[] bytes(long pos, int len) {
            return java.util.Arrays.copyOfRange(data, (int) pos, (int) pos + len);
        }

        @Override
        public void decode(long pos, double[] out, Format f, String name, long firstFrame) {
            WavReader.decode(data, (int) pos, out.length, f, out, 0, name, firstFrame);
        }
    }

    private static final class FileSource implements Source {
        private final FileChannel channel;
        private final long size;

        FileSource(FileChannel channel) throws IOException {
            this.channel = channel;
            this.size = channel.size();
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public byte[] bytes(long pos, int len) throws IOException {
            byte[] out = new byte[len];
            readFully(pos, out, len);
            return out;
        }

        private void readFully(long pos, byte[] dst, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(dst, 0, len);
            while (buf.hasRemaining()) {
                if (channel.read(buf, pos + buf.position()) < 0) {
                    throw new IOException("the file got shorter while it was read");
                }
            }
        }

        @Override
        public void decode(long pos, double[] out, Format f, String name, long firstFrame) throws IOException {
            int framesPerBlock = Math.max(1, BLOCK_BYTES / f.blockAlign);
            byte[] block = new byte[(int) Math.min((long) framesPerBlock, out.length) * f.blockAlign];
            for (int done = 0; done < out.length; ) {
                int frames = Math.min(framesPerBlock, out.length - done);
                readFully(pos + (long) done * f.blockAlign, block, frames * f.blockAlign);
                WavReader.decode(block, 0, frames, f, out, done, name, firstFrame + done);
                done += frames;
            }
        }
    }

    // ---- small helpers ----------------------------------------------------------------------------

    private static InvalidAudioException malformed(String name, String what) {
        return new InvalidAudioException(name + " is not a valid WAV file: " + what
                + ". Export or convert it again, e.g. `ffmpeg -i in.wav -c:a pcm_s16le out.wav`.");
    }

    private static InvalidAudioException notWav(String name, String format, String ext) {
        return new InvalidAudioException(name + " is " + format + ", not a WAV file. " + READABLE
                + "; convert it, e.g. `ffmpeg -i in." + ext + " out.wav`.");
    }

    /** Names a common audio format other than WAV from its first bytes, or null. */
    static String otherFormat(byte[] h) {
        int n = h.length;
        if (n >= 4 && fourcc(h, 0).equals("fLaC")) {
            return "a FLAC file";
        }
        if (n >= 4 && fourcc(h, 0).equals("OggS")) {
            return "an Ogg file (Vorbis or Opus)";
        }
        if (n >= 3 && h[0] == 'I' && h[1] == 'D' && h[2] == '3') {
            return "an MP3 file (with an ID3 tag)";
        }
        if (n >= 2 && (h[0] & 0xff) == 0xff && (h[1] & 0xe0) == 0xe0) {
            return (h[1] & 0x06) == 0 ? "an AAC file (ADTS)" : "an MP3 file (MPEG audio)";
        }
        if (n >= 12 && fourcc(h, 0).equals("FORM") && (fourcc(h, 8).equals("AIFF") || fourcc(h, 8).equals("AIFC"))) {
            return "an AIFF file";
        }
        if (n >= 8 && fourcc(h, 4).equals("ftyp")) {
            return "an MP4/M4A file";
        }
        if (n >= 4 && (h[0] & 0xff) == 0x1a && (h[1] & 0xff) == 0x45 && (h[2] & 0xff) == 0xdf
                && (h[3] & 0xff) == 0xa3) {
            return "a WebM/Matroska file";
        }
        return null;
    }

    private static String extension(String format) {
        return format.contains("FLAC") ? "flac" : format.contains("Ogg") ? "ogg" : format.contains("AAC") ? "aac"
                : format.contains("AIFF") ? "aiff" : format.contains("MP4") ? "m4a" : format.contains("WebM") ? "webm"
                : "mp3";
    }

    private static String tagName(int tag, int subTag) {
        String sub = switch (subTag) {
            case 0x0001 -> "PCM";
            case 0x0002 -> "Microsoft ADPCM";
            case 0x0003 -> "IEEE float";
            case 0x0006 -> "A-law";
            case 0x0007 -> "mu-law";
            case 0x0011 -> "IMA ADPCM";
            case 0x0031 -> "GSM 6.10";
            case 0x0050 -> "MPEG";
            case 0x0055 -> "MP3";
            case 0x00FF, 0x1610 -> "AAC";
            default -> null;
        };
        String hexTag = String.format(Locale.ROOT, "0x%04X", subTag);
        String named = sub == null ? hexTag : hexTag + " " + sub;
        return tag == TAG_EXTENSIBLE ? "0xFFFE extensible, sub-format " + named : named;
    }

    private static int u16(byte[] b, int off) {
        return (short) SHORT_LE.get(b, off) & 0xffff;
    }

    private static long u32(byte[] b, int off) {
        return (int) INT_LE.get(b, off) & 0xffff_ffffL;
    }

    private static String fourcc(byte[] b, int off) {
        return new String(b, off, 4, StandardCharsets.ISO_8859_1);
    }

    private static String printable(String id) {
        StringBuilder s = new StringBuilder();
        for (char c : id.toCharArray()) {
            s.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format(Locale.ROOT, "\\x%02x", (int) c));
        }
        return s.toString();
    }

    private static String hex(byte[] b, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < Math.min(n, b.length); i++) {
            s.append(i == 0 ? "" : " ").append(String.format(Locale.ROOT, "%02x", b[i] & 0xff));
        }
        return s.toString();
    }

    private static String guid(byte[] b, int off) {
        ByteBuffer g = ByteBuffer.wrap(b, off, 16).order(ByteOrder.LITTLE_ENDIAN);
        int d1 = g.getInt();
        int d2 = g.getShort() & 0xffff;
        int d3 = g.getShort() & 0xffff;
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%08x-%04x-%04x-", d1, d2, d3));
        for (int i = 8; i < 16; i++) {
            s.append(i == 10 ? "-" : "").append(String.format(Locale.ROOT, "%02x", b[off + i] & 0xff));
        }
        return s.toString();
    }
}

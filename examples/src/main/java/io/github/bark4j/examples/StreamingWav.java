package io.github.bark4j.examples;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A 16-bit PCM mono WAV file written while the audio is still being made: the header first, with
 * the sizes set to 0xFFFFFFFF ("until the end of the file", which players that read a growing file
 * accept), then each block of samples as it arrives, and on {@link #close()} the real sizes.
 */
final class StreamingWav implements AutoCloseable {
    private static final int HEADER = 44;
    private final FileChannel channel;
    private final int sampleRate;
    private long dataBytes;

    StreamingWav(Path file, int sampleRate) throws IOException {
        this.channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        this.sampleRate = sampleRate;
        write(header(0xFFFFFFFFL, 0xFFFFFFFFL), 0);
        channel.force(false);
    }

    /** Appends samples (clipped to [-1, 1]) and makes them visible to readers of the file. */
    void append(float[] samples) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(samples.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float s : samples) {
            float c = Math.max(-1f, Math.min(1f, s));
            b.putShort((short) Math.round(c * 32767f));
        }
        b.flip();
        write(b, HEADER + dataBytes);
        dataBytes += samples.length * 2L;
    }

    /** Appends {@code n} zero samples. */
    void silence(int n) throws IOException {
        write(ByteBuffer.allocate(n * 2), HEADER + dataBytes);
        dataBytes += n * 2L;
    }

    long samplesWritten() {
        return dataBytes / 2;
    }

    /** Writes the final sizes into the header and closes the file. */
    @Override
    public void close() throws IOException {
        try {
            write(header(36 + dataBytes, dataBytes), 0);
        } finally {
            channel.close();
        }
    }

    private ByteBuffer header(long riffSize, long dataSize) {
        ByteBuffer b = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {'R', 'I', 'F', 'F'}).putInt((int) riffSize).put(new byte[] {'W', 'A', 'V', 'E'});
        b.put(new byte[] {'f', 'm', 't', ' '}).putInt(16).putShort((short) 1).putShort((short) 1)
                .putInt(sampleRate).putInt(sampleRate * 2).putShort((short) 2).putShort((short) 16);
        b.put(new byte[] {'d', 'a', 't', 'a'}).putInt((int) dataSize);
        b.flip();
        return b;
    }

    private void write(ByteBuffer b, long position) throws IOException {
        while (b.hasRemaining()) {
            position += channel.write(b, position);
        }
    }
}

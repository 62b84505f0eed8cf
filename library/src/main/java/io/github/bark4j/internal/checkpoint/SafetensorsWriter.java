package io.github.bark4j.internal.checkpoint;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Writes any {@link TensorSource} as a safetensors file: 8-byte little-endian header length, a JSON
 * header sorted by tensor name and padded with spaces to a multiple of 8 bytes, then each tensor's
 * bytes in the same order. Data is streamed tensor by tensor through a {@link FileChannel}; the file
 * is written beside the target and renamed into place, so a crash never leaves a half-written file.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {}

    public static void write(TensorSource src, Path out) {
        write(src, out, Map.of("format", "pt"));
    }

    public static void write(TensorSource src, Path out, Map<String, String> metadata) {
        Path target = out.toAbsolutePath();
        List<String> names = new ArrayList<>(new TreeSet<>(src.names()));
        if (names.contains("__metadata__")) {
            throw new ModelLoadException("A tensor named __metadata__ cannot be written to safetensors (" + target + ")");
        }

        JsonObject header = new JsonObject();
        if (!metadata.isEmpty()) {
            JsonObject meta = new JsonObject();
            new TreeMap<>(metadata).forEach(meta::addProperty);
            header.add("__metadata__", meta);
        }
        long offset = 0;
        for (String name : names) {
            RawTensor t = src.tensor(name);
            long bytes = t.data().remaining();
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", t.dtype().name());
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + bytes);
            entry.add("data_offsets", offsets);
            header.add(name, entry);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        Path tmp = null;
        try {
            tmp = AtomicFiles.newSibling(target);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                writeFully(ch, head);
                long written = 0;
                for (String name : names) {
                    RawTensor t = src.tensor(name);
                    ByteBuffer data = t.data().duplicate();
                    written += data.remaining();
                    writeFully(ch, data);
                }
                if (written != offset) {
                    throw new ModelLoadException("Tensors of the source changed size while " + target + " was written");
                }
                ch.force(true);
            }
            AtomicFiles.move(tmp, target);
            tmp = null;
        } catch (IOException e) {
            throw new ModelLoadException("Cannot write safetensors file " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }
}

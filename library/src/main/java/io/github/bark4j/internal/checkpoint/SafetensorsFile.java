package io.github.bark4j.internal.checkpoint;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.ModelLoadException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a JSON header naming each
 * tensor's dtype, shape and byte range, then the raw data. Each tensor is memory-mapped on its own, so
 * files far beyond 2 GiB load without heap copies (only a single tensor must stay under 2 GiB, a limit
 * of Java's ByteBuffer).
 */
public final class SafetensorsFile implements TensorSource {
    private static final long MAX_HEADER_BYTES = 100L << 20;

    private record Entry(DType dtype, long[] shape, long begin, long end) {}

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, Entry> entries,
            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        FileChannel channel = TensorSource.openReadOnly(path);
        try {
            return parse(path, channel);
        } catch (RuntimeException | IOException e) {
            closeQuietly(channel);
            if (e instanceof ModelLoadException mle) {
                throw mle;
            }
            throw new ModelLoadException("Malformed safetensors file " + path + ": " + e.getMessage(), e);
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw new ModelLoadException("Malformed safetensors file " + path + ": only " + size + " bytes");
        }
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lenBuf, 0);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || 8 + headerLen > size) {
            throw new ModelLoadException("Malformed safetensors file " + path + ": header length "
                    + headerLen + " does not fit a file of " + size + " bytes");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLen);
        readFully(channel, header, 8);
        JsonElement root = JsonParser.parseString(new String(header.array(), StandardCharsets.UTF_8));
        if (!root.isJsonObject()) {
            throw new ModelLoadException("Malformed safetensors file " + path + ": header is not a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, Entry> entries = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.getAsJsonObject().entrySet()) {
            String name = e.getKey();
            if (name.equals("__metadata__")) {
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    metadata.put(m.getKey(), m.getValue().getAsString());
                }
                continue;
            }
            JsonObject t = e.getValue().getAsJsonObject();
            DType dtype = parseDType(path, name, t.get("dtype").getAsString());
            var shapeJson = t.getAsJsonArray("shape");
            long[] shape = new long[shapeJson.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeJson.get(i).getAsLong();
            }
            var offsets = t.getAsJsonArray("data_offsets");
            long begin = offsets.get(0).getAsLong();
            long end = offsets.get(1).getAsLong();
            if (begin < 0 || end < begin || end > dataSize) {
                throw new ModelLoadException("Malformed safetensors file " + path + ": tensor '" + name
                        + "' has byte range [" + begin + ", " + end + ") outside the " + dataSize + " data bytes");
            }
            long expected = Math.multiplyExact(RawTensor.numElements(shape), dtype.bytes);
            if (end - begin != expected) {
                throw new ModelLoadException("Malformed safetensors file " + path + ": tensor '" + name
                        + "' has " + (end - begin) + " bytes, its shape and dtype need " + expected);
            }
            entries.put(name, new Entry(dtype, shape, begin, end));
        }
        return new SafetensorsFile(path, channel, dataStart, entries, metadata);
    }

    private static DType parseDType(Path path, String name, String code) {
        switch (code) {
            case "F64": return DType.F64;
            case "F32": return DType.F32;
            case "F16": return DType.F16;
            case "BF16": return DType.BF16;
            case "I64": return DType.I64;
            case "I32": return DType.I32;
            case "I16": return DType.I16;
            case "I8": return DType.I8;
            case "U8": return DType.U8;
            case "U16": return DType.U16;
            case "U32": return DType.U32;
            case "U64": return DType.U64;
            case "BOOL": return DType.BOOL;
            default:
                throw new ModelLoadException("Unsupported dtype " + code + " for tensor '" + name + "' in " + path);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + buf.position());
            if (n < 0) {
                throw new ModelLoadException("Unexpected end of file");
            }
        }
        buf.flip();
    }

    Path path() {
        return path;
    }

    Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    @Override
    public RawTensor tensor(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new ModelLoadException("Tensor '" + name + "' is not in " + path);
        }
        long length = e.end - e.begin;
        if (length > Integer.MAX_VALUE) {
            throw new ModelLoadException("Tensor '" + name + "' in " + path + " is " + length
                    + " bytes; a single tensor must be under 2 GiB");
        }
        try {
            ByteBuffer mapped = length == 0
                    ? ByteBuffer.allocate(0)
                    : channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin, length);
            return new RawTensor(name, e.dtype, e.shape.clone(), mapped);
        } catch (IOException ex) {
            throw new ModelLoadException("Cannot map tensor '" + name + "' of " + path + ": " + ex.getMessage(), ex);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing useful to do: the file was only read
        }
    }
}

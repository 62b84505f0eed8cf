package io.github.bark4j.internal.io;

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

/**
 * The central directory of a zip file, read straight from a {@link FileChannel} so that members can
 * be memory-mapped in place. Understands zip64 (end-of-directory record and per-entry extra fields),
 * which PyTorch writes for checkpoints beyond 4 GiB. Only reads; never inflates large members.
 */
public final class ZipDirectory {
    public static final int METHOD_STORED = 0;
    public static final int METHOD_DEFLATED = 8;

    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int CEN_SIG = 0x02014b50;
    private static final int LOC_SIG = 0x04034b50;
    private static final int EOCD_LEN = 22;
    private static final int MAX_COMMENT = 0xFFFF;
    private static final long MAX_CENTRAL_DIR = 256L << 20;
    private static final long U32 = 0xFFFFFFFFL;
    private static final int U16 = 0xFFFF;

    /** One member as the central directory describes it. */
    public record Entry(String name, int method, int flags, long compressedSize, long size, long localHeaderOffset) {
        public boolean encrypted() {
            return (flags & 1) != 0;
        }
    }

    private final Path path;
    private final FileChannel channel;
    private final long fileSize;
    private final Map<String, Entry> entries;

    private ZipDirectory(Path path, FileChannel channel, long fileSize, Map<String, Entry> entries) {
        this.path = path;
        this.channel = channel;
        this.fileSize = fileSize;
        this.entries = entries;
    }

    /** Reads the directory; the channel stays owned by the caller. */
    public static ZipDirectory read(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < EOCD_LEN) {
            throw bad(path, "only " + size + " bytes, too short for a zip file");
        }
        int tailLen = (int) Math.min(size, EOCD_LEN + MAX_COMMENT);
        ByteBuffer tail = readAt(path, channel, size - tailLen, tailLen);
        int eocd = -1;
        for (int i = tailLen - EOCD_LEN; i >= 0; i--) {
            if (tail.getInt(i) == EOCD_SIG && i + EOCD_LEN + (tail.getShort(i + 20) & U16) == tailLen) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0) {
            throw bad(path, "no zip end-of-central-directory record (truncated, or not a zip file)");
        }
        long eocdPos = size - tailLen + eocd;
        long count = tail.getShort(eocd + 10) & U16;
        long cdSize = tail.getInt(eocd + 12) & U32;
        long cdOffset = tail.getInt(eocd + 16) & U32;
        if (count == U16 || cdSize == U32 || cdOffset == U32) {
            // zip64: a locator sits right before the classic record and points at the zip64 record
            if (eocdPos < 20) {
                throw bad(path, "zip64 fields are set but there is no zip64 locator");
            }
            ByteBuffer loc = readAt(path, channel, eocdPos - 20, 20);
            if (loc.getInt(0) != ZIP64_LOCATOR_SIG) {
                throw bad(path, "zip64 fields are set but there is no zip64 locator");
            }
            long z64Pos = loc.getLong(8);
            if (z64Pos < 0 || z64Pos > eocdPos - 20 - 56) {
                throw bad(path, "zip64 end record offset " + z64Pos + " lies outside the file");
            }
            ByteBuffer z64 = readAt(path, channel, z64Pos, 56);
            if (z64.getInt(0) != ZIP64_EOCD_SIG) {
                throw bad(path, "no zip64 end-of-central-directory record at offset " + z64Pos);
            }
            count = z64.getLong(32);
            cdSize = z64.getLong(40);
            cdOffset = z64.getLong(48);
        }
        if (cdOffset < 0 || cdSize < 0 || cdSize > MAX_CENTRAL_DIR || cdOffset + cdSize > eocdPos) {
            throw bad(path, "central directory [" + cdOffset + ", +" + cdSize + ") does not fit before its end record");
        }
        if (count < 0 || count > cdSize / 46) {
            throw bad(path, "central directory claims " + count + " entries in " + cdSize + " bytes");
        }
        ByteBuffer cd = readAt(path, channel, cdOffset, (int) cdSize);
        Map<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            if (p + 46 > cd.limit() || cd.getInt(p) != CEN_SIG) {
                throw bad(path, "central directory entry " + i + " is damaged");
            }
            int flags = cd.getShort(p + 8) & U16;
            int method = cd.getShort(p + 10) & U16;
            long compSize = cd.getInt(p + 20) & U32;
            long uncompSize = cd.getInt(p + 24) & U32;
            int nameLen = cd.getShort(p + 28) & U16;
            int extraLen = cd.getShort(p + 30) & U16;
            int commentLen = cd.getShort(p + 32) & U16;
            long localOffset = cd.getInt(p + 42) & U32;
            int nameStart = p + 46;
            int extraStart = nameStart + nameLen;
            int next = extraStart + extraLen + commentLen;
            if (next > cd.limit()) {
                throw bad(path, "central directory entry " + i + " runs past the directory");
            }
            byte[] nameBytes = new byte[nameLen];
            cd.get(nameStart, nameBytes);
            String name = new String(nameBytes, StandardCharsets.UTF_8);
            if (uncompSize == U32 || compSize == U32 || localOffset == U32) {
                long[] fixed = zip64Extra(path, name, cd, extraStart, extraLen,
                        uncompSize == U32, compSize == U32, localOffset == U32);
                if (uncompSize == U32) {
                    uncompSize = fixed[0];
                }
                if (compSize == U32) {
                    compSize = fixed[1];
                }
                if (localOffset == U32) {
                    localOffset = fixed[2];
                }
            }
            if (uncompSize < 0 || compSize < 0 || localOffset < 0 || localOffset + 30 > cdOffset) {
                throw bad(path, "entry " + name + " has sizes or offset outside the file");
            }
            if (entries.putIfAbsent(name, new Entry(name, method, flags, compSize, uncompSize, localOffset)) != null) {
                throw bad(path, "entry " + name + " appears twice");
            }
            p = next;
        }
        return new ZipDirectory(path, channel, size, entries);
    }

    /** Reads the zip64 extended-information field: the values present are those whose classic field is 0xFFFFFFFF. */
    private static long[] zip64Extra(Path path, String name, ByteBuffer cd, int start, int len,
            boolean needSize, boolean needComp, boolean needOffset) {
        int p = start;
        int end = start + len;
        while (p + 4 <= end) {
            int id = cd.getShort(p) & U16;
            int size = cd.getShort(p + 2) & U16;
            int data = p + 4;
            if (data + size > end) {
                break;
            }
            if (id == 0x0001) {
                long[] out = new long[3];
                int q = data;
                boolean[] need = {needSize, needComp, needOffset};
                for (int k = 0; k < 3; k++) {
                    if (need[k]) {
                        if (q + 8 > data + size) {
                            throw bad(path, "zip64 extra field of " + name + " is too short");
                        }
                        out[k] = cd.getLong(q);
                        q += 8;
                    }
                }
                return out;
            }
            p = data + size;
        }
        throw bad(path, "entry " + name + " needs a zip64 extra field but has none");
    }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public FileChannel channel() {
        return channel;
    }

    public Entry get(String name) {
        return entries.get(name);
    }

    /**
     * Where the member's bytes begin: after its local header, whose name and extra lengths may differ
     * from the central directory's (PyTorch pads the local extra field to align data to 64 bytes).
     */
    public long dataOffset(Entry e) throws IOException {
        ByteBuffer loc = readAt(path, channel, e.localHeaderOffset(), 30);
        if (loc.getInt(0) != LOC_SIG) {
            throw bad(path, "no local header for " + e.name() + " at offset " + e.localHeaderOffset());
        }
        long start = e.localHeaderOffset() + 30 + (loc.getShort(26) & U16) + (loc.getShort(28) & U16);
        if (start + e.compressedSize() > fileSize) {
            throw bad(path, "data of " + e.name() + " (" + e.compressedSize() + " bytes at " + start
                    + ") runs past the end of the " + fileSize + "-byte file");
        }
        return start;
    }

    public static ByteBuffer readAt(Path path, FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            int n = channel.read(buf, position + buf.position());
            if (n < 0) {
                throw bad(path, "unexpected end of file at offset " + (position + buf.position()));
            }
        }
        buf.flip();
        return buf;
    }

    private static ModelLoadException bad(Path path, String what) {
        return new ModelLoadException("Malformed PyTorch checkpoint " + path + ": " + what);
    }
}

package io.github.bark4j.internal.nativ;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads the dynamic symbol table ({@code .dynsym}) of a 64-bit little-endian ELF shared object,
 * the equivalent of {@code nm -D}. Used to check, before the native bridge is loaded, that the
 * libtorch in the process exports every function the bridge calls.
 */
public final class ElfDynamicSymbols {

    private static final int SHT_DYNSYM = 11;
    private static final int SYM_SIZE = 24;

    private final Set<String> defined;
    private final Set<String> undefined;

    private ElfDynamicSymbols(Set<String> defined, Set<String> undefined) {
        this.defined = defined;
        this.undefined = undefined;
    }

    /** Symbols the object defines (exports). */
    Set<String> defined() {
        return defined;
    }

    /** Symbols the object needs from other objects. */
    Set<String> undefined() {
        return undefined;
    }

    static ElfDynamicSymbols read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer header = readAt(ch, 0, 64);
            if (header.getInt(0) != 0x464c457f) { // "\x7fELF" read little-endian
                throw new IOException(file + " is not an ELF file");
            }
            if (header.get(4) != 2 || header.get(5) != 1) {
                throw new IOException(file + " is not a 64-bit little-endian ELF file");
            }
            long shoff = header.getLong(0x28);
            int shentsize = Short.toUnsignedInt(header.getShort(0x3A));
            int shnum = Short.toUnsignedInt(header.getShort(0x3C));
            if (shoff <= 0 || shentsize < 64 || shnum == 0) {
                throw new IOException(file + " has no section headers");
            }
            ByteBuffer sections = readAt(ch, shoff, (long) shentsize * shnum);
            for (int i = 0; i < shnum; i++) {
                int base = i * shentsize;
                if (sections.getInt(base + 4) != SHT_DYNSYM) {
                    continue;
                }
                long symOffset = sections.getLong(base + 0x18);
                long symSize = sections.getLong(base + 0x20);
                int link = sections.getInt(base + 0x28);
                if (link < 0 || link >= shnum) {
                    throw new IOException(file + ": bad .dynsym string table link");
                }
                int strBase = link * shentsize;
                ByteBuffer strtab =
                        readAt(ch, sections.getLong(strBase + 0x18), sections.getLong(strBase + 0x20));
                ByteBuffer syms = readAt(ch, symOffset, symSize);
                Set<String> defined = new HashSet<>();
                Set<String> undefined = new HashSet<>();
                for (int s = SYM_SIZE; s + SYM_SIZE <= symSize; s += SYM_SIZE) { // 0 is the null symbol
                    String name = cString(strtab, syms.getInt(s));
                    if (name.isEmpty()) {
                        continue;
                    }
                    int shndx = Short.toUnsignedInt(syms.getShort(s + 6));
                    (shndx == 0 ? undefined : defined).add(name);
                }
                return new ElfDynamicSymbols(defined, undefined);
            }
            throw new IOException(file + " has no dynamic symbol table");
        }
    }

    private static ByteBuffer readAt(FileChannel ch, long offset, long length) throws IOException {
        if (offset < 0 || length < 0 || length > Integer.MAX_VALUE || offset + length > ch.size()) {
            throw new IOException("ELF section out of file bounds");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            if (ch.read(buf, offset + buf.position()) < 0) {
                throw new IOException("unexpected end of ELF file");
            }
        }
        return buf.flip();
    }

    private static String cString(ByteBuffer strtab, int offset) throws IOException {
        if (offset < 0 || offset >= strtab.limit()) {
            throw new IOException("ELF symbol name out of string table");
        }
        int end = offset;
        while (end < strtab.limit() && strtab.get(end) != 0) {
            end++;
        }
        byte[] bytes = new byte[end - offset];
        strtab.get(offset, bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}

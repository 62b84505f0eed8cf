package io.github.bark4j.internal.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes zip files by hand in the layout torch.save produces ({@code archive/data.pkl},
 * {@code archive/data/<key>}, {@code archive/byteorder}, {@code archive/version}), with the knobs the
 * tests need: local extra-field padding so data starts 64-byte aligned (as PyTorch's writer does),
 * forced zip64 records and extra fields, and deflated members.
 */
final class TorchZip {
    private record Member(String name, byte[] data, boolean deflate) {}

    private final List<Member> members = new ArrayList<>();
    private boolean zip64;
    private boolean align = true;

    static TorchZip checkpoint(String archive, byte[] pickle) {
        TorchZip z = new TorchZip();
        z.add(archive + "/data.pkl", pickle);
        z.add(archive + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        return z;
    }

    TorchZip add(String name, byte[] data) {
        members.add(new Member(name, data, false));
        return this;
    }

    TorchZip addDeflated(String name, byte[] data) {
        members.add(new Member(name, data, true));
        return this;
    }

    TorchZip zip64(boolean on) {
        zip64 = on;
        return this;
    }

    TorchZip align(boolean on) {
        align = on;
        return this;
    }

    Path write(Path file) throws IOException {
        Files.write(file, bytes());
        return file;
    }

    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream cd = new ByteArrayOutputStream();
        for (Member m : members) {
            byte[] name = m.name.getBytes(StandardCharsets.UTF_8);
            byte[] stored = m.deflate ? deflate(m.data) : m.data;
            CRC32 crc = new CRC32();
            crc.update(m.data);
            long offset = out.size();

            ByteArrayOutputStream localExtra = new ByteArrayOutputStream();
            if (zip64) {
                le(localExtra, 1, 2);
                le(localExtra, 16, 2);
                le(localExtra, m.data.length, 8);
                le(localExtra, stored.length, 8);
            }
            if (align) {
                long dataAt = offset + 30 + name.length + localExtra.size() + 4;
                int pad = (int) ((64 - dataAt % 64) % 64);
                le(localExtra, 0x4246, 2); // "FB", as PyTorch's writer uses
                le(localExtra, pad, 2);
                localExtra.writeBytes(new byte[pad]);
            }
            le(out, 0x04034b50, 4);
            le(out, zip64 ? 45 : 20, 2);
            le(out, 0, 2);
            le(out, m.deflate ? 8 : 0, 2);
            le(out, 0, 4); // time, date
            le(out, crc.getValue(), 4);
            le(out, zip64 ? 0xFFFFFFFFL : stored.length, 4);
            le(out, zip64 ? 0xFFFFFFFFL : m.data.length, 4);
            le(out, name.length, 2);
            le(out, localExtra.size(), 2);
            out.writeBytes(name);
            out.writeBytes(localExtra.toByteArray());
            out.writeBytes(stored);

            ByteArrayOutputStream centralExtra = new ByteArrayOutputStream();
            if (zip64) {
                le(centralExtra, 1, 2);
                le(centralExtra, 24, 2);
                le(centralExtra, m.data.length, 8);
                le(centralExtra, stored.length, 8);
                le(centralExtra, offset, 8);
            }
            le(cd, 0x02014b50, 4);
            le(cd, zip64 ? 45 : 20, 2);
            le(cd, zip64 ? 45 : 20, 2);
            le(cd, 0, 2);
            le(cd, m.deflate ? 8 : 0, 2);
            le(cd, 0, 4);
            le(cd, crc.getValue(), 4);
            le(cd, zip64 ? 0xFFFFFFFFL : stored.length, 4);
            le(cd, zip64 ? 0xFFFFFFFFL : m.data.length, 4);
            le(cd, name.length, 2);
            le(cd, centralExtra.size(), 2);
            le(cd, 0, 2); // comment
            le(cd, 0, 2); // disk
            le(cd, 0, 2); // internal attributes
            le(cd, 0, 4); // external attributes
            le(cd, zip64 ? 0xFFFFFFFFL : offset, 4);
            cd.writeBytes(name);
            cd.writeBytes(centralExtra.toByteArray());
        }
        long cdOffset = out.size();
        out.writeBytes(cd.toByteArray());
        if (zip64) {
            long z64 = out.size();
            le(out, 0x06064b50, 4);
            le(out, 44, 8);
            le(out, 45, 2);
            le(out, 45, 2);
            le(out, 0, 4);
            le(out, 0, 4);
            le(out, members.size(), 8);
            le(out, members.size(), 8);
            le(out, cd.size(), 8);
            le(out, cdOffset, 8);
            le(out, 0x07064b50, 4);
            le(out, 0, 4);
            le(out, z64, 8);
            le(out, 1, 4);
        }
        le(out, 0x06054b50, 4);
        le(out, 0, 2);
        le(out, 0, 2);
        le(out, zip64 ? 0xFFFF : members.size(), 2);
        le(out, zip64 ? 0xFFFF : members.size(), 2);
        le(out, zip64 ? 0xFFFFFFFFL : cd.size(), 4);
        le(out, zip64 ? 0xFFFFFFFFL : cdOffset, 4);
        le(out, 0, 2);
        return out.toByteArray();
    }

    private static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        while (!d.finished()) {
            out.write(buf, 0, d.deflate(buf));
        }
        d.end();
        return out.toByteArray();
    }

    private static void le(ByteArrayOutputStream out, long v, int n) {
        for (int i = 0; i < n; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
    }
}

package io.github.bark4j.internal.checkpoint;

import io.github.bark4j.ModelLoadException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * NumPy {@code .npy} arrays and {@code .npz} archives (a zip of {@code .npy} members, stored or
 * deflated). Big-endian and Fortran-ordered arrays are converted to little-endian C order, so every
 * result is a plain {@link RawTensor}. Object arrays (pickles) are refused.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final long MAX_MEMBER_BYTES = Integer.MAX_VALUE - 64;

    private Npy() {}

    /** Reads one {@code .npy} file. */
    public static RawTensor read(Path path) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException("File not found: " + path);
        } catch (IOException e) {
            throw new ModelLoadException("Cannot read " + path + ": " + e.getMessage(), e);
        }
        String name = path.getFileName().toString();
        return parse(name.endsWith(".npy") ? name.substring(0, name.length() - 4) : name, bytes, path.toString());
    }

    /** Reads every array of an {@code .npz} archive, keyed by member name without {@code .npy}. */
    public static Map<String, RawTensor> readNpz(Path path) {
        if (!Files.isRegularFile(path)) {
            throw new ModelLoadException("File not found: " + path);
        }
        Map<String, RawTensor> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(path.toFile())) {
            List<? extends ZipEntry> members = new ArrayList<>(java.util.Collections.list(zip.entries()));
            for (ZipEntry entry : members) {
                if (entry.isDirectory()) {
                    continue;
                }
                String member = entry.getName();
                if (entry.getSize() > MAX_MEMBER_BYTES) {
                    throw new ModelLoadException("Array " + member + " in " + path + " is too large");
                }
                byte[] bytes;
                try (InputStream in = zip.getInputStream(entry)) {
                    bytes = in.readNBytes((int) Math.min(MAX_MEMBER_BYTES, Math.max(entry.getSize(), 0) + 1));
                    if (entry.getSize() < 0 && in.read() != -1) {
                        throw new ModelLoadException("Array " + member + " in " + path + " is too large");
                    }
                }
                String key = member.endsWith(".npy") ? member.substring(0, member.length() - 4) : member;
                out.put(key, parse(key, bytes, path + "!" + member));
            }
        } catch (ZipException e) {
            throw new ModelLoadException("Not a valid .npz (zip) file: " + path + " (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new ModelLoadException("Cannot read " + path + ": " + e.getMessage(), e);
        }
        return out;
    }

    static RawTensor parse(String name, byte[] bytes, String where) {
        if (bytes.length < 10) {
            throw new ModelLoadException("Not a .npy array (too short): " + where);
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw new ModelLoadException("Not a .npy array (bad magic): " + where);
            }
        }
        int major = bytes[6] & 0xFF;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(b.getShort(8));
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) {
                throw new ModelLoadException("Not a .npy array (too short): " + where);
            }
            headerLen = Integer.toUnsignedLong(b.getInt(8));
            headerStart = 12;
        } else {
            throw new ModelLoadException("Unsupported .npy version " + major + ": " + where);
        }
        if (headerStart + headerLen > bytes.length) {
            throw new ModelLoadException("Truncated .npy header: " + where);
        }
        String header = new String(bytes, headerStart, (int) headerLen,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher descrM = DESCR.matcher(header);
        Matcher fortranM = FORTRAN.matcher(header);
        Matcher shapeM = SHAPE.matcher(header);
        if (!descrM.find() || !fortranM.find() || !shapeM.find()) {
            throw new ModelLoadException("Malformed .npy header '" + header.trim() + "': " + where);
        }
        String descr = descrM.group(1);
        boolean fortran = fortranM.group(1).equals("True");
        long[] shape = parseShape(shapeM.group(1), where);
        char order = descr.charAt(0);
        DType dtype = parseDescr(descr.substring(1), where);
        if (order == '>' && dtype.bytes > 1) {
            // converted below
        } else if (order != '<' && order != '|' && order != '=') {
            throw new ModelLoadException("Unsupported .npy byte order in '" + descr + "': " + where);
        }
        long dataBytes;
        try {
            dataBytes = Math.multiplyExact(RawTensor.numElements(shape), (long) dtype.bytes);
        } catch (ModelLoadException | ArithmeticException e) {
            throw new ModelLoadException("Malformed .npy shape " + java.util.Arrays.toString(shape) + " of " + descr
                    + " (" + (e instanceof ArithmeticException ? "too many elements" : e.getMessage()) + "): "
                    + where);
        }
        int dataStart = (int) (headerStart + headerLen);
        if (dataStart + dataBytes > bytes.length) {
            throw new ModelLoadException("Truncated .npy data: " + where + " needs " + dataBytes
                    + " bytes for shape " + java.util.Arrays.toString(shape) + " of " + descr);
        }
        byte[] data = java.util.Arrays.copyOfRange(bytes, dataStart, (int) (dataStart + dataBytes));
        if (order == '>' && dtype.bytes > 1) {
            swapBytes(data, dtype.bytes);
        }
        if (fortran && shape.length > 1) {
            data = fortranToC(data, shape, dtype.bytes);
        }
        return new RawTensor(name, dtype, shape, ByteBuffer.wrap(data));
    }

    private static long[] parseShape(String s, String where) {
        List<Long> dims = new ArrayList<>();
        for (String part : s.split(",")) {
            String t = part.trim();
            if (t.isEmpty()) {
                continue;
            }
            if (t.endsWith("L")) {
                t = t.substring(0, t.length() - 1);
            }
            try {
                dims.add(Long.parseLong(t));
            } catch (NumberFormatException e) {
                throw new ModelLoadException("Malformed .npy shape '(" + s + ")': " + where);
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    private static DType parseDescr(String code, String where) {
        switch (code) {
            case "f8": return DType.F64;
            case "f4": return DType.F32;
            case "f2": return DType.F16;
            case "i8": return DType.I64;
            case "i4": return DType.I32;
            case "i2": return DType.I16;
            case "i1": return DType.I8;
            case "u1": return DType.U8;
            case "u2": return DType.U16;
            case "u4": return DType.U32;
            case "u8": return DType.U64;
            case "b1": return DType.BOOL;
            default:
                throw new ModelLoadException("Unsupported .npy dtype '" + code + "' (object or structured"
                        + " arrays are not accepted): " + where);
        }
    }

    private static void swapBytes(byte[] data, int width) {
        for (int i = 0; i < data.length; i += width) {
            for (int a = i, z = i + width - 1; a < z; a++, z--) {
                byte t = data[a];
                data[a] = data[z];
                data[z] = t;
            }
        }
    }

    private static byte[] fortranToC(byte[] data, long[] shape, int width) {
        int rank = shape.length;
        int n = data.length / width;
        byte[] out = new byte[data.length];
        int[] idx = new int[rank];
        // Walk C-order destination indices; the Fortran source offset uses reversed strides.
        long[] fStride = new long[rank];
        long s = 1;
        for (int d = 0; d < rank; d++) {
            fStride[d] = s;
            s *= shape[d];
        }
        for (int i = 0; i < n; i++) {
            long src = 0;
            for (int d = 0; d < rank; d++) {
                src += idx[d] * fStride[d];
            }
            System.arraycopy(data, (int) src * width, out, i * width, width);
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
        return out;
    }

    /** Writes an int64 or float64 array as {@code .npy} v1 bytes (used to save voice presets). */
    public static byte[] write(long[] shape, DType dtype, ByteBuffer littleEndianData) {
        String descr;
        switch (dtype) {
            case I64: descr = "<i8"; break;
            case I32: descr = "<i4"; break;
            case F64: descr = "<f8"; break;
            case F32: descr = "<f4"; break;
            default: throw new IllegalArgumentException("Unsupported dtype for writing: " + dtype);
        }
        StringBuilder shapeStr = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            shapeStr.append(shape[i]).append(shape.length == 1 ? "," : (i < shape.length - 1 ? ", " : ""));
        }
        shapeStr.append(")");
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeStr + ", }";
        int unpadded = 10 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer data = littleEndianData.duplicate();
        ByteBuffer out = ByteBuffer.allocate(10 + header.length() + data.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.put(header.getBytes(StandardCharsets.ISO_8859_1));
        out.put(data);
        return out.array();
    }

}

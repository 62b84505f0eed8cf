package io.github.bark4j.internal.checkpoint;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.RestrictedUnpickler.Dict;
import io.github.bark4j.internal.checkpoint.RestrictedUnpickler.StorageRef;
import io.github.bark4j.internal.checkpoint.RestrictedUnpickler.TensorRef;
import io.github.bark4j.internal.io.ZipDirectory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A state dict saved by {@code torch.save} (PyTorch 1.6+ zip format, e.g. {@code pytorch_model.bin}).
 * The zip holds {@code <archive>/data.pkl}, a pickle naming each tensor and the storage it views, and
 * one uncompressed member {@code <archive>/data/<key>} per storage. The pickle is read by
 * {@link RestrictedUnpickler}, which executes nothing and refuses every global beyond the tensor
 * rebuild functions; storages are memory-mapped in place, tensor by tensor, so multi-gigabyte files
 * (zip64 included) load without heap copies. Tensors sharing a storage (tied weights) each come out
 * under their own name. BF16 stays BF16; big-endian checkpoints are refused.
 */
public final class PyTorchCheckpoint implements TensorSource {
    private static final long MAX_PICKLE_BYTES = 512L << 20;

    private record Tensor(DType dtype, long[] shape, long[] stride, long storageStart, long offset) {}

    private final Path path;
    private final FileChannel channel;
    private final Map<String, Tensor> tensors;

    private PyTorchCheckpoint(Path path, FileChannel channel, Map<String, Tensor> tensors) {
        this.path = path;
        this.channel = channel;
        this.tensors = tensors;
    }

    public static PyTorchCheckpoint open(Path path) {
        FileChannel channel = TensorSource.openReadOnly(path);
        try {
            return new PyTorchCheckpoint(path, channel, parse(path, channel));
        } catch (RuntimeException | IOException e) {
            closeQuietly(channel);
            if (e instanceof ModelLoadException mle) {
                throw mle;
            }
            throw bad(path, e.toString(), e);
        }
    }

    private static Map<String, Tensor> parse(Path path, FileChannel channel) throws IOException {
        ZipDirectory zip;
        try {
            zip = ZipDirectory.read(path, channel);
        } catch (ModelLoadException e) {
            if (channel.size() >= 2 && ZipDirectory.readAt(path, channel, 0, 2).get(0) == (byte) 0x80) {
                throw bad(path, "this is a legacy (pre-1.6) torch.save file, not a zip checkpoint; re-save it with a"
                        + " current PyTorch or convert it to safetensors", null);
            }
            throw e;
        }
        String prefix = null;
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                if (prefix != null) {
                    throw bad(path, "holds more than one data.pkl", null);
                }
                prefix = name.substring(0, slash + 1);
            }
        }
        if (prefix == null) {
            throw bad(path, "the zip has no <archive>/data.pkl, so it is not a torch.save checkpoint", null);
        }
        checkByteOrder(path, zip, prefix);
        byte[] pickle = readSmallEntry(path, zip, zip.get(prefix + "data.pkl"));

        // Unpickle before touching any storage: a hostile pickle is refused first.
        Object root = RestrictedUnpickler.load(pickle, path.toString());
        if (!(root instanceof Dict dict)) {
            throw bad(path, "the pickle holds " + RestrictedUnpickler.describe(root)
                    + ", not a state dict of tensors", null);
        }
        Map<String, Long> storageStarts = new HashMap<>();
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw bad(path, "the state dict has a key " + RestrictedUnpickler.describe(e.getKey())
                        + " that is not a string", null);
            }
            if (!(e.getValue() instanceof TensorRef ref)) {
                throw bad(path, "state dict entry '" + name + "' is " + RestrictedUnpickler.describe(e.getValue())
                        + ", not a tensor", null);
            }
            StorageRef s = ref.storage();
            String member = prefix + "data/" + s.key();
            ZipDirectory.Entry entry = zip.get(member);
            if (entry == null) {
                throw bad(path, "tensor '" + name + "' uses storage '" + s.key() + "' but the zip has no " + member, null);
            }
            if (entry.method() != ZipDirectory.METHOD_STORED || entry.encrypted()) {
                throw bad(path, "storage " + member + " is " + (entry.encrypted() ? "encrypted" : "compressed (method "
                        + entry.method() + ")") + "; torch.save stores storages uncompressed so they can be"
                        + " memory-mapped. Re-save the checkpoint with torch.save", null);
            }
            long storageBytes = Math.multiplyExact(s.numel(), (long) s.dtype().bytes);
            if (entry.size() != storageBytes || entry.compressedSize() != storageBytes) {
                throw bad(path, "storage " + member + " holds " + entry.size() + " bytes but the pickle declares "
                        + s.numel() + " elements of " + s.dtype() + " (" + storageBytes + " bytes)", null);
            }
            checkBounds(path, name, ref);
            long count;
            try {
                count = RawTensor.numElements(ref.size());
            } catch (ArithmeticException ex) {
                throw bad(path, "tensor '" + name + "' has size " + Arrays.toString(ref.size())
                        + ", more elements than a 64-bit count holds", ex);
            }
            if (count > Integer.MAX_VALUE / s.dtype().bytes) {
                throw bad(path, "tensor '" + name + "' has " + count + " elements of " + s.dtype()
                        + "; a single tensor must be under 2 GiB", null);
            }
            Long start = storageStarts.get(member);
            if (start == null) {
                start = zip.dataOffset(entry);
                storageStarts.put(member, start);
            }
            out.put(name, new Tensor(s.dtype(), ref.size().clone(), ref.stride().clone(), start, ref.offset()));
        }
        return out;
    }

    private static void checkBounds(Path path, String name, TensorRef ref) {
        long numel = ref.storage().numel();
        long[] size = ref.size();
        long[] stride = ref.stride();
        long offset = ref.offset();
        long last = offset; // highest element index the view touches
        boolean empty = false;
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || stride[i] < 0) {
                throw bad(path, "tensor '" + name + "' has size " + Arrays.toString(size) + " and stride "
                        + Arrays.toString(stride) + "; negative values are not valid", null);
            }
            if (size[i] == 0) {
                empty = true;
            } else {
                last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
            }
        }
        if (offset < 0 || (empty ? offset > numel : last >= numel)) {
            throw bad(path, "tensor '" + name + "' (offset " + offset + ", size " + Arrays.toString(size) + ", stride "
                    + Arrays.toString(stride) + ") reaches past the end of its storage of " + numel + " elements", null);
        }
    }

    private static void checkByteOrder(Path path, ZipDirectory zip, String prefix) throws IOException {
        ZipDirectory.Entry e = zip.get(prefix + "byteorder");
        if (e == null) {
            return; // written since PyTorch 1.13; older files are little-endian
        }
        if (e.size() > 16) {
            throw bad(path, "its byteorder member is " + e.size() + " bytes long", null);
        }
        String order = new String(readSmallEntry(path, zip, e), StandardCharsets.US_ASCII).trim();
        if (order.equals("big")) {
            throw bad(path, "it was saved on a big-endian machine (byteorder 'big'); only little-endian"
                    + " checkpoints are supported. Re-save it on a little-endian machine or convert it to safetensors", null);
        }
        if (!order.equals("little")) {
            throw bad(path, "its byteorder member says '" + order + "', expected 'little'", null);
        }
    }

    /**
     * Reads a small member (data.pkl, byteorder, a quantizer's .info) into memory, inflating it if
     * needed.
     */
    public static byte[] readSmallEntry(Path path, ZipDirectory zip, ZipDirectory.Entry e) throws IOException {
        if (e.encrypted()) {
            throw bad(path, e.name() + " is encrypted", null);
        }
        if (e.size() > MAX_PICKLE_BYTES || e.compressedSize() > MAX_PICKLE_BYTES) {
            throw bad(path, e.name() + " is " + e.size() + " bytes, more than a state dict pickle should be", null);
        }
        ByteBuffer raw = ZipDirectory.readAt(path, zip.channel(), zip.dataOffset(e), (int) e.compressedSize());
        if (e.method() == ZipDirectory.METHOD_STORED) {
            if (e.size() != e.compressedSize()) {
                throw bad(path, e.name() + " is stored but its sizes differ", null);
            }
            return raw.array();
        }
        if (e.method() != ZipDirectory.METHOD_DEFLATED) {
            throw bad(path, e.name() + " uses unsupported zip compression method " + e.method(), null);
        }
        if (e.size() > e.compressedSize() * 1032 + 1024) {
            throw bad(path, e.name() + " claims to inflate from " + e.compressedSize() + " to " + e.size()
                    + " bytes, beyond what deflate can do", null);
        }
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(raw.array());
            byte[] out = new byte[(int) e.size()];
            int n = 0;
            while (n < out.length && !inflater.finished()) {
                int got = inflater.inflate(out, n, out.length - n);
                if (got == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += got;
            }
            if (n != out.length) {
                throw bad(path, e.name() + " inflates to " + n + " bytes, expected " + out.length, null);
            }
            return out;
        } catch (DataFormatException ex) {
            throw bad(path, e.name() + " is not valid deflate data: " + ex.getMessage(), ex);
        } finally {
            inflater.end();
        }
    }

    private static ModelLoadException bad(Path path, String what, Throwable cause) {
        return new ModelLoadException("Malformed PyTorch checkpoint " + path + ": " + what, cause);
    }

    Path path() {
        return path;
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    @Override
    public RawTensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new ModelLoadException("Tensor '" + name + "' is not in " + path);
        }
        int es = t.dtype().bytes;
        long count = RawTensor.numElements(t.shape());
        try {
            if (count == 0) {
                return new RawTensor(name, t.dtype(), t.shape().clone(), ByteBuffer.allocate(0));
            }
            if (isContiguous(t.shape(), t.stride())) {
                ByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY,
                        t.storageStart() + t.offset() * es, count * es);
                return new RawTensor(name, t.dtype(), t.shape().clone(), mapped);
            }
            // a view that repeats its storage (stride 0) would be materialized on the heap: a few bytes of
            // file must not make bark4j allocate gigabytes, so no view may grow beyond the whole file
            if (count * es > channel.size()) {
                throw new ModelLoadException("Tensor '" + name + "' of " + path + " is a strided view of "
                        + count * es + " bytes, more than the " + channel.size() + "-byte file holds;"
                        + " a strided tensor must stay under 2 GiB and within the file: save the checkpoint"
                        + " with contiguous tensors (e.g. .contiguous().clone())");
            }
            return new RawTensor(name, t.dtype(), t.shape().clone(), gather(t, count));
        } catch (IOException ex) {
            throw new ModelLoadException("Cannot map tensor '" + name + "' of " + path + ": " + ex.getMessage(), ex);
        }
    }

    static boolean isContiguous(long[] shape, long[] stride) {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** Copies a strided view into a contiguous row-major buffer. */
    private ByteBuffer gather(Tensor t, long count) throws IOException {
        int es = t.dtype().bytes;
        long[] shape = t.shape();
        long[] stride = t.stride();
        long span = 1; // elements from the first to the last one the view touches
        for (int i = 0; i < shape.length; i++) {
            span += (shape[i] - 1) * stride[i];
        }
        if (span * es > Integer.MAX_VALUE) {
            throw new ModelLoadException("Tensor view in " + path + " spans " + span * es
                    + " bytes of its storage; a strided tensor must span under 2 GiB");
        }
        ByteBuffer src = channel.map(FileChannel.MapMode.READ_ONLY, t.storageStart() + t.offset() * es, span * es);
        ByteBuffer dst = ByteBuffer.allocate((int) (count * es)).order(ByteOrder.LITTLE_ENDIAN);
        long[] index = new long[shape.length];
        long at = 0; // element offset within src
        byte[] element = new byte[es];
        for (long n = 0; n < count; n++) {
            src.get((int) (at * es), element);
            dst.put(element);
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    at += stride[d];
                    break;
                }
                at -= (shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
        dst.flip();
        return dst;
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // only read
        }
    }
}

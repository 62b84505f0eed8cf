package io.github.bark4j.internal.checkpoint;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes pickle opcodes by hand, in the form torch.save's protocol-2 pickler uses. */
final class PickleBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static PickleBytes proto2() {
        return new PickleBytes().op(0x80).op(2);
    }

    PickleBytes op(int opcode) {
        out.write(opcode);
        return this;
    }

    PickleBytes raw(byte[] b) {
        out.writeBytes(b);
        return this;
    }

    PickleBytes mark() {
        return op('(');
    }

    PickleBytes global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op('X').le(b.length, 4).raw(b);
    }

    PickleBytes shortStr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op(0x8c).op(b.length).raw(b);
    }

    PickleBytes integer(long v) {
        if (v >= 0 && v < 256) {
            return op('K').op((int) v);
        }
        if (v >= 0 && v < 65536) {
            return op('M').le(v, 2);
        }
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            return op('J').le(v, 4);
        }
        return op(0x8a).op(8).le(v, 8);
    }

    PickleBytes put(int memo) {
        return memo < 256 ? op('q').op(memo) : op('r').le(memo, 4);
    }

    PickleBytes get(int memo) {
        return memo < 256 ? op('h').op(memo) : op('j').le(memo, 4);
    }

    PickleBytes orderedDict() {
        return global("collections", "OrderedDict").op(')').op('R');
    }

    PickleBytes tuple(long... values) {
        mark();
        for (long v : values) {
            integer(v);
        }
        return op('t');
    }

    /** {@code _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())}. */
    PickleBytes tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).op('t').op('Q');
        integer(offset).tuple(size).tuple(stride).op(0x89).orderedDict();
        return op('t').op('R');
    }

    PickleBytes stop() {
        return op('.');
    }

    private PickleBytes le(long v, int n) {
        for (int i = 0; i < n; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}

package io.github.bark4j.internal.checkpoint;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.UnsafeCheckpointException;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the pickle inside a PyTorch checkpoint ({@code data.pkl}) without executing anything. Only
 * the opcodes {@code torch.save} emits are understood, and a global may only name a class or function
 * on a short allow-list ({@code collections.OrderedDict}, the tensor rebuild functions and the typed
 * storage classes). The result is a tree of plain Java values: {@link String}, {@link Long},
 * {@link Double}, {@link Boolean}, {@code byte[]}, {@link #NONE}, {@link ArrayList} (list),
 * {@link Tuple}, {@link Dict}, {@link StorageRef} and {@link TensorRef}.
 *
 * <p>Any other global, any REDUCE/BUILD on something that is not allow-listed, and the opcodes that
 * instantiate arbitrary classes (INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*) raise
 * {@link UnsafeCheckpointException} as soon as they are read, before any tensor is touched.
 */
public final class RestrictedUnpickler {

    /** Python's None (the stack cannot hold Java null). */
    enum None { NONE }

    static final None NONE = None.NONE;

    /** A Python tuple. */
    record Tuple(List<Object> items) {
        Tuple {
            items = List.copyOf(items);
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** A Python dict; {@code ordered} marks one made by {@code collections.OrderedDict()}. */
    static final class Dict extends LinkedHashMap<Object, Object> {
        private static final long serialVersionUID = 1L;
        final boolean ordered;

        Dict(boolean ordered) {
            this.ordered = ordered;
        }
    }

    /** A global that passed the allow-list. */
    record Global(String module, String name, Kind kind, DType storageType) {
        String qualified() {
            return module + "." + name;
        }
    }

    enum Kind { ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE, STORAGE }

    /** A persistent id {@code ('storage', torch.XStorage, key, location, numel)}. */
    record StorageRef(DType dtype, String key, String location, long numel) {}

    /** The result of {@code _rebuild_tensor_v2}: a strided view of a storage. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private static final Map<String, Global> ALLOWED = new HashMap<>();

    static {
        allow("collections", "OrderedDict", Kind.ORDERED_DICT, null);
        allow("torch._utils", "_rebuild_tensor_v2", Kind.REBUILD_TENSOR, null);
        allow("torch._utils", "_rebuild_parameter", Kind.REBUILD_PARAMETER, null);
        allow("torch._utils", "_rebuild_parameter_with_state", Kind.REBUILD_PARAMETER_WITH_STATE, null);
        allow("torch", "DoubleStorage", Kind.STORAGE, DType.F64);
        allow("torch", "FloatStorage", Kind.STORAGE, DType.F32);
        allow("torch", "HalfStorage", Kind.STORAGE, DType.F16);
        allow("torch", "BFloat16Storage", Kind.STORAGE, DType.BF16);
        allow("torch", "LongStorage", Kind.STORAGE, DType.I64);
        allow("torch", "IntStorage", Kind.STORAGE, DType.I32);
        allow("torch", "ShortStorage", Kind.STORAGE, DType.I16);
        allow("torch", "CharStorage", Kind.STORAGE, DType.I8);
        allow("torch", "ByteStorage", Kind.STORAGE, DType.U8);
        allow("torch", "BoolStorage", Kind.STORAGE, DType.BOOL);
    }

    private static void allow(String module, String name, Kind kind, DType dtype) {
        ALLOWED.put(module + "." + name, new Global(module, name, kind, dtype));
    }

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private final byte[] in;
    private final String source;
    private int pos;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private RestrictedUnpickler(byte[] in, String source) {
        this.in = in;
        this.source = source;
    }

    /**
     * Unpickles {@code data}; {@code source} names the file in error messages.
     *
     * @throws UnsafeCheckpointException for anything outside the allow-list
     * @throws ModelLoadException for malformed or unsupported pickles
     */
    public static Object load(byte[] data, String source) {
        RestrictedUnpickler u = new RestrictedUnpickler(data, source);
        try {
            return u.run();
        } catch (ModelLoadException e) {
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            // defensive: no index or cast exception may leak out of a hostile or damaged pickle
            throw u.bad("cannot be read at byte " + u.pos + " (" + e + ")");
        }
    }

    private Object run() {
        while (true) {
            if (pos >= in.length) {
                throw bad("ends at byte " + pos + " without a STOP opcode (truncated?)");
            }
            int at = pos;
            int op = in[pos++] & 0xFF;
            switch (op) {
                case 0x80: { // PROTO
                    int proto = u8();
                    if (proto > 5) {
                        throw bad("uses pickle protocol " + proto + ", which is not supported");
                    }
                    break;
                }
                case 0x95: // FRAME: an 8-byte length hint, the frame contents follow inline
                    need(8);
                    pos += 8;
                    break;
                case '.': // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw bad("stops with " + stack.size() + " values on the stack instead of one");
                    }
                    Object result = stack.get(0);
                    if (result == MARK) {
                        throw bad("stops on a MARK");
                    }
                    return result;
                case '(': // MARK
                    marks.add(stack.size());
                    stack.add(MARK);
                    break;
                case '0': // POP
                    pop();
                    break;
                case '1': // POP_MARK
                    popMark();
                    break;
                case '2': // DUP
                    push(peek());
                    break;
                case '}': // EMPTY_DICT
                    push(new Dict(false));
                    break;
                case ']': // EMPTY_LIST
                    push(new ArrayList<>());
                    break;
                case ')': // EMPTY_TUPLE
                    push(new Tuple(List.of()));
                    break;
                case 'N':
                    push(NONE);
                    break;
                case 0x88: // NEWTRUE
                    push(Boolean.TRUE);
                    break;
                case 0x89: // NEWFALSE
                    push(Boolean.FALSE);
                    break;
                case 'J': // BININT
                    push((long) i32());
                    break;
                case 'K': // BININT1
                    push((long) u8());
                    break;
                case 'M': // BININT2
                    push((long) u16());
                    break;
                case 0x8a: // LONG1
                    push(long1());
                    break;
                case 'G': // BINFLOAT (big-endian double)
                    need(8);
                    long bits = 0;
                    for (int i = 0; i < 8; i++) {
                        bits = (bits << 8) | (in[pos++] & 0xFF);
                    }
                    push(Double.longBitsToDouble(bits));
                    break;
                case 'X': // BINUNICODE
                    push(utf8(u32AsInt()));
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    push(utf8(u8()));
                    break;
                case 'T': // BINSTRING (Python 2 str)
                    push(latin1(u32AsInt()));
                    break;
                case 'U': // SHORT_BINSTRING
                    push(latin1(u8()));
                    break;
                case 'B': // BINBYTES
                    push(bytes(u32AsInt()));
                    break;
                case 'C': // SHORT_BINBYTES
                    push(bytes(u8()));
                    break;
                case 't': // TUPLE
                    push(new Tuple(popMark()));
                    break;
                case 0x85: // TUPLE1
                    push(tupleOf(1));
                    break;
                case 0x86: // TUPLE2
                    push(tupleOf(2));
                    break;
                case 0x87: // TUPLE3
                    push(tupleOf(3));
                    break;
                case 'q': // BINPUT
                    memo.put((long) u8(), peek());
                    break;
                case 'r': // LONG_BINPUT
                    memo.put(u32(), peek());
                    break;
                case 0x94: // MEMOIZE
                    memo.put((long) memo.size(), peek());
                    break;
                case 'h': // BINGET
                    push(memoGet(u8()));
                    break;
                case 'j': // LONG_BINGET
                    push(memoGet(u32()));
                    break;
                case 'a': { // APPEND
                    Object v = pop();
                    asList(peek(), "APPEND").add(v);
                    break;
                }
                case 'e': { // APPENDS
                    List<Object> items = popMark();
                    asList(peek(), "APPENDS").addAll(items);
                    break;
                }
                case 's': { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    asDict(peek(), "SETITEM").put(key(k), v);
                    break;
                }
                case 'u': { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw bad("SETITEMS at byte " + at + " has an odd number of items");
                    }
                    Dict d = asDict(peek(), "SETITEMS");
                    for (int i = 0; i < items.size(); i += 2) {
                        d.put(key(items.get(i)), items.get(i + 1));
                    }
                    break;
                }
                case 'c': { // GLOBAL module\nname\n
                    String module = line();
                    String name = line();
                    push(global(module, name));
                    break;
                }
                case 0x93: { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw new UnsafeCheckpointException(prefix() + "STACK_GLOBAL at byte " + at
                                + " names a global with non-string parts; refusing to load it");
                    }
                    push(global(m, n));
                    break;
                }
                case 'Q': { // BINPERSID
                    push(persistentLoad(pop()));
                    break;
                }
                case 'R': { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(reduce(callable, args, at));
                    break;
                }
                case 'b': { // BUILD
                    Object state = pop();
                    build(peek(), state, at);
                    break;
                }
                case 'i': { // INST module\nname\n: instantiates a class from the marked arguments
                    String module = line();
                    String name = line();
                    throw refusedOpcode("INST", at, module + "." + name);
                }
                case 'o': // OBJ
                    throw refusedOpcode("OBJ", at, describe(firstAfterMark()));
                case 0x81: // NEWOBJ
                    throw refusedOpcode("NEWOBJ", at, describe(stack.size() >= 2 ? stack.get(stack.size() - 2) : null));
                case 0x92: // NEWOBJ_EX
                    throw refusedOpcode("NEWOBJ_EX", at, describe(stack.size() >= 3 ? stack.get(stack.size() - 3) : null));
                case 0x82: // EXT1
                case 0x83: // EXT2
                case 0x84: // EXT4
                    throw new UnsafeCheckpointException(prefix() + "uses the copyreg extension registry (opcode 0x"
                            + Integer.toHexString(op) + " at byte " + at + "), which could name any global; refusing to load it");
                case 'P': // PERSID (text form, protocol 0)
                    throw bad("uses a text persistent id (PERSID at byte " + at + "), which torch.save does not write");
                default:
                    throw bad("has opcode 0x" + Integer.toHexString(op) + " ('" + printable(op) + "') at byte " + at
                            + ", which torch.save does not write");
            }
        }
    }

    // ---- allow-listed semantics -------------------------------------------------------------

    private Global global(String module, String name) {
        Global g = ALLOWED.get(module + "." + name);
        if (g == null) {
            throw new UnsafeCheckpointException(prefix() + "imports " + module + "." + name
                    + ", which is not a tensor-rebuilding global. A pickle can run arbitrary code, so bark4j only"
                    + " accepts collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and"
                    + " torch.*Storage; refusing to load this file. Use weights from a trusted source or a"
                    + " safetensors file.");
        }
        return g;
    }

    private Object persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw bad("has a persistent id " + describe(pid) + " that is not ('storage', type, key, location, numel)");
        }
        if (!(t.get(1) instanceof Global g) || g.kind() != Kind.STORAGE) {
            throw bad("has a storage persistent id whose type is " + describe(t.get(1)) + ", not a torch.*Storage");
        }
        if (!(t.get(2) instanceof String key) || !(t.get(3) instanceof String location)
                || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw bad("has a malformed storage persistent id " + describe(pid));
        }
        return new StorageRef(g.storageType(), key, location, numel);
    }

    private Object reduce(Object callable, Object args, int at) {
        if (!(callable instanceof Global g) || g.kind() == Kind.STORAGE) {
            throw new UnsafeCheckpointException(prefix() + "calls " + describe(callable) + " (REDUCE at byte " + at
                    + "); only collections.OrderedDict and torch's tensor rebuild functions may be called."
                    + " Refusing to load this file.");
        }
        if (!(args instanceof Tuple a)) {
            throw bad("calls " + g.qualified() + " at byte " + at + " with " + describe(args) + " instead of an argument tuple");
        }
        switch (g.kind()) {
            case ORDERED_DICT:
                if (a.size() != 0) {
                    throw bad("calls collections.OrderedDict at byte " + at + " with arguments, which torch.save does not write");
                }
                return new Dict(true);
            case REBUILD_TENSOR:
                return rebuildTensor(a, at);
            case REBUILD_PARAMETER:
            case REBUILD_PARAMETER_WITH_STATE: {
                int n = g.kind() == Kind.REBUILD_PARAMETER ? 3 : 4;
                if (a.size() != n || !(a.get(0) instanceof TensorRef tensor)) {
                    throw bad("calls " + g.qualified() + " at byte " + at + " with " + describe(a));
                }
                return tensor;
            }
            default:
                throw new IllegalStateException(g.kind().toString());
        }
    }

    private TensorRef rebuildTensor(Tuple a, int at) {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.size() < 6 || a.size() > 7 || !(a.get(0) instanceof StorageRef storage)
                || !(a.get(1) instanceof Long offset) || !(a.get(2) instanceof Tuple size)
                || !(a.get(3) instanceof Tuple stride) || !(a.get(4) instanceof Boolean)) {
            throw bad("calls torch._utils._rebuild_tensor_v2 at byte " + at + " with unexpected arguments " + describe(a));
        }
        long[] sz = longs(size, "size", at);
        long[] st = longs(stride, "stride", at);
        if (sz.length != st.length) {
            throw bad("rebuilds a tensor at byte " + at + " with size " + Arrays.toString(sz)
                    + " but stride " + Arrays.toString(st));
        }
        return new TensorRef(storage, offset, sz, st);
    }

    private long[] longs(Tuple t, String what, int at) {
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v)) {
                throw bad("rebuilds a tensor at byte " + at + " whose " + what + " holds " + describe(t.get(i)));
            }
            out[i] = v;
        }
        return out;
    }

    private void build(Object target, Object state, int at) {
        // torch.save writes BUILD only to give a state dict's OrderedDict its _metadata attribute
        if (target instanceof Dict d && d.ordered && (state instanceof Dict || state == NONE)) {
            return; // attributes of an OrderedDict carry no weights; nothing to do
        }
        throw new UnsafeCheckpointException(prefix() + "sets the state of " + describe(target) + " (BUILD at byte " + at
                + "); only an OrderedDict's attributes may be set. Refusing to load this file.");
    }

    private UnsafeCheckpointException refusedOpcode(String opcode, int at, String what) {
        return new UnsafeCheckpointException(prefix() + "instantiates " + what + " with " + opcode + " at byte " + at
                + "; torch.save never writes that opcode and bark4j does not create arbitrary objects."
                + " Refusing to load this file.");
    }

    private Object firstAfterMark() {
        if (marks.isEmpty()) {
            return null;
        }
        int m = marks.get(marks.size() - 1);
        return m + 1 < stack.size() ? stack.get(m + 1) : null;
    }

    // ---- stack and memo ---------------------------------------------------------------------

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw bad("pops an empty stack at byte " + (pos - 1));
        }
        Object o = stack.remove(stack.size() - 1);
        if (o == MARK) {
            throw bad("uses a MARK as a value at byte " + (pos - 1));
        }
        return o;
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw bad("reads an empty stack at byte " + (pos - 1));
        }
        Object o = stack.get(stack.size() - 1);
        if (o == MARK) {
            throw bad("uses a MARK as a value at byte " + (pos - 1));
        }
        return o;
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw bad("has no MARK for the opcode at byte " + (pos - 1));
        }
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m + 1, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Tuple tupleOf(int n) {
        if (stack.size() - (marks.isEmpty() ? 0 : marks.get(marks.size() - 1) + 1) < n) {
            throw bad("builds a " + n + "-tuple from fewer values at byte " + (pos - 1));
        }
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return new Tuple(List.of(items));
    }

    private Object memoGet(long index) {
        Object o = memo.get(index);
        if (o == null) {
            throw bad("reads memo entry " + index + " at byte " + (pos - 1) + " before it was stored");
        }
        return o;
    }

    /** Only immutable, shallow values may be dict keys (Python requires hashable ones; this also bounds hashing). */
    private Object key(Object k) {
        if (!hashable(k, 0)) {
            throw bad("uses " + describe(k) + " as a dict key at byte " + (pos - 1));
        }
        return k;
    }

    private static boolean hashable(Object k, int depth) {
        if (k instanceof String || k instanceof Long || k instanceof Double || k instanceof Boolean || k == NONE) {
            return true;
        }
        if (k instanceof Tuple t && depth < 8) {
            for (Object x : t.items()) {
                if (!hashable(x, depth + 1)) {
                    return false;
                }
            }
            return true;
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(Object o, String op) {
        if (o instanceof ArrayList<?> l) {
            return (List<Object>) l;
        }
        throw bad("applies " + op + " at byte " + (pos - 1) + " to " + describe(o) + ", not a list");
    }

    private Dict asDict(Object o, String op) {
        if (o instanceof Dict d) {
            return d;
        }
        throw bad("applies " + op + " at byte " + (pos - 1) + " to " + describe(o) + ", not a dict");
    }

    // ---- raw reads --------------------------------------------------------------------------

    private void need(long n) {
        if (n < 0 || n > in.length - pos) {
            throw bad("ends early: needs " + n + " more bytes at byte " + pos + " but only " + (in.length - pos) + " remain");
        }
    }

    private int u8() {
        need(1);
        return in[pos++] & 0xFF;
    }

    private int u16() {
        need(2);
        int v = (in[pos] & 0xFF) | (in[pos + 1] & 0xFF) << 8;
        pos += 2;
        return v;
    }

    private int i32() {
        need(4);
        int v = (in[pos] & 0xFF) | (in[pos + 1] & 0xFF) << 8 | (in[pos + 2] & 0xFF) << 16 | (in[pos + 3] & 0xFF) << 24;
        pos += 4;
        return v;
    }

    private long u32() {
        return i32() & 0xFFFFFFFFL;
    }

    private int u32AsInt() {
        long n = u32();
        need(n);
        return (int) n;
    }

    private long long1() {
        int n = u8();
        if (n > 8) {
            throw bad("has an integer of " + n + " bytes at byte " + (pos - 2) + "; only 64-bit integers are supported");
        }
        need(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (in[pos + i] & 0xFF);
        }
        if (n > 0 && n < 8 && (in[pos + n - 1] & 0x80) != 0) {
            v |= -1L << (8 * n); // two's complement sign extension
        }
        pos += n;
        return v;
    }

    private String utf8(int n) {
        need(n);
        try {
            String s = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(in, pos, n))
                    .toString();
            pos += n;
            return s;
        } catch (CharacterCodingException e) {
            throw bad("has a string that is not valid UTF-8 at byte " + pos);
        }
    }

    private String latin1(int n) {
        need(n);
        String s = new String(in, pos, n, StandardCharsets.ISO_8859_1);
        pos += n;
        return s;
    }

    private byte[] bytes(int n) {
        need(n);
        byte[] b = Arrays.copyOfRange(in, pos, pos + n);
        pos += n;
        return b;
    }

    private String line() {
        int start = pos;
        int limit = Math.min(in.length, pos + 1024);
        for (int i = start; i < limit; i++) {
            if (in[i] == '\n') {
                pos = i + 1;
                return new String(in, start, i - start, StandardCharsets.UTF_8);
            }
        }
        throw bad("has an unterminated or overlong name at byte " + start);
    }

    // ---- messages ---------------------------------------------------------------------------

    private String prefix() {
        return "Unsafe PyTorch checkpoint " + source + ": its pickle ";
    }

    private ModelLoadException bad(String what) {
        return new ModelLoadException("Malformed PyTorch checkpoint " + source + ": its pickle " + what);
    }

    private static String printable(int op) {
        return op >= 0x20 && op < 0x7f ? String.valueOf((char) op) : "\\x" + Integer.toHexString(op);
    }

    static String describe(Object o) {
        if (o == null) {
            return "nothing";
        }
        if (o instanceof Global g) {
            return g.qualified();
        }
        if (o instanceof String s) {
            return "the string '" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
        }
        if (o instanceof Tuple t) {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < t.size() && i < 8; i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                Object x = t.get(i);
                sb.append(x instanceof Tuple || x instanceof Dict || x instanceof List ? x.getClass().getSimpleName()
                        : describe(x));
            }
            return sb.append(t.size() > 8 ? ", ...)" : ")").toString();
        }
        if (o instanceof Long || o instanceof Double || o instanceof Boolean) {
            return o.toString();
        }
        if (o instanceof TensorRef) {
            return "a tensor";
        }
        if (o instanceof StorageRef) {
            return "a storage";
        }
        if (o instanceof Dict d) {
            return d.ordered ? "an OrderedDict" : "a dict";
        }
        if (o instanceof List) {
            return "a list";
        }
        if (o == NONE) {
            return "None";
        }
        if (o instanceof byte[]) {
            return "a bytes object";
        }
        return o == MARK ? "a MARK" : o.getClass().getSimpleName();
    }
}

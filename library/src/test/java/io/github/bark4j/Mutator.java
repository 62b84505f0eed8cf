package io.github.bark4j;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies a mutation script to a seed file. A script is a short byte string read like a fuzzer's data
 * provider: each step picks an operation (bit flip, interesting byte, int or long, delete, insert,
 * duplicate, truncate, and for text formats number, string and token swaps) and where to apply it,
 * preferring the file's structural "hot" ranges (headers, directories, the pickle). The same
 * (seed file, script) always gives the same input, so a saved script reproduces a failure, and the
 * scripts may come from a seeded random source (the default test run) or from Jazzer.
 */
final class Mutator {
    private static final int[] BYTES = {0, 1, 0x7f, 0x80, 0xff, '"', '{', '}', '[', ']', ',', ':', '-', '9', '\\', '\n'};
    private static final long[] INTS = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffffL, 0x80000000L,
            0xffffffffL, 1 << 20, 1 << 30};
    private static final long[] LONGS = {0, -1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 31, 1L << 32, 1L << 40,
            1L << 62, 0x7fffffffL};
    private static final String[] NUMBERS = {"-1", "0", "1", "1e308", "-1e308", "99999999999999999999", "NaN",
            "2147483648", "-2147483649", "-0.0", "1e-400", "0.5", "4294967296", "9223372036854775808", "1024"};
    private static final String[] STRINGS = {"\"\"", "\"\\u0000\"", "\"\\ud800\"", "\"F128\"", "\"../../etc/passwd\"",
            "\"BF16\"", "\"I64\"", "\"BOOL\"", "\"" + "a".repeat(300) + "\"", "\"\\\"\"", "\"/abs\"", "\"null\""};
    private static final String[] TOKENS = {"null", "true", "[]", "{}", "[[[[[[[[]]]]]]]]", "{\"a\":{}}", "-",
            "[-1]", "\"x\"", "1"};

    private final byte[] script;
    private int pos;

    private Mutator(byte[] script) {
        this.script = script;
    }

    /** {@code seed} mutated by {@code script}; {@code hot} lists [from, to) pairs of structural bytes. */
    static byte[] apply(byte[] seed, byte[] script, long[] hot, boolean text) {
        return new Mutator(script).run(seed, hot, text);
    }

    private int next() {
        return pos < script.length ? script[pos++] & 0xff : 0;
    }

    private int nextInt(int bound) {
        if (bound <= 1) {
            return 0;
        }
        long v = 0;
        for (int i = 0; i < 4; i++) {
            v = (v << 8) | next();
        }
        return (int) (v % bound);
    }

    private byte[] run(byte[] seed, long[] hot, boolean text) {
        byte[] data = seed;
        int steps = 1 + nextInt(text ? 4 : 6);
        for (int s = 0; s < steps && pos < script.length; s++) {
            int op = nextInt(text ? 11 : 8);
            int at = position(data.length, hot);
            data = switch (op) {
                case 0 -> set(data, at, (byte) (get(data, at) ^ (1 << nextInt(8))));
                case 1 -> set(data, at, (byte) BYTES[nextInt(BYTES.length)]);
                case 2 -> put(data, at, INTS[nextInt(INTS.length)], 4);
                case 3 -> put(data, at, LONGS[nextInt(LONGS.length)], 8);
                case 4 -> splice(data, at, 1 + nextInt(64), new byte[0]);
                case 5 -> {
                    byte[] ins = new byte[1 + nextInt(16)];
                    for (int i = 0; i < ins.length; i++) {
                        ins[i] = (byte) next();
                    }
                    yield splice(data, at, 0, ins);
                }
                case 6 -> {
                    int from = position(data.length, hot);
                    int len = Math.min(1 + nextInt(256), data.length - from);
                    byte[] chunk = new byte[Math.max(0, len)];
                    System.arraycopy(data, from, chunk, 0, chunk.length);
                    yield splice(data, at, 0, chunk);
                }
                case 7 -> java.util.Arrays.copyOf(data, Math.min(at, data.length));
                case 8 -> replaceLiteral(data, at, true, NUMBERS[nextInt(NUMBERS.length)]);
                case 9 -> replaceLiteral(data, at, false, STRINGS[nextInt(STRINGS.length)]);
                default -> replaceLiteral(data, at, nextInt(2) == 0, TOKENS[nextInt(TOKENS.length)]);
            };
        }
        return data;
    }

    private int position(int length, long[] hot) {
        if (length == 0) {
            return 0;
        }
        if (hot != null && hot.length >= 2 && nextInt(10) < 8) {
            int r = nextInt(hot.length / 2);
            long from = Math.min(hot[2 * r], length - 1);
            long to = Math.min(Math.max(hot[2 * r + 1], from + 1), length);
            return (int) (from + nextInt((int) (to - from)));
        }
        return nextInt(length);
    }

    private static byte get(byte[] d, int at) {
        return at < d.length ? d[at] : 0;
    }

    private static byte[] set(byte[] d, int at, byte v) {
        if (at >= d.length) {
            return d;
        }
        byte[] out = d.clone();
        out[at] = v;
        return out;
    }

    private static byte[] put(byte[] d, int at, long v, int width) {
        byte[] out = d.clone();
        for (int i = 0; i < width && at + i < out.length; i++) {
            out[at + i] = (byte) (v >>> (8 * i));
        }
        return out;
    }

    private static byte[] splice(byte[] d, int at, int remove, byte[] insert) {
        at = Math.min(at, d.length);
        remove = Math.min(remove, d.length - at);
        ByteArrayOutputStream out = new ByteArrayOutputStream(d.length + insert.length);
        out.write(d, 0, at);
        out.write(insert, 0, insert.length);
        out.write(d, at + remove, d.length - at - remove);
        return out.toByteArray();
    }

    /** Replaces the number (or string) literal at or after {@code at} with {@code replacement}. */
    private static byte[] replaceLiteral(byte[] d, int at, boolean number, String replacement) {
        for (int i = at; i < d.length; i++) {
            int start = -1;
            int end = -1;
            if (number && (Character.isDigit(d[i]) || d[i] == '-') && (i == 0 || !Character.isLetterOrDigit(d[i - 1]))) {
                start = i;
                end = i + 1;
                while (end < d.length && (Character.isDigit(d[end]) || d[end] == '.' || d[end] == 'e' || d[end] == 'E'
                        || d[end] == '-' || d[end] == '+')) {
                    end++;
                }
            } else if (!number && d[i] == '"') {
                start = i;
                end = i + 1;
                while (end < d.length && d[end] != '"') {
                    end += d[end] == '\\' ? 2 : 1;
                }
                end = Math.min(end + 1, d.length);
            }
            if (start >= 0) {
                return splice(d, start, end - start, replacement.getBytes(StandardCharsets.UTF_8));
            }
        }
        return d;
    }

    /** Lists byte ranges as the flat [from, to, from, to, ...] array {@link #apply} takes. */
    static long[] ranges(List<long[]> pairs) {
        List<Long> flat = new ArrayList<>();
        for (long[] p : pairs) {
            flat.add(p[0]);
            flat.add(p[1]);
        }
        return flat.stream().mapToLong(Long::longValue).toArray();
    }
}

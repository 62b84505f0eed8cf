package io.github.bark4j.spark;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A row's seed: its {@code seed} column when set, else one derived from its id, the same on every JVM. */
final class RowSeeds {
    private RowSeeds() {}

    /** The first 8 bytes (big-endian) of the SHA-256 of the id's UTF-8 bytes. */
    static long fromId(String id) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(h, 0, 8).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The seed column's value as a long; integers written as floating point (JSON {@code 7.0}) are accepted.
     *
     * @throws IllegalArgumentException when it is not an integer
     */
    static long parse(String seed) {
        String s = seed.strip();
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            try {
                java.math.BigDecimal d = new java.math.BigDecimal(s);
                return d.longValueExact();
            } catch (NumberFormatException | ArithmeticException e2) {
                throw new IllegalArgumentException("seed '" + seed + "' is not a 64-bit integer");
            }
        }
    }
}

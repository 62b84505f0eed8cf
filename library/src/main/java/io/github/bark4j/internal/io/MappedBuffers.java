package io.github.bark4j.internal.io;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;

/**
 * Unmaps a tensor's memory-mapped bytes as soon as they are copied into libtorch. Otherwise the
 * mapping lives until a GC finds the buffer unreachable, and every page the copy touched stays in
 * the process's resident set meanwhile: loading bark-small left 1.66 GB of file pages beside the
 * 1.7 GB of weights (3.4 GB resident instead of 1.8 GB) until the next full GC, often for the whole
 * run. Java 17 has no public unmap; {@code sun.misc.Unsafe.invokeCleaner} (module jdk.unsupported,
 * what Lucene used before Java 19) runs the buffer's cleaner now. Where it is missing, or for a
 * slice or duplicate, nothing happens and the GC unmaps later.
 */
public final class MappedBuffers {
    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method invoke = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            invoke = c.getMethod("invokeCleaner", ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            unsafe = null;
            invoke = null;
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = invoke;
    }

    private MappedBuffers() {}

    /**
     * Unmaps {@code buffer} if it is a whole memory mapping. The caller must hold the only reference
     * to it and never read it again: a read after the unmap crashes the JVM.
     *
     * @return whether it was unmapped now
     */
    public static boolean release(ByteBuffer buffer) {
        if (!(buffer instanceof MappedByteBuffer) || !buffer.isDirect() || INVOKE_CLEANER == null) {
            return false;
        }
        try {
            INVOKE_CLEANER.invoke(UNSAFE, buffer);
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // a slice or duplicate (IllegalArgumentException): the GC unmaps the mapping
        }
    }
}

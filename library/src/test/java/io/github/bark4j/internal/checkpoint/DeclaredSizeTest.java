package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelLoadException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sizes a file declares never make a reader allocate beyond the file's own size: a 64-byte storage
 * viewed (stride 0) as a 1 GiB tensor is refused before anything is allocated.
 */
class DeclaredSizeTest {
    @TempDir
    Path tmp;

    @Test
    void broadcastViewLargerThanTheFileIsRefusedWithoutAllocatingIt() throws Exception {
        byte[] pickle = PickleBytes.proto2().op('}').mark().str("w")
                .tensor("FloatStorage", "0", 16, 0, new long[] {1 << 14, 1 << 14}, new long[] {0, 0})
                .op('u').stop().bytes();
        Path f = TorchZip.checkpoint("m", pickle).add("m/data/0", new byte[64]).write(tmp.resolve("b.bin"));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        try (PyTorchCheckpoint c = PyTorchCheckpoint.open(f)) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> c.tensor("w"));
            assertTrue(e.getMessage().contains("more than the " + Files.size(f) + "-byte file"), e.getMessage());
        }
        long allocated = threads.getThreadAllocatedBytes(id) - before;
        assertTrue(allocated < 16L << 20, "allocated " + allocated + " bytes for a " + Files.size(f) + "-byte file");
    }
}

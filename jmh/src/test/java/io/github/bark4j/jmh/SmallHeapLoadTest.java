package io.github.bark4j.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * bark-small (random weights at the real size, about 1.6 GB in FP32) loads and speaks in a JVM whose
 * heap, and therefore default direct-memory limit, is 512 MB: weights live in libtorch's memory, not
 * in direct byte buffers that would count against {@code -XX:MaxDirectMemorySize}.
 */
class SmallHeapLoadTest {

    @Test
    void barkSmallLoadsWithHalfAGigabyteHeap(@TempDir Path tmp) throws Exception {
        System.setProperty("bark4j.jmh.models", tmp.toString());
        Path model = RandomBarkModel.folder("bark-small");
        long weightBytes = Files.size(model.resolve("model.safetensors"));
        assertTrue(weightBytes > 1L << 30, "weights are larger than the child's heap: " + weightBytes);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "-Dai.djl.offline=true", "-Dai.djl.pytorch.num_threads=2",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", SmallHeapLoad.class.getName(), model.toString());
        Path log = tmp.resolve("child.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertTrue(child.waitFor(300, TimeUnit.SECONDS), "child did not finish");
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        String out = Files.readString(log);
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("LOADED maxHeap="), out);
        assertTrue(out.contains("SPOKE "), out);
    }
}

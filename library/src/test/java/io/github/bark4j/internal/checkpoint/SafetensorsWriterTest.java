package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

class SafetensorsWriterTest {

    @TempDir
    Path tmp;

    @Test
    void tinyBarkBinRoundTripsThroughSafetensors() throws IOException {
        Path out = tmp.resolve("converted.safetensors");
        Files.writeString(out, "an older file that the atomic rename replaces");
        try (PyTorchCheckpoint bin = PyTorchCheckpoint.open(SharedFiles.tinyBark().resolve("pytorch_model.bin"))) {
            SafetensorsWriter.write(bin, out);
            try (SafetensorsFile st = SafetensorsFile.open(out)) {
                assertEquals(bin.names(), st.names().stream().collect(java.util.stream.Collectors.toSet()));
                for (String name : bin.names()) {
                    RawTensor a = bin.tensor(name);
                    RawTensor b = st.tensor(name);
                    assertEquals(a.dtype(), b.dtype(), name);
                    assertArrayEquals(a.shape(), b.shape(), name);
                    assertEquals(a.data(), b.data(), name);
                }
                assertEquals(Map.of("format", "pt"), st.metadata());
                List<String> order = new ArrayList<>(st.names());
                List<String> sorted = new ArrayList<>(order);
                sorted.sort(null);
                assertEquals(sorted, order, "header is sorted by name");
            }
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList(), "no temporary file is left behind");
        }
        ByteBuffer len = ByteBuffer.wrap(Files.readAllBytes(out), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen = len.getLong();
        assertEquals(0, headerLen % 8, "header is padded so data starts 8-byte aligned");
    }

    /** Also the converted tiny model matches the reference safetensors file tensor by tensor. */
    @Test
    void convertedFileAgreesWithReferenceSafetensors() throws IOException {
        Path out = tmp.resolve("m.safetensors");
        try (PyTorchCheckpoint bin = PyTorchCheckpoint.open(SharedFiles.tinyBark().resolve("pytorch_model.bin"))) {
            SafetensorsWriter.write(bin, out, Map.of());
        }
        try (SafetensorsFile ref = SafetensorsFile.open(SharedFiles.tinyBark().resolve("model.safetensors"));
                SafetensorsFile st = SafetensorsFile.open(out)) {
            assertTrue(st.metadata().isEmpty());
            for (String name : ref.names()) {
                assertEquals(ref.tensor(name).data(), st.tensor(name).data(), name);
            }
        }
    }

    @Test
    void smallSourceGivesTheExpectedBytes() throws IOException {
        TensorSource src = new TensorSource() {
            final Map<String, RawTensor> t = Map.of(
                    "b", new RawTensor("b", DType.BF16, new long[] {2}, ByteBuffer.wrap(new byte[] {1, 2, 3, 4})),
                    "a", new RawTensor("a", DType.BOOL, new long[] {1, 3}, ByteBuffer.wrap(new byte[] {1, 0, 1})));

            @Override
            public Set<String> names() {
                return t.keySet();
            }

            @Override
            public RawTensor tensor(String name) {
                return t.get(name);
            }

            @Override
            public void close() {}
        };
        Path out = tmp.resolve("small.safetensors");
        SafetensorsWriter.write(src, out, Map.of());
        byte[] file = Files.readAllBytes(out);
        long headerLen = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(file, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertEquals("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[1,3],\"data_offsets\":[0,3]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[3,7]}}", header.stripTrailing());
        assertEquals(8 + headerLen + 7, file.length);
        assertArrayEquals(new byte[] {1, 0, 1, 1, 2, 3, 4}, java.util.Arrays.copyOfRange(file, file.length - 7, file.length));
    }

    @Test
    void unwritableTargetIsReported() {
        Path out = tmp.resolve("no-such-dir").resolve("x.safetensors");
        try (PyTorchCheckpoint bin = PyTorchCheckpoint.open(SharedFiles.tinyBark().resolve("pytorch_model.bin"))) {
            ModelLoadException e = assertThrows(ModelLoadException.class, () -> SafetensorsWriter.write(bin, out));
            assertTrue(e.getMessage().contains("x.safetensors"), e.getMessage());
        }
    }
}

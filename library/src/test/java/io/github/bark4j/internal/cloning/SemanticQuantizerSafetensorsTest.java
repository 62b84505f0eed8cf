package io.github.bark4j.internal.cloning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.ModelLoadException;
import io.github.bark4j.internal.checkpoint.PyTorchCheckpoint;
import io.github.bark4j.internal.checkpoint.SafetensorsWriter;
import io.github.bark4j.internal.checkpoint.TensorSource;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A quantizer whose tensors were converted to safetensors loads by its file name, takes its version
 * from its keys (it has no .info), and gives the original's tokens; a bad one gets the quantizer's
 * errors.
 */
class SemanticQuantizerSafetensorsTest {
    @TempDir
    Path tmp;

    private Path converted(int version, String name) {
        Path out = tmp.resolve(name);
        try (TensorSource pth = PyTorchCheckpoint.open(CloneFixture.quantizer(version))) {
            SafetensorsWriter.write(pth, out);
        }
        return out;
    }

    @Test
    void convertedQuantizersGiveTheReferenceTokens() {
        for (int version : new int[] {0, 1}) {
            Path file = converted(version, "quantizer_v" + version + ".safetensors");
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                try (SemanticQuantizer q = SemanticQuantizer.load(file, dtype);
                        SemanticQuantizer pth = SemanticQuantizer.load(CloneFixture.quantizer(version), dtype);
                        NDManager m = NDManager.newBaseManager()) {
                    assertEquals(version, q.version());
                    assertEquals(pth.inputSize(), q.inputSize());
                    assertEquals(pth.hiddenSize(), q.hiddenSize());
                    assertEquals(pth.intermediateSize(), q.intermediateSize());
                    for (CloneFixture.Recording r : CloneFixture.recordings()) {
                        int[] expected = version == 0 ? r.tokensV0() : r.tokensV1();
                        assertArrayEquals(expected, q.tokens(m.create(CloneFixture.npy(r.hubert()),
                                new Shape(r.frames(), 32))), r.name() + " v" + version + " " + dtype);
                    }
                }
            }
        }
    }

    @Test
    void theSuffixDecidesTheFormatWhateverItsCase() {
        assertTrue(SemanticQuantizer.isSafetensors(Path.of("dir/q.SafeTensors")));
        assertTrue(!SemanticQuantizer.isSafetensors(Path.of("dir/q.pth")));
        assertTrue(!SemanticQuantizer.isSafetensors(Path.of("safetensors/q.pt")));
        try (SemanticQuantizer q = SemanticQuantizer.load(converted(1, "Q.SAFETENSORS"), DataType.FLOAT32)) {
            assertEquals(1, q.version());
        }
    }

    @Test
    void aPthNamedSafetensorsOrAMissingFileIsAModelLoadError() throws IOException {
        Path misnamed = tmp.resolve("really_a_pth.safetensors");
        Files.copy(CloneFixture.quantizer(0), misnamed);
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> SemanticQuantizer.load(misnamed, DataType.FLOAT32));
        assertTrue(e.getMessage().contains(misnamed.toString()), e.getMessage());
        ModelLoadException missing = assertThrows(ModelLoadException.class,
                () -> SemanticQuantizer.load(tmp.resolve("absent.safetensors"), DataType.FLOAT32));
        assertTrue(missing.getMessage().contains("absent.safetensors"), missing.getMessage());
    }

    @Test
    void aSafetensorsFileWithoutTheLstmIsRefusedAsAQuantizer() {
        Path bark = tmp.resolve("not_a_quantizer.safetensors");
        try (TensorSource hubert = io.github.bark4j.internal.model.BarkModel.openWeights(CloneFixture.hubertDir())) {
            SafetensorsWriter.write(hubert, bark);
        }
        ModelLoadException e = assertThrows(ModelLoadException.class,
                () -> SemanticQuantizer.load(bark, DataType.FLOAT32));
        assertTrue(e.getMessage().contains("lstm.weight_ih_l0"), e.getMessage());
    }
}

package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import io.github.bark4j.Precision;
import io.github.bark4j.testing.Diffs;
import io.github.bark4j.testing.Golden;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The encoder's convolutions over chunks ({@link ChunkedSeanetEncoder}) give what they give over the
 * whole recording, on the tiny-clone fixture's EnCodec: for chunks of 2 hops up to the default, for
 * lengths that are and are not a multiple of the chunk or the hop, in FP64 and FP32, for batches.
 */
class ChunkedSeanetEncoderTest {
    private static NDManager base;
    private static CodecEncoder fp64;
    private static CodecEncoder fp32;
    /** rec_a at 24 kHz: 95 239 samples, not a multiple of the hop. */
    private static double[] wav;

    @BeforeAll
    static void load() {
        base = NDManager.newBaseManager("PyTorch");
        Path bark = SharedFiles.tinyClone().resolve("bark");
        fp64 = CodecEncoder.load(bark, Precision.FP64, base);
        fp32 = CodecEncoder.load(bark, Precision.FP32, base);
        wav = Golden.npyDoubles(SharedFiles.tinyClone().resolve("rec_a_wav24.npy"));
    }

    @AfterAll
    static void close() {
        fp64.close();
        fp32.close();
        base.close();
    }

    private static double[] embed(CodecEncoder encoder, double[] samples, long chunk) {
        try (NDManager m = base.newSubManager()) {
            NDArray y = encoder.withChunkSamples(chunk).embed(m.create(samples, new Shape(1, 1, samples.length)));
            assertEquals(encoder.dataType(), y.getDataType());
            return Tensors.toDoubles(y);
        }
    }

    @Test
    void chunksGiveTheWholeRecordingsEmbedding() {
        int hop = 320;
        for (int length : new int[] {wav.length, 32 * hop, 32 * hop + 1, 40 * hop - 1}) {
            double[] samples = Arrays.copyOf(wav, length);
            double[] whole64 = embed(fp64, samples, 0);
            double[] whole32 = embed(fp32, samples, 0);
            assertEquals(32 * ((length + hop - 1) / hop), whole64.length);
            for (long chunk : new long[] {2 * hop, 5 * hop, 16L * hop, (long) ChunkedSeanetEncoder.DEFAULT_CHUNK_HOPS * hop}) {
                if (!ChunkedSeanetEncoder.applies(fp64.config(), length, chunk)) {
                    continue; // shorter than two chunks: the whole-recording path, compared above by definition
                }
                double d64 = Diffs.maxAbsDiff(whole64, embed(fp64, samples, chunk));
                double d32 = Diffs.maxAbsDiff(whole32, embed(fp32, samples, chunk));
                System.out.printf("%d samples in chunks of %d: FP64 off by %.2g, FP32 by %.2g%n", length, chunk, d64, d32);
                assertTrue(d64 < 1e-12, length + " samples, chunks of " + chunk + ": FP64 off by " + d64);
                assertTrue(d32 < 1e-5, length + " samples, chunks of " + chunk + ": FP32 off by " + d32);
            }
        }
    }

    @Test
    void chunkedCodesEqualTheWholeRecordingsCodes() {
        float[] samples = new float[wav.length];
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (float) wav[i];
        }
        for (CodecEncoder encoder : new CodecEncoder[] {fp64, fp32}) {
            int[][] whole = encoder.withChunkSamples(0).encode(samples);
            for (long chunk : new long[] {640, 3200}) {
                assertArrayEquals(whole, encoder.withChunkSamples(chunk).encode(samples),
                        encoder.dataType() + " chunks of " + chunk);
            }
        }
    }

    @Test
    void batchRowsInChunksEncodeAsTheyDoAlone() {
        int samples = 12_800;
        double[] a = Arrays.copyOfRange(wav, 0, samples);
        double[] b = Arrays.copyOfRange(wav, 50_000, 50_000 + samples);
        double[] both = new double[2 * samples];
        System.arraycopy(a, 0, both, 0, samples);
        System.arraycopy(b, 0, both, samples, samples);
        try (NDManager m = base.newSubManager()) {
            double[] y = Tensors.toDoubles(fp64.withChunkSamples(1280).embed(m.create(both, new Shape(2, 1, samples))));
            double[] ya = embed(fp64, a, 0);
            double[] yb = embed(fp64, b, 0);
            assertTrue(Diffs.maxAbsDiff(ya, Arrays.copyOfRange(y, 0, ya.length)) < 1e-12, "row 0");
            assertTrue(Diffs.maxAbsDiff(yb, Arrays.copyOfRange(y, ya.length, y.length)) < 1e-12, "row 1");
        }
    }

    @Test
    void chunksApplyToCausalModelsAndRecordingsOfTwoWholeChunks() {
        CodecConfig causal = fp64.config();
        assertTrue(causal.useCausalConv());
        assertTrue(ChunkedSeanetEncoder.applies(causal, 6400, 3200));
        assertFalse(ChunkedSeanetEncoder.applies(causal, 6399, 3200), "shorter than two chunks");
        assertFalse(ChunkedSeanetEncoder.applies(causal, 100_000, 3000), "not a whole number of hops");
        CodecConfig centred = new CodecConfig(causal.samplingRate(), causal.audioChannels(), causal.numFilters(),
                causal.numResidualLayers(), causal.upsamplingRatios(), causal.kernelSize(), causal.lastKernelSize(),
                causal.residualKernelSize(), causal.dilationGrowthRate(), false, causal.padMode(), causal.compress(),
                causal.numLstmLayers(), causal.trimRightRatio(), causal.codebookSize(), causal.codebookDim(),
                causal.hiddenSize(), causal.useConvShortcut(), causal.normType());
        assertFalse(ChunkedSeanetEncoder.applies(centred, 100_000, 3200), "centred convolutions see the future");
        assertThrows(IllegalArgumentException.class, () -> fp64.withChunkSamples(1000));
        assertThrows(IllegalArgumentException.class, () -> fp64.withChunkSamples(-320));
        assertEquals(DataType.FLOAT64, fp64.withChunkSamples(0).dataType());
    }
}

package io.github.bark4j.internal.model;

import io.github.bark4j.ModelLoadException;

/**
 * Architecture of one of Bark's GPTs, read from a sub-config of {@code config.json}. The same record
 * describes the causal semantic and coarse models and the non-causal fine model ({@code nCodesTotal}
 * greater than zero).
 */
public record GptConfig(
        String name,
        int blockSize,
        int inputVocabSize,
        int outputVocabSize,
        int numLayers,
        int numHeads,
        int hiddenSize,
        boolean bias,
        int nCodesTotal,
        int nCodesGiven) {

    public GptConfig {
        require(blockSize > 0, name, "block_size must be positive");
        require(inputVocabSize > 0 && outputVocabSize > 0, name, "vocabulary sizes must be positive");
        require(numLayers > 0, name, "num_layers must be positive");
        require(numHeads > 0 && hiddenSize > 0, name, "num_heads and hidden_size must be positive");
        require(hiddenSize % numHeads == 0, name,
                "hidden_size " + hiddenSize + " is not a multiple of num_heads " + numHeads);
        require(nCodesTotal >= 0 && nCodesGiven >= 0 && nCodesGiven <= nCodesTotal, name,
                "n_codes_given must be between 0 and n_codes_total");
    }

    private static void require(boolean ok, String name, String what) {
        if (!ok) {
            throw new ModelLoadException("Invalid " + name + " in config.json: " + what);
        }
    }

    /** The fine model predicts codebooks from the sum of all earlier ones, attending both ways. */
    public boolean isCausal() {
        return nCodesTotal == 0;
    }

    int headDim() {
        return hiddenSize / numHeads;
    }
}

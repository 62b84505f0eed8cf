package io.github.bark4j.internal.model;

import io.github.bark4j.ModelLoadException;

import java.util.Arrays;

/** EnCodec decoder architecture ({@code codec_config} of Bark's {@code config.json}). */
public record CodecConfig(
        int samplingRate,
        int audioChannels,
        int numFilters,
        int numResidualLayers,
        int[] upsamplingRatios,
        int kernelSize,
        int lastKernelSize,
        int residualKernelSize,
        int dilationGrowthRate,
        boolean useCausalConv,
        String padMode,
        int compress,
        int numLstmLayers,
        double trimRightRatio,
        int codebookSize,
        int codebookDim,
        int hiddenSize,
        boolean useConvShortcut,
        String normType) {

    public CodecConfig {
        upsamplingRatios = upsamplingRatios.clone();
        check(samplingRate > 0, "sampling_rate must be positive");
        check(audioChannels == 1, "only mono (audio_channels 1) is supported, got " + audioChannels);
        check(numFilters > 0 && hiddenSize > 0 && codebookSize > 0, "sizes must be positive");
        check(upsamplingRatios.length > 0, "upsampling_ratios must not be empty");
        for (int r : upsamplingRatios) {
            check(r > 0, "upsampling_ratios must be positive: " + Arrays.toString(upsamplingRatios));
        }
        check(compress > 0, "compress must be positive");
        check(codebookDim == hiddenSize, "codebook_dim " + codebookDim + " must equal hidden_size "
                + hiddenSize + " (EnCodec has no codebook projection)");
        check(padMode.equals("reflect") || padMode.equals("constant"),
                "pad_mode '" + padMode + "' is not supported (reflect or constant)");
        check(normType.equals("weight_norm") || normType.equals("none"),
                "norm_type '" + normType + "' is not supported (weight_norm or none)");
        check(trimRightRatio >= 0 && trimRightRatio <= 1, "trim_right_ratio must be in [0, 1]");
        check(numLstmLayers >= 0, "num_lstm_layers must not be negative");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new ModelLoadException("Invalid codec_config in config.json: " + what);
        }
    }

    /** Audio samples per codec frame (320 for the 24 kHz model). */
    int hopLength() {
        int hop = 1;
        for (int r : upsamplingRatios) {
            hop *= r;
        }
        return hop;
    }

    @Override
    public int[] upsamplingRatios() {
        return upsamplingRatios.clone();
    }
}

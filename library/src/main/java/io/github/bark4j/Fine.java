package io.github.bark4j;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.Arrays;

/**
 * Stage 3, two codebooks → all of them. The non-causal fine model sees 1024-frame windows (512 frames
 * of history, 512 new, stride 512) and fills codebooks 2..7 one after another, each prediction feeding
 * the next. Frames not yet predicted hold the pad code 1024.
 */
final class Fine {
    static final int WINDOW = 1024;
    static final int STRIDE = 512;
    static final int MAX_HISTORY = 512;
    static final int PAD = VoicePreset.CODEBOOK_SIZE;

    private Fine() {}

    /** Generates (nCodesTotal, frames) codes from coarse (2, frames). */
    static int[][] generate(Gpt gpt, NDManager manager, int[][] coarse, VoicePreset voice, GenerationOptions o,
            Sampler sampler) {
        int books = gpt.config().nCodesTotal();
        int given = coarse.length;
        int frames = coarse[0].length;
        int[][] history = new int[books][0];
        if (voice != null) {
            int[][] fp = voice.fineView();
            if (fp.length != books) {
                throw new InvalidVoiceException("The voice's fine_prompt has " + fp.length + " codebooks; this model"
                        + " uses " + books);
            }
            int start = Math.max(0, fp[0].length - MAX_HISTORY);
            for (int k = 0; k < books; k++) {
                history[k] = Arrays.copyOfRange(fp[k], start, fp[k].length);
            }
        }
        int nHistory = history[0].length;
        int length = Math.max(WINDOW, nHistory + frames);
        int removeFromEnd = length - (nHistory + frames);
        // codes[t][k], time-major as the model reads it
        long[][] codes = new long[length][books];
        for (int t = 0; t < length; t++) {
            Arrays.fill(codes[t], PAD);
        }
        for (int t = 0; t < nHistory; t++) {
            for (int k = 0; k < books; k++) {
                codes[t][k] = history[k][t];
            }
        }
        for (int t = 0; t < frames; t++) {
            for (int k = 0; k < given; k++) {
                codes[nHistory + t][k] = coarse[k][t];
            }
        }
        int loops = Math.max(0, (int) Math.ceil((frames - (WINDOW - nHistory)) / (double) STRIDE)) + 1;
        for (int n = 0; n < loops; n++) {
            int start = Math.min(n * STRIDE, length - WINDOW);
            int fill = Math.min(nHistory + n * STRIDE, length - STRIDE);
            int rel = fill - start;
            long[] buffer = new long[WINDOW * books];
            for (int t = 0; t < WINDOW; t++) {
                System.arraycopy(codes[start + t], 0, buffer, t * books, books);
            }
            for (int k = given; k < books; k++) {
                int[] predicted;
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray input = Tensors.ids(manager, buffer, 1, WINDOW, books);
                    NDArray logits = gpt.forwardFine(input, k).get(":, {}:, :{}", rel, PAD).squeeze(0);
                    predicted = pick(logits, o, sampler);
                }
                for (int i = 0; i < predicted.length; i++) {
                    buffer[(rel + i) * books + k] = predicted[i];
                }
            }
            for (int t = rel; t < WINDOW; t++) {
                for (int k = given; k < books; k++) {
                    codes[start + t][k] = buffer[t * books + k];
                }
            }
            o.progress().onProgress(Stage.FINE, n + 1, loops);
        }
        int[][] out = new int[books][frames];
        for (int t = 0; t < frames; t++) {
            for (int k = 0; k < books; k++) {
                out[k][t] = (int) codes[nHistory + t][k];
            }
        }
        assert removeFromEnd >= 0;
        return out;
    }

    /** One code per frame from logits (frames, 1024). */
    private static int[] pick(NDArray logits, GenerationOptions o, Sampler sampler) {
        int frames = (int) logits.getShape().get(0);
        int[] out = new int[frames];
        if (o.greedy()) {
            long[] best = logits.argMax(1).toLongArray();
            for (int i = 0; i < frames; i++) {
                out[i] = (int) best[i];
            }
            return out;
        }
        double[] probs = Tensors.toDoubles(logits.div(o.fineTemperature()).softmax(1));
        int v = PAD;
        for (int i = 0; i < frames; i++) {
            out[i] = sampler.draw(Arrays.copyOfRange(probs, i * v, (i + 1) * v));
        }
        return out;
    }
}

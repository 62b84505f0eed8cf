package io.github.bark4j.internal.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.InvalidVoiceException;
import io.github.bark4j.Stage;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.Cancellation;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.internal.model.Vocabulary;

import java.util.Arrays;

/**
 * Stage 3, two codebooks → all of them. The non-causal fine model sees 1024-frame windows (512 frames
 * of history, 512 new, stride 512) and fills codebooks 2..7 one after another, each prediction feeding
 * the next. Frames not yet predicted hold the pad code 1024.
 */
public final class Fine {
    public static final int WINDOW = 1024;
    static final int STRIDE = 512;
    static final int MAX_HISTORY = 512;
    static final int PAD = Vocabulary.CODEBOOK_SIZE;

    private Fine() {}

    /** One row's codes laid out time-major, with its history and window schedule. */
    private static final class Row {
        final long[][] codes; // [length][books]
        final int nHistory;
        final int frames;
        final int loops;

        Row(int[][] coarse, int[][] history, int books) {
            this.nHistory = history[0].length;
            this.frames = coarse[0].length;
            int length = Math.max(WINDOW, nHistory + frames);
            codes = new long[length][books];
            for (long[] frame : codes) {
                Arrays.fill(frame, PAD);
            }
            for (int t = 0; t < nHistory; t++) {
                for (int k = 0; k < books; k++) {
                    codes[t][k] = history[k][t];
                }
            }
            for (int t = 0; t < frames; t++) {
                for (int k = 0; k < coarse.length; k++) {
                    codes[nHistory + t][k] = coarse[k][t];
                }
            }
            loops = Math.max(0, (int) Math.ceil((frames - (WINDOW - nHistory)) / (double) STRIDE)) + 1;
        }

        int start(int n) {
            return Math.min(n * STRIDE, codes.length - WINDOW);
        }

        /** First frame of window {@code n} to predict, relative to the window start. */
        int relativeFill(int n) {
            return Math.min(nHistory + n * STRIDE, codes.length - STRIDE) - start(n);
        }
    }

    /**
     * Generates (nCodesTotal, frames) codes from coarse (2, frames) for each row. Window n of every
     * row that has one runs in the same batch; windows are whole 1024-frame blocks, so rows never
     * need padding and each row's result is what it would be alone.
     */
    public static int[][][] generate(Gpt gpt, NDManager manager, int[][][] coarse, VoicePreset voice, GenerationOptions o,
            Sampler[] samplers) {
        int books = gpt.config().nCodesTotal();
        int[][] history = history(voice, books);
        Row[] rows = new Row[coarse.length];
        int maxLoops = 0;
        for (int b = 0; b < rows.length; b++) {
            rows[b] = new Row(coarse[b], history, books);
            maxLoops = Math.max(maxLoops, rows[b].loops);
        }
        int given = coarse[0].length;
        for (int n = 0; n < maxLoops; n++) {
            final int loop = n;
            int[] members = java.util.stream.IntStream.range(0, rows.length).filter(b -> rows[b].loops > loop).toArray();
            long[] buffer = new long[members.length * WINDOW * books];
            for (int i = 0; i < members.length; i++) {
                Row r = rows[members[i]];
                int start = r.start(n);
                for (int t = 0; t < WINDOW; t++) {
                    System.arraycopy(r.codes[start + t], 0, buffer, (i * WINDOW + t) * books, books);
                }
            }
            for (int k = given; k < books; k++) {
                Cancellation.check();
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    NDArray input = Tensors.ids(manager, buffer, members.length, WINDOW, books);
                    NDArray logits = gpt.forwardFine(input, k);
                    for (int i = 0; i < members.length; i++) {
                        int b = members[i];
                        int rel = rows[b].relativeFill(n);
                        int[] predicted = pick(logits.get("{}, {}:, :{}", i, rel, PAD), o, samplers[b]);
                        for (int j = 0; j < predicted.length; j++) {
                            buffer[(i * WINDOW + rel + j) * books + k] = predicted[j];
                        }
                    }
                }
            }
            for (int i = 0; i < members.length; i++) {
                Row r = rows[members[i]];
                int start = r.start(n);
                for (int t = r.relativeFill(n); t < WINDOW; t++) {
                    for (int k = given; k < books; k++) {
                        r.codes[start + t][k] = buffer[(i * WINDOW + t) * books + k];
                    }
                }
            }
            o.progress().onProgress(Stage.FINE, n + 1, maxLoops);
        }
        int[][][] out = new int[rows.length][][];
        for (int b = 0; b < rows.length; b++) {
            Row r = rows[b];
            out[b] = new int[books][r.frames];
            for (int t = 0; t < r.frames; t++) {
                for (int k = 0; k < books; k++) {
                    out[b][k][t] = (int) r.codes[r.nHistory + t][k];
                }
            }
        }
        return out;
    }

    /** The last ≤512 frames of the voice's fine prompt (books × frames), or an empty history. */
    private static int[][] history(VoicePreset voice, int books) {
        int[][] history = new int[books][0];
        if (voice != null) {
            int[][] fp = voice.finePrompt();
            if (fp.length != books) {
                throw new InvalidVoiceException("The voice's fine_prompt has " + fp.length + " codebooks; this model"
                        + " uses " + books);
            }
            int start = Math.max(0, fp[0].length - MAX_HISTORY);
            for (int k = 0; k < books; k++) {
                history[k] = Arrays.copyOfRange(fp[k], start, fp[k].length);
            }
        }
        return history;
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
        // sampled in 32-bit at least, whatever the model's precision
        NDArray wide = logits.getDataType() == ai.djl.ndarray.types.DataType.FLOAT16
                ? logits.toType(ai.djl.ndarray.types.DataType.FLOAT32, false) : logits;
        double[] probs = Tensors.toDoubles(wide.div(o.fineTemperature()).softmax(1));
        int v = PAD;
        for (int i = 0; i < frames; i++) {
            out[i] = sampler.draw(Arrays.copyOfRange(probs, i * v, (i + 1) * v));
        }
        return out;
    }
}

package io.github.bark4j.internal.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import io.github.bark4j.GenerationOptions;
import io.github.bark4j.Stage;
import io.github.bark4j.VoicePreset;
import io.github.bark4j.internal.Cancellation;
import io.github.bark4j.internal.model.Gpt;
import io.github.bark4j.internal.model.KvCache;
import io.github.bark4j.internal.model.Logits;
import io.github.bark4j.internal.model.Tensors;
import io.github.bark4j.internal.model.Vocabulary;

import java.util.Arrays;

/**
 * Stage 2, semantic tokens → the first two EnCodec codebooks, interleaved (c0, c1, c0, c1, …). Runs in
 * windows of 60 tokens; each window restarts the KV cache from a prompt of up to 256 semantic tokens
 * around the current position, the infer token and the last 630 coarse tokens.
 */
public final class Coarse {
    public static final int CODEBOOKS = 2;
    static final int SEMANTIC_VOCAB = 10_000;
    public static final int CODES_START = SEMANTIC_VOCAB;
    public static final int CODES_END = SEMANTIC_VOCAB + CODEBOOKS * Vocabulary.CODEBOOK_SIZE;
    static final int SEMANTIC_PAD = 12_048;
    public static final int INFER_TOKEN = 12_050;
    static final int SEMANTIC_WINDOW = 256;
    static final int MAX_HISTORY = 630;
    public static final int WINDOW = 60;
    public static final int MAX_PROMPT = SEMANTIC_WINDOW + 1 + MAX_HISTORY;
    static final double RATE_HZ = 75;
    /** Coarse tokens per semantic token, computed as the original does (the order matters for rounding). */
    static final double SEMANTIC_TO_COARSE = RATE_HZ / Semantic.RATE_HZ * CODEBOOKS;
    static final int MAX_SEMANTIC_HISTORY = (int) Math.floor(MAX_HISTORY / SEMANTIC_TO_COARSE);

    private Coarse() {}

    /** Number of coarse tokens (even) for a semantic sequence. */
    public static int steps(int semanticLength) {
        return (int) Math.rint(Math.floor(semanticLength * SEMANTIC_TO_COARSE / CODEBOOKS) * CODEBOOKS);
    }

    /** Semantic and flattened coarse history from a voice, trimmed as the original aligns them. */
    record History(int[] semantic, int[] coarse) {
        static final History NONE = new History(new int[0], new int[0]);

        static History of(VoicePreset voice) {
            if (voice == null) {
                return NONE;
            }
            int[] sem = voice.semanticPrompt();
            int[][] c = voice.coarsePrompt();
            int frames = c[0].length;
            int[] flat = new int[frames * CODEBOOKS];
            for (int t = 0; t < frames; t++) {
                for (int k = 0; k < CODEBOOKS; k++) {
                    flat[t * CODEBOOKS + k] = c[k][t] + k * Vocabulary.CODEBOOK_SIZE + SEMANTIC_VOCAB;
                }
            }
            int nSem = Math.min(MAX_SEMANTIC_HISTORY, Math.min(sem.length - sem.length % 2,
                    (int) Math.floor(flat.length / SEMANTIC_TO_COARSE)));
            int nCoarse = (int) Math.rint(nSem * SEMANTIC_TO_COARSE);
            int[] semHist = Arrays.copyOfRange(sem, sem.length - nSem, sem.length);
            int[] coarseHist = Arrays.copyOfRange(flat, flat.length - nCoarse, flat.length);
            // the original drops the last two coarse tokens to keep the streams time-aligned
            coarseHist = Arrays.copyOf(coarseHist, Math.max(0, coarseHist.length - 2));
            return new History(semHist, coarseHist);
        }
    }

    /**
     * Generates (2, frames) codes 0..1023 for each row. Rows share the voice, so while active they
     * have identical prompt lengths and decode in lockstep; a row that has all its tokens keeps being
     * fed its last token (outputs ignored) until the window ends, then leaves the batch.
     */
    public static int[][][] generate(Gpt gpt, NDManager manager, int[][] semantic, VoicePreset voice, GenerationOptions o,
            Sampler[] samplers) {
        int batch = semantic.length;
        History history = History.of(voice);
        int base = history.semantic().length;
        int[] nSteps = new int[batch];
        int[][] semanticIn = new int[batch][];
        int[][] coarse = new int[batch][];
        int[] coarseLength = new int[batch];
        int[] step = new int[batch];
        int windows = 0;
        int totalSteps = 0;
        for (int b = 0; b < batch; b++) {
            nSteps[b] = steps(semantic[b].length);
            semanticIn[b] = concat(history.semantic(), semantic[b]);
            coarse[b] = Arrays.copyOf(history.coarse(), history.coarse().length + nSteps[b]);
            coarseLength[b] = history.coarse().length;
            windows = Math.max(windows, (int) Math.ceil(nSteps[b] / (double) WINDOW));
            totalSteps = Math.max(totalSteps, nSteps[b]);
        }
        // one cache for every window, as large as the longest prompt needs: allocating one per
        // window, each a little larger while the history grows, left the freed ones behind as
        // fragments of the C heap (the coarse stage's resident set crept up by ~100 MB in FP32)
        int capacity = SEMANTIC_WINDOW + 1 + Math.min(MAX_HISTORY, history.coarse().length + (windows - 1) * WINDOW)
                + WINDOW;
        KvCache cache = null;
        int[] cached = null;
        try {
            for (int w = 0; w < windows; w++) {
                int[] rows = activeRows(step, nSteps);
                cache = cacheFor(gpt, manager, cache, cached, rows, capacity);
                cached = rows;
                window(gpt, manager, cache, rows, base, semanticIn, coarse, coarseLength, step, nSteps, o,
                        samplers);
                o.progress().onProgress(Stage.COARSE, Math.min(totalSteps, (w + 1) * WINDOW), totalSteps);
            }
        } finally {
            if (cache != null) {
                cache.close();
            }
        }
        int[][][] out = new int[batch][][];
        for (int b = 0; b < batch; b++) {
            int frames = nSteps[b] / CODEBOOKS;
            out[b] = new int[CODEBOOKS][frames];
            int offset = history.coarse().length;
            for (int t = 0; t < frames; t++) {
                for (int k = 0; k < CODEBOOKS; k++) {
                    out[b][k][t] = coarse[b][offset + t * CODEBOOKS + k] - SEMANTIC_VOCAB - k * Vocabulary.CODEBOOK_SIZE;
                }
            }
        }
        return out;
    }

    /** The codebook (0 or 1) every unfinished row of {@code rows} predicts next, or -1 if they differ or none is left. */
    private static int commonParity(int[] rows, int[] step, int[] nSteps) {
        int parity = -1;
        for (int b : rows) {
            if (step[b] >= nSteps[b]) {
                continue;
            }
            int p = step[b] % CODEBOOKS;
            if (parity >= 0 && p != parity) {
                return -1;
            }
            parity = p;
        }
        return parity;
    }

    private static int[] activeRows(int[] step, int[] nSteps) {
        return java.util.stream.IntStream.range(0, step.length).filter(b -> step[b] < nSteps[b]).toArray();
    }

    private static long[] flatten(long[][] rows) {
        long[] out = new long[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        }
        return out;
    }

    /**
     * The cache for the next window, of rows {@code rows} (indices into the batch, a subset of
     * {@code cached}, the previous window's, in the same order): {@code cache} emptied, without the
     * rows that have left, or a new one of {@code capacity} positions for the first window.
     */
    private static KvCache cacheFor(Gpt gpt, NDManager manager, KvCache cache, int[] cached, int[] rows,
            int capacity) {
        if (cache == null) {
            return gpt.newCache(manager, rows.length, capacity);
        }
        if (!Arrays.equals(cached, rows)) {
            long[] keep = new long[rows.length];
            for (int i = 0, j = 0; i < rows.length; i++) {
                while (cached[j] != rows[i]) {
                    j++;
                }
                keep[i] = j;
            }
            cache.keepRows(keep);
        }
        cache.clear();
        return cache;
    }

    /** One window of {@link #WINDOW} steps for rows {@code rows}, from a re-prefill of its prompt. */
    private static void window(Gpt gpt, NDManager manager, KvCache cache, int[] rows, int base,
            int[][] semanticIn, int[][] coarse, int[] coarseLength, int[] step, int[] nSteps, GenerationOptions o,
            Sampler[] samplers) {
        long[][] prompts = new long[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            int b = rows[i];
            int semanticIndex = base + (int) Math.rint(step[b] / SEMANTIC_TO_COARSE);
            int from = Math.max(0, semanticIndex - MAX_SEMANTIC_HISTORY);
            prompts[i] = windowPrompt(semanticIn[b], from, coarse[b], coarseLength[b]);
            if (prompts[i].length != prompts[0].length) {
                throw new IllegalStateException("coarse rows out of step: prompt lengths differ");
            }
        }
        int promptLength = prompts[0].length;
        if (promptLength + WINDOW > cache.capacity()) {
            throw new IllegalStateException("coarse prompt of " + promptLength + " tokens exceeds the cache of "
                    + cache.capacity() + " positions");
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            long[] feed = flatten(prompts);
            int feedLength = promptLength;
            for (int j = 0; j < WINDOW; j++) {
                boolean any = false;
                for (int b : rows) {
                    any |= step[b] < nSteps[b];
                }
                if (!any) {
                    break;
                }
                Cancellation.check();
                double[] logits = null;
                // logits[i * vocab + t - first] is token t's logit of row i
                int first = 0;
                // greedy decode steps: each row's argmax within the codebook it predicts now
                // (the rows move in step, so one codebook for all), instead of the logits
                int[] best = null;
                int parity = o.greedy() ? commonParity(rows, step, nSteps) : -1;
                if (feedLength == 1 && parity >= 0) {
                    first = CODES_START + parity * Vocabulary.CODEBOOK_SIZE;
                    best = gpt.decodeArgmax(manager, feed, cache, first, first + Vocabulary.CODEBOOK_SIZE);
                } else if (feedLength == 1) {
                    first = CODES_START;
                    logits = gpt.decode(manager, feed, cache, CODES_START, CODES_END);
                } else {
                    first = 0;
                    try (NDScope stepScope = new NDScope()) {
                        stepScope.suppressNotUsedWarning();
                        NDArray input = gpt.embed(Tensors.ids(manager, feed, rows.length, feedLength));
                        logits = Tensors.toDoubles(gpt.forwardCausal(input, cache, true));
                    }
                }
                int vocab = logits == null ? 0 : logits.length / rows.length;
                long[] next = new long[rows.length];
                for (int i = 0; i < rows.length; i++) {
                    int b = rows[i];
                    if (step[b] >= nSteps[b]) {
                        next[i] = coarse[b][coarseLength[b] - 1];
                        continue;
                    }
                    int start = CODES_START + (step[b] % CODEBOOKS) * Vocabulary.CODEBOOK_SIZE;
                    int token = best != null ? start + best[i]
                            : start + pick(logits, i * vocab + start - first, o, samplers[b]);
                    coarse[b][coarseLength[b]++] = token;
                    step[b]++;
                    next[i] = token;
                }
                feed = next;
                feedLength = 1;
            }
        }
    }

    /** [256 semantic tokens from {@code from} (padded), infer token, last ≤630 coarse tokens]. */
    static long[] windowPrompt(int[] semanticIn, int from, int[] coarse, int coarseLength) {
        int historyStart = Math.max(0, coarseLength - MAX_HISTORY);
        long[] prompt = new long[SEMANTIC_WINDOW + 1 + coarseLength - historyStart];
        for (int i = 0; i < SEMANTIC_WINDOW; i++) {
            int src = from + i;
            prompt[i] = src < semanticIn.length ? semanticIn[src] : SEMANTIC_PAD;
        }
        prompt[SEMANTIC_WINDOW] = INFER_TOKEN;
        for (int i = historyStart; i < coarseLength; i++) {
            prompt[SEMANTIC_WINDOW + 1 + i - historyStart] = coarse[i];
        }
        return prompt;
    }

    /** Index within the codebook's 1024 logits starting at array offset {@code start}. */
    static int pick(double[] logits, int start, GenerationOptions o, Sampler sampler) {
        int end = start + Vocabulary.CODEBOOK_SIZE;
        if (o.greedy()) {
            return Logits.argmax(logits, start, end);
        }
        return sampler.draw(Sampler.probabilities(logits, start, end, o.coarseTemperature(), o.topK(), o.topP()));
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

package io.github.bark4j.internal.audio;

import io.github.bark4j.InvalidAudioException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Band-limited resampling exactly as torchaudio 0.13's {@code functional.resample} does it by default
 * ({@code sinc_interpolation} with a Hann window, {@code lowpass_filter_width} 6, {@code rolloff} 0.99),
 * in {@code double}; voice cloning uses it for the recording -> 24 kHz -> 16 kHz steps.
 *
 * <p>With {@code g = gcd(from, to)}, {@code o = from / g} input samples become {@code n = to / g}
 * output samples. Output phase {@code i < n} has the kernel row {@code k[i][j]}, {@code j < 2w + o},
 * {@code w = ceil(6 o / base)}, {@code base = min(o, n) * 0.99}:
 * {@code t = (-i / n + (j - w) / o) * base} clamped to [-6, 6], {@code k = sinc(pi t) cos(pi t / 12)^2 base / o}.
 * The input is padded with {@code w} zeros before and {@code w + o} after,
 * {@code y[m n + i] = sum_j k[i][j] x[m o + j - w]}, and the first {@code ceil(n len / o)} outputs kept.
 *
 * <p>A row is stored only where its window is open ({@code |t| < 6}); torchaudio's other taps sit where
 * {@code t} was clamped to +-6, so their window is {@code cos(pi/2)^2 < 4e-33} and their value below
 * 1e-48: leaving them out changes no output by more than 1e-45, and makes the kernel of any rate pair
 * small (about {@code 12 o / base + 1} taps per row, where torchaudio's rows have {@code 2w + o}, so
 * 44.1 kHz -> 24 kHz needs 23 multiplies per output sample instead of 171, and a kernel holds about
 * {@code 12 max(o, n)} taps in all).
 * Kernels are built once per rate pair and kept for the few pairs in use.
 */
public final class Resampler {
    /** The highest rate accepted: it bounds a kernel's size (about 12 taps per unit of the larger reduced rate). */
    public static final int MAX_RATE = 384_000;
    static final int LOWPASS_FILTER_WIDTH = 6;
    static final double ROLLOFF = 0.99;
    private static final int CACHED_PAIRS = 8;
    /** Kernels larger than this (only odd rate pairs with a tiny gcd) are rebuilt instead of kept. */
    private static final int MAX_CACHED_TAPS = 1 << 20;
    private static final int MAX_LENGTH = Integer.MAX_VALUE - 16;

    private static final Map<Long, Kernel> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, Kernel> eldest) {
            return size() > CACHED_PAIRS;
        }
    };

    private Resampler() {}

    /**
     * {@code input} at {@code fromRate} resampled to {@code toRate} (a copy of it when the rates are equal).
     *
     * @throws InvalidAudioException if a rate is not in [1, {@link #MAX_RATE}] or the output would not fit an array
     */
    public static double[] resample(double[] input, int fromRate, int toRate) {
        checkRate(fromRate);
        checkRate(toRate);
        if (fromRate == toRate) {
            return input.clone();
        }
        Kernel k = kernel(fromRate, toRate);
        long outLength = ((long) k.next * input.length + k.orig - 1) / k.orig; // ceil(n len / o), exactly
        if (outLength > MAX_LENGTH) {
            throw new InvalidAudioException("Cannot resample " + input.length + " samples from " + fromRate + " to "
                    + toRate + " Hz: the result would be too long for one array; use a shorter recording.");
        }
        double[] out = new double[(int) outLength];
        convolve(k, input, out);
        return out;
    }

    private static void checkRate(int rate) {
        if (rate < 1 || rate > MAX_RATE) {
            throw new InvalidAudioException("Sample rate " + rate + " Hz is out of range: resampling takes 1 to "
                    + MAX_RATE + " Hz.");
        }
    }

    /** Output frame {@code m} covers input {@code [m o - w, m o - w + 2w + o)}; phase {@code i} reads its open taps. */
    private static void convolve(Kernel k, double[] x, double[] y) {
        int o = k.orig;
        int n = k.next;
        int len = x.length;
        int[] first = k.first;
        int[] offset = k.offset;
        double[] taps = k.taps;
        long start = -k.width; // input index of tap 0 for the current frame
        for (int out = 0; out < y.length; start += o) {
            for (int i = 0; i < n && out < y.length; i++, out++) {
                int a = first[i];
                int tapBase = offset[i] - a;
                // taps j in [a, a + count) read x[start + j]; keep those inside the input (the rest read padding zeros)
                long from = Math.max(a, -start);
                long to = Math.min(a + (offset[i + 1] - offset[i]), len - start);
                int x0 = (int) (start + from);
                int t0 = tapBase + (int) from;
                int count = (int) (to - from);
                double acc = 0;
                for (int q = 0; q < count; q++) {
                    acc += taps[t0 + q] * x[x0 + q];
                }
                y[out] = acc;
            }
        }
    }

    /** The kernel for {@code fromRate -> toRate}, built on first use and cached for the few pairs in use. */
    static Kernel kernel(int fromRate, int toRate) {
        long key = (long) fromRate << 32 | toRate;
        synchronized (CACHE) {
            Kernel k = CACHE.get(key);
            if (k != null) {
                return k;
            }
        }
        Kernel k = Kernel.build(fromRate, toRate);
        if (k.taps.length <= MAX_CACHED_TAPS) {
            synchronized (CACHE) {
                CACHE.putIfAbsent(key, k);
            }
        }
        return k;
    }

    /**
     * torchaudio's sinc kernel for one reduced rate pair, row {@code i} (output phase) holding taps
     * {@code first[i] .. first[i] + count - 1} of its {@code 2 width + orig} columns, the open window.
     */
    static final class Kernel {
        final int orig;
        final int next;
        final int width;
        final double base;
        final int[] first;
        /** Row {@code i}'s taps are {@code taps[offset[i] .. offset[i + 1])}. */
        final int[] offset;
        final double[] taps;

        private Kernel(int orig, int next, int width, double base, int[] first, int[] offset, double[] taps) {
            this.orig = orig;
            this.next = next;
            this.width = width;
            this.base = base;
            this.first = first;
            this.offset = offset;
            this.taps = taps;
        }

        static Kernel build(int fromRate, int toRate) {
            int g = gcd(fromRate, toRate);
            int o = fromRate / g;
            int n = toRate / g;
            double base = Math.min(o, n) * ROLLOFF;
            int width = (int) Math.ceil(LOWPASS_FILTER_WIDTH * o / base);
            int columns = 2 * width + o;
            int[] first = new int[n];
            int[] offset = new int[n + 1];
            // first pass: each row's open range (t grows with j, so it is one run of columns)
            double half = LOWPASS_FILTER_WIDTH * (double) o / base;
            for (int i = 0; i < n; i++) {
                double center = width + (double) o * i / n;
                int lo = (int) Math.max(0, Math.floor(center - half) - 1);
                while (lo < columns && !open(t(i, lo, n, o, width, base))) {
                    lo++;
                }
                int hi = (int) Math.min(columns - 1, Math.ceil(center + half) + 1);
                while (hi >= lo && !open(t(i, hi, n, o, width, base))) {
                    hi--;
                }
                first[i] = lo;
                offset[i + 1] = offset[i] + Math.max(0, hi - lo + 1);
            }
            double[] taps = new double[offset[n]];
            double scale = base / o;
            for (int i = 0; i < n; i++) {
                for (int p = offset[i], j = first[i]; p < offset[i + 1]; p++, j++) {
                    taps[p] = value(t(i, j, n, o, width, base), scale);
                }
            }
            return new Kernel(o, n, width, base, first, offset, taps);
        }

        /** torchaudio's {@code t} before clamping, evaluated in its order of operations. */
        static double t(int i, int j, int n, int o, int width, double base) {
            return (-i / (double) n + (j - width) / (double) o) * base;
        }

        static boolean open(double t) {
            return t > -LOWPASS_FILTER_WIDTH && t < LOWPASS_FILTER_WIDTH;
        }

        /** torchaudio's kernel value at a clamped {@code t}: sinc times the Hann window times {@code scale}. */
        static double value(double t, double scale) {
            double window = Math.cos(t * Math.PI / LOWPASS_FILTER_WIDTH / 2);
            window = window * window;
            double pt = t * Math.PI;
            double sinc = pt == 0 ? 1.0 : Math.sin(pt) / pt;
            return sinc * (window * scale);
        }

        /** Row {@code i}, column {@code j} as torchaudio's full kernel holds it (0 where the window is shut). */
        double tap(int i, int j) {
            int k = j - first[i];
            return k >= 0 && k < offset[i + 1] - offset[i] ? taps[offset[i] + k] : 0;
        }

        int columns() {
            return 2 * width + orig;
        }
    }

    static int gcd(int a, int b) {
        while (b != 0) {
            int r = a % b;
            a = b;
            b = r;
        }
        return a;
    }
}

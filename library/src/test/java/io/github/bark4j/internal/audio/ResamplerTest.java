package io.github.bark4j.internal.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import io.github.bark4j.InvalidAudioException;
import io.github.bark4j.internal.checkpoint.DType;
import io.github.bark4j.internal.checkpoint.Npy;
import io.github.bark4j.internal.checkpoint.RawTensor;
import io.github.bark4j.testing.Diffs;
import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * The resampler against torchaudio 0.13's float64 outputs in the tiny-clone fixture (within 1e-12), its
 * kernel against the formula evaluated in full, and its output against a plain padded convolution
 * written straight from the fixture README for rate pairs the fixture does not hold.
 */
class ResamplerTest {
    static final double TOLERANCE = 1e-12;

    static JsonObject golden() throws IOException {
        return JsonParser.parseString(Files.readString(SharedFiles.tinyClone().resolve("golden.json")))
                .getAsJsonObject();
    }

    static double[] npy(String file) {
        RawTensor t = Npy.read(SharedFiles.tinyClone().resolve(file));
        assertEquals(DType.F64, t.dtype(), file);
        assertEquals(1, t.rank(), file);
        double[] out = new double[(int) t.numElements()];
        t.data().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
        return out;
    }

    @Test
    void everyFixturePairMatchesTorchaudio() throws IOException {
        JsonObject resample = golden().getAsJsonObject("resample");
        double[] input = npy(resample.get("input_file").getAsString());
        assertEquals(resample.get("input_samples").getAsInt(), input.length);
        int pairs = 0;
        for (JsonElement e : resample.getAsJsonArray("pairs")) {
            JsonObject p = e.getAsJsonObject();
            int from = p.get("from").getAsInt();
            int to = p.get("to").getAsInt();
            Resampler.Kernel k = Resampler.kernel(from, to);
            assertEquals(p.get("gcd").getAsInt(), from / k.orig);
            assertEquals(p.get("kernel_width").getAsInt(), k.width, from + " -> " + to);
            double[] expected = npy(p.get("file").getAsString());
            assertEquals(p.get("output_samples").getAsInt(), expected.length);
            double[] out = Resampler.resample(input, from, to);
            double diff = Diffs.maxAbsDiff(expected, out);
            System.out.printf("resample %d -> %d: %d samples, max abs diff %.3g%n", from, to, out.length, diff);
            assertTrue(diff <= TOLERANCE, from + " -> " + to + ": max abs diff " + diff);
            pairs++;
        }
        assertEquals(4, pairs);
    }

    /** torchaudio's kernel row, every column, straight from the formula (with the clamp). */
    private static double fullKernel(int i, int j, int o, int n, int width, double base) {
        double t = (-i / (double) n + (j - width) / (double) o) * base;
        t = Math.max(-6, Math.min(6, t));
        double window = Math.cos(t * Math.PI / 6 / 2);
        window *= window;
        t *= Math.PI;
        double sinc = t == 0 ? 1 : Math.sin(t) / t;
        return sinc * (window * (base / o));
    }

    @Test
    void kernelHoldsEveryTapThatMatters() {
        int[][] pairs = {{16000, 24000}, {44100, 24000}, {48000, 24000}, {24000, 16000}, {22050, 24000},
                {8000, 24000}, {11025, 16000}, {1001, 999}, {999, 1001}, {96000, 24000}};
        for (int[] pair : pairs) {
            Resampler.Kernel k = Resampler.kernel(pair[0], pair[1]);
            int g = Resampler.gcd(pair[0], pair[1]);
            int o = pair[0] / g;
            int n = pair[1] / g;
            assertEquals(o, k.orig);
            assertEquals(n, k.next);
            double base = Math.min(o, n) * 0.99;
            assertEquals((int) Math.ceil(6.0 * o / base), k.width);
            int kept = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < k.columns(); j++) {
                    double full = fullKernel(i, j, o, n, k.width, base);
                    double ours = k.tap(i, j);
                    // (messages built only on failure: there are two million cells)
                    if (ours != 0) {
                        if (full != ours) {
                            fail("tap " + i + ", " + j + " of " + pair[0] + " -> " + pair[1] + ": " + ours + " != "
                                    + full);
                        }
                        kept++;
                    } else if (!(Math.abs(full) < 1e-45)) {
                        fail("dropped tap " + i + ", " + j + " of " + pair[0] + " -> " + pair[1] + " is " + full);
                    }
                }
            }
            assertEquals(kept, k.taps.length);
            // the open window is about 12 o / base columns wide, far fewer than torchaudio's 2w + o
            assertTrue(k.taps.length <= n * (12.0 * o / base + 2), pair[0] + " -> " + pair[1]);
        }
    }

    /** The README's recipe, literally: full kernel, padded input, strided sums, then the first ceil(n len / o). */
    private static double[] reference(double[] x, int from, int to) {
        int g = Resampler.gcd(from, to);
        int o = from / g;
        int n = to / g;
        double base = Math.min(o, n) * 0.99;
        int w = (int) Math.ceil(6.0 * o / base);
        double[] xp = new double[w + x.length + w + o];
        System.arraycopy(x, 0, xp, w, x.length);
        int frames = (xp.length - (2 * w + o)) / o + 1;
        double[] y = new double[frames * n];
        for (int m = 0; m < frames; m++) {
            for (int i = 0; i < n; i++) {
                double acc = 0;
                for (int j = 0; j < 2 * w + o; j++) {
                    acc += fullKernel(i, j, o, n, w, base) * xp[m * o + j];
                }
                y[m * n + i] = acc;
            }
        }
        int keep = (int) Math.ceil((double) n * x.length / o);
        return java.util.Arrays.copyOf(y, keep);
    }

    @Test
    void matchesThePaddedConvolutionForOtherRates() {
        Random r = new Random(3);
        int[][] pairs = {{8000, 24000}, {22050, 24000}, {11025, 16000}, {32000, 24000}, {96000, 24000},
                {192000, 24000}, {7, 5}, {5, 7}, {24000, 16000}, {1001, 999}};
        for (int[] pair : pairs) {
            for (int len : new int[] {0, 1, 2, 3, 17, 100, 1001}) {
                double[] x = new double[len];
                for (int i = 0; i < len; i++) {
                    x[i] = r.nextGaussian() * 0.3;
                }
                double[] expected = reference(x, pair[0], pair[1]);
                double[] out = Resampler.resample(x, pair[0], pair[1]);
                assertEquals(expected.length, out.length, pair[0] + " -> " + pair[1] + ", " + len);
                assertTrue(Diffs.maxAbsDiff(expected, out) <= 1e-14, pair[0] + " -> " + pair[1] + ", " + len);
            }
        }
    }

    /** One output sample of the README's recipe, for rate pairs whose full kernel is too big to build. */
    private static double referenceSample(double[] x, int from, int to, int index) {
        int g = Resampler.gcd(from, to);
        int o = from / g;
        int n = to / g;
        double base = Math.min(o, n) * 0.99;
        int w = (int) Math.ceil(6.0 * o / base);
        int m = index / n;
        int i = index % n;
        double acc = 0;
        for (int j = 0; j < 2 * w + o; j++) {
            int at = m * o + j - w; // xp[m o + j] is x[m o + j - w], zero outside x
            acc += fullKernel(i, j, o, n, w, base) * (at >= 0 && at < x.length ? x[at] : 0);
        }
        return acc;
    }

    @Test
    void coprimeRatesKeepTheKernelSmall() {
        // gcd 1: torchaudio's kernel would be n x (2w + o) = 24000 x 192097 doubles (37 GB)
        Random r = new Random(4);
        double[] x = new double[20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextGaussian() * 0.3;
        }
        for (int[] pair : new int[][] {{191999, 24000}, {44100, 24001}, {8003, 24000}}) {
            Resampler.Kernel k = Resampler.kernel(pair[0], pair[1]);
            assertEquals(pair[0], k.orig);
            assertTrue(k.taps.length <= k.next * (12.0 * k.orig / k.base + 2), k.taps.length + " taps");
            double[] out = Resampler.resample(x, pair[0], pair[1]);
            assertEquals((int) Math.ceil((double) pair[1] * x.length / pair[0]), out.length);
            for (int s = 0; s < 12; s++) {
                int index = s == 0 ? 0 : s == 1 ? out.length - 1 : r.nextInt(out.length);
                assertEquals(referenceSample(x, pair[0], pair[1], index), out[index], 1e-14,
                        pair[0] + " -> " + pair[1] + " sample " + index);
            }
        }
    }

    @Test
    void outputLengthIsCeilOfNLenOverO() {
        for (int len = 0; len < 400; len += 7) {
            double[] x = new double[len];
            assertEquals((int) Math.ceil(len * 80 / 147.0), Resampler.resample(x, 44100, 24000).length);
            assertEquals((len * 2 + 2) / 3, Resampler.resample(x, 24000, 16000).length);
            assertEquals(len * 3, Resampler.resample(x, 8000, 24000).length);
        }
    }

    @Test
    void equalRatesGiveACopy() {
        double[] x = {0.1, -0.2, 0.3};
        double[] y = Resampler.resample(x, 24000, 24000);
        assertArrayEquals(x, y);
        assertNotSame(x, y);
    }

    @Test
    void ratesOutOfRangeAreRefused() {
        double[] x = new double[10];
        for (int[] bad : new int[][] {{0, 24000}, {24000, 0}, {-1, 16000}, {Resampler.MAX_RATE + 1, 24000}}) {
            InvalidAudioException e = assertThrows(InvalidAudioException.class,
                    () -> Resampler.resample(x, bad[0], bad[1]));
            assertTrue(e.getMessage().contains("out of range: resampling takes 1 to 384000 Hz"), e.getMessage());
        }
    }

    @Test
    void kernelsAreBuiltOncePerPair() {
        assertTrue(Resampler.kernel(44100, 24000) == Resampler.kernel(44100, 24000));
        assertTrue(Resampler.kernel(24000, 16000) == Resampler.kernel(24000, 16000));
    }
}

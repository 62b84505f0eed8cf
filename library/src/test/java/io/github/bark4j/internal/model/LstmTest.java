package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/** The shared LSTM ({@link Lstm}) against a naive Java loop, and its fused path against its steps. */
class LstmTest {
    private NDManager mgr;

    @BeforeEach
    void manager() {
        mgr = NDManager.newBaseManager();
    }

    @AfterEach
    void release() {
        mgr.close();
    }

    /** Random weights of a PyTorch LSTM stack, in double. */
    record Weights(int input, int hidden, double[][] ih, double[][] hh, double[][] bih, double[][] bhh) {
        static Weights random(Random r, int input, int hidden, int layers) {
            double scale = 1 / Math.sqrt(hidden);
            double[][] ih = new double[layers][];
            double[][] hh = new double[layers][];
            double[][] bih = new double[layers][];
            double[][] bhh = new double[layers][];
            for (int l = 0; l < layers; l++) {
                ih[l] = uniform(r, 4 * hidden * (l == 0 ? input : hidden), scale);
                hh[l] = uniform(r, 4 * hidden * hidden, scale);
                bih[l] = uniform(r, 4 * hidden, scale);
                bhh[l] = uniform(r, 4 * hidden, scale);
            }
            return new Weights(input, hidden, ih, hh, bih, bhh);
        }

        Lstm toLstm(NDManager m, DataType dtype) {
            List<NDArray> wih = new ArrayList<>();
            List<NDArray> whh = new ArrayList<>();
            List<NDArray> b = new ArrayList<>();
            for (int l = 0; l < ih.length; l++) {
                int in = l == 0 ? input : hidden;
                wih.add(m.create(ih[l], new Shape(4L * hidden, in)).toType(dtype, false));
                whh.add(m.create(hh[l], new Shape(4L * hidden, hidden)).toType(dtype, false));
                double[] sum = new double[4 * hidden];
                for (int i = 0; i < sum.length; i++) {
                    sum[i] = bih[l][i] + bhh[l][i];
                }
                b.add(m.create(sum).toType(dtype, false));
            }
            return new Lstm(wih, whh, b, hidden);
        }

        /**
         * PyTorch's LSTM written out: per layer and step z = W_ih x + b_ih + W_hh h + b_hh, rows i,
         * f, g, o; c = f c + i g, h = o tanh(c), from zero. x is (T, B, input) row-major.
         */
        double[] naive(double[] x, int t, int batch) {
            double[] seq = x;
            int width = input;
            for (int l = 0; l < ih.length; l++) {
                double[] out = new double[t * batch * hidden];
                for (int b = 0; b < batch; b++) {
                    double[] h = new double[hidden];
                    double[] c = new double[hidden];
                    for (int s = 0; s < t; s++) {
                        double[] z = new double[4 * hidden];
                        for (int row = 0; row < 4 * hidden; row++) {
                            double v = bih[l][row] + bhh[l][row];
                            for (int j = 0; j < width; j++) {
                                v += ih[l][row * width + j] * seq[(s * batch + b) * width + j];
                            }
                            for (int j = 0; j < hidden; j++) {
                                v += hh[l][row * hidden + j] * h[j];
                            }
                            z[row] = v;
                        }
                        for (int j = 0; j < hidden; j++) {
                            double i = sigmoid(z[j]);
                            double f = sigmoid(z[hidden + j]);
                            double g = Math.tanh(z[2 * hidden + j]);
                            double o = sigmoid(z[3 * hidden + j]);
                            c[j] = f * c[j] + i * g;
                            h[j] = o * Math.tanh(c[j]);
                            out[(s * batch + b) * hidden + j] = h[j];
                        }
                    }
                }
                seq = out;
                width = hidden;
            }
            return seq;
        }

        private static double sigmoid(double z) {
            return 1 / (1 + Math.exp(-z));
        }

        private static double[] uniform(Random r, int n, double scale) {
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                out[i] = (2 * r.nextDouble() - 1) * scale;
            }
            return out;
        }
    }

    @Test
    void stepsEqualTheNaiveLoop() {
        Random r = new Random(21);
        int[][] cases = {{5, 7, 2, 9, 1}, {3, 4, 1, 1, 2}, {16, 24, 2, 30, 3}, {32, 20, 2, 17, 1}, {8, 33, 3, 5, 2}};
        for (int[] c : cases) { // input, hidden, layers, steps, batch
            Weights w = Weights.random(r, c[0], c[1], c[2]);
            double[] x = new double[c[3] * c[4] * c[0]];
            for (int i = 0; i < x.length; i++) {
                x[i] = 2 * r.nextGaussian();
            }
            double[] expected = w.naive(x, c[3], c[4]);
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                NDArray seq = mgr.create(x, new Shape(c[3], c[4], c[0])).toType(dtype, false);
                Lstm lstm = w.toLstm(mgr, dtype);
                NDArray y = lstm.runSteps(seq);
                assertArrayEquals(new long[] {c[3], c[4], c[1]}, y.getShape().getShape());
                double tolerance = dtype == DataType.FLOAT64 ? 1e-13 : 1e-5;
                assertArrayEquals(expected, Tensors.toDoubles(y), tolerance, Arrays.toString(c) + " " + dtype);
                // input projections in blocks of a few steps (long sequences): the same sequence
                for (long block : new long[] {1, 4}) {
                    assertArrayEquals(expected, Tensors.toDoubles(lstm.runSteps(seq, block)), tolerance,
                            Arrays.toString(c) + " " + dtype + " blocks of " + block);
                }
            }
        }
    }

    /** libtorch's fused LSTM, where the codec and quantizer may use it (32 units and more), equals the steps. */
    @Test
    void fusedEqualsSteps() {
        Random r = new Random(22);
        int[][] cases = {{32, 32, 2, 25, 1}, {48, 64, 2, 12, 2}, {64, 128, 1, 7, 1}};
        for (int[] c : cases) {
            Weights w = Weights.random(r, c[0], c[1], c[2]);
            double[] x = new double[c[3] * c[4] * c[0]];
            for (int i = 0; i < x.length; i++) {
                x[i] = r.nextGaussian();
            }
            for (DataType dtype : new DataType[] {DataType.FLOAT64, DataType.FLOAT32}) {
                Lstm lstm = w.toLstm(mgr, dtype);
                NDArray seq = mgr.create(x, new Shape(c[3], c[4], c[0])).toType(dtype, false);
                double tolerance = dtype == DataType.FLOAT64 ? 1e-13 : 1e-5;
                assertArrayEquals(Tensors.toDoubles(lstm.runSteps(seq)), Tensors.toDoubles(lstm.runFused(seq)), tolerance,
                        Arrays.toString(c) + " " + dtype);
            }
        }
    }
}

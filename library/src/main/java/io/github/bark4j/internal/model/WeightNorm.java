package io.github.bark4j.internal.model;

import ai.djl.ndarray.NDArray;

import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.stream.IntStream;

/**
 * Convolution weights saved by PyTorch's {@code weight_norm(dim)}, folded once at load: w = g · v / ‖v‖
 * with the norm over every dim but {@code dim}. EnCodec's convolutions (dim 0) and HuBERT's positional
 * convolution (dim 2) are saved this way, under the old {@code weight_g}/{@code weight_v} names or, by
 * newer PyTorch, as {@code parametrizations.weight.original0}/{@code original1}.
 */
public final class WeightNorm {
    private WeightNorm() {}

    /**
     * The folded weight of the module under {@code key} (its prefix, ending in '.'), of {@code shape};
     * a plain {@code weight} is taken as is; null where the checkpoint has none of these, for the
     * caller to say which model lacks it.
     *
     * @param has whether the checkpoint holds a tensor
     * @param load a tensor of the checkpoint, checked against a shape
     */
    public static NDArray load(Predicate<String> has, BiFunction<String, long[], NDArray> load, String key,
            long[] shape, int dim) {
        String g;
        String v;
        if (has.test(key + "weight_g")) {
            g = key + "weight_g";
            v = key + "weight_v";
        } else if (has.test(key + "parametrizations.weight.original0")) {
            g = key + "parametrizations.weight.original0";
            v = key + "parametrizations.weight.original1";
        } else if (has.test(key + "weight")) {
            return load.apply(key + "weight", shape);
        } else {
            return null;
        }
        long[] gainShape = new long[shape.length];
        Arrays.fill(gainShape, 1);
        gainShape[dim] = shape[dim];
        int[] others = IntStream.range(0, shape.length).filter(i -> i != dim).toArray();
        // every intermediate closed here: they belong to the weights' manager, which lives as long as the model
        try (NDArray gain = load.apply(g, gainShape);
                NDArray direction = load.apply(v, shape);
                NDArray squares = direction.square();
                NDArray sum = squares.sum(others, true);
                NDArray norm = sum.sqrt()) {
            return direction.div(norm).muli(gain);
        }
    }
}

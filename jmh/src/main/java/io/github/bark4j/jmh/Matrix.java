package io.github.bark4j.jmh;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark matrices: which value of each {@code BarkState} (and benchmark) parameter to run. A
 * new Synthesizer option becomes a column of the matrix by adding its values here, once it is a
 * {@code @Param} (see {@code BarkState}).
 */
enum Matrix {
    /** bark-small only, FP32 and FP64, all cores; iteration counts from the benchmark annotations. */
    QUICK,
    /** bark-small and bark, FP32 and FP64, one thread and all cores; 1 warm-up and 3 measured calls each. */
    FULL;

    Map<String, List<String>> params(int cores) {
        Map<String, List<String>> p = new LinkedHashMap<>();
        p.put("model", this == QUICK ? List.of("bark-small") : List.of("bark-small", "bark"));
        p.put("precision", List.of("FP32", "FP64"));
        List<String> threads = new ArrayList<>();
        if (this == FULL && cores > 1) {
            threads.add("1");
        }
        threads.add(String.valueOf(cores));
        p.put("threads", threads);
        // When they exist as @Params: p.put("attention", List.of("eager", "sdpa"));
        // p.put("offload", List.of("none", "stage")); and for EndToEndBenchmark p.put("batch", List.of("1", "4", "8")).
        return p;
    }

    /** Iteration counts that override the annotations, or null to keep them. */
    int[] warmupAndMeasurement() {
        return this == FULL ? new int[] {1, 3} : null;
    }
}

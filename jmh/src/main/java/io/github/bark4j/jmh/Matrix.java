package io.github.bark4j.jmh;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark matrices. A matrix is a list of {@link Run}s rather than one cartesian product, so
 * that each option is measured where it means something without multiplying the run time: the
 * stage benchmarks ignore offload and batch, offload is compared against the unoptimised row, and
 * the batch sizes ride on the fastest attention. A new Synthesizer option becomes a column of the
 * matrix by adding its values to a run here, once it is a {@code @Param} (see {@code BarkState}).
 */
enum Matrix {
    /**
     * bark-small, all cores (about 15 minutes on 2 idle cores): stages and end to end at FP32 with
     * EAGER and SDPA attention; end to end with PER_STAGE offload (EAGER) and with batch 4 and 8
     * (SDPA); the FP16 stages with both kernels, one warm-up and one measured call (the fine window,
     * ~30 s at FP16 on a CPU, without warm-up), but not FP16 end to end, which would not fit; the
     * kernel benchmarks at FP32 and FP16; the native decode step (FP32 and BF16) per stage and end to
     * end; and the long workload ({@code LongWorkloadBenchmark}: 768 semantic tokens, 15.4 s of audio)
     * with the Java and native steps at FP32 and the native step at BF16 (about 8 more minutes); and
     * voice cloning of 10 s at FP32 ({@code CloningBenchmark}, about 2 minutes).
     */
    QUICK,
    /**
     * bark-small and bark, one thread and all cores, 1 warm-up and 3 measured calls: the quick runs
     * plus FP16 and FP64 for every stage and end to end, offload and batching with both attention
     * kernels, and the kernel benchmarks at FP32, FP16 and FP64 with more iterations. Hours on a CPU.
     */
    FULL;

    /** Benchmark method names of this module, as JMH names them. */
    static final String STAGES = StageBenchmark.class.getName() + ".";
    static final String E2E = EndToEndBenchmark.class.getName() + ".generate";
    static final String ATTENTION = KernelBenchmark.class.getName() + ".attention";
    static final String CONV = KernelBenchmark.class.getName() + ".convTranspose";
    static final String LONG = LongWorkloadBenchmark.class.getName() + ".generate";
    static final String CLONE = CloningBenchmark.class.getName() + ".cloneVoice";

    /**
     * One JMH invocation: these benchmark methods × the cartesian product of these parameters.
     *
     * @param iterations warm-up and measured iterations overriding the annotations, or null
     */
    record Run(String name, List<String> benchmarks, Map<String, List<String>> params, int[] iterations) {}

    List<Run> runs(int cores) {
        boolean full = this == FULL;
        List<String> models = full ? List.of("bark-small", "bark") : List.of("bark-small");
        List<String> threads = new ArrayList<>();
        if (full && cores > 1) {
            threads.add("1");
        }
        threads.add(String.valueOf(cores));
        List<String> stages = List.of(STAGES + "semantic", STAGES + "coarse", STAGES + "fine", STAGES + "codec");
        int[] calls = full ? new int[] {1, 3} : null;

        List<Run> runs = new ArrayList<>();
        runs.add(new Run("stages", stages,
                model(models, threads, full ? List.of("FP32", "FP64") : List.of("FP32"), List.of("EAGER", "SDPA"),
                        List.of("NONE")), calls));
        runs.add(new Run("end to end", List.of(E2E),
                with(model(models, threads, full ? List.of("FP32", "FP64") : List.of("FP32"),
                        List.of("EAGER", "SDPA"), List.of("NONE")), "batch", List.of("1")), calls));
        runs.add(new Run("offload", List.of(E2E),
                with(model(models, threads, List.of("FP32"), full ? List.of("EAGER", "SDPA") : List.of("EAGER"),
                        List.of("PER_STAGE")), "batch", List.of("1")), calls));
        runs.add(new Run("batching", List.of(E2E),
                with(model(models, threads, List.of("FP32"), full ? List.of("EAGER", "SDPA") : List.of("SDPA"),
                        List.of("NONE")), "batch", List.of("4", "8")), calls));
        if (full) {
            runs.add(new Run("fp16 stages", stages,
                    model(models, threads, List.of("FP16"), List.of("EAGER", "SDPA"), List.of("NONE")), calls));
            runs.add(new Run("fp16 end to end", List.of(E2E),
                    with(model(models, threads, List.of("FP16"), List.of("EAGER", "SDPA"), List.of("NONE", "PER_STAGE")),
                            "batch", List.of("1", "4", "8")), calls));
        } else {
            // one warm-up and one measured call; the fine window (~30 s at FP16) without warm-up
            runs.add(new Run("fp16 stages", List.of(STAGES + "semantic", STAGES + "coarse", STAGES + "codec"),
                    model(models, threads, List.of("FP16"), List.of("EAGER", "SDPA"), List.of("NONE")),
                    new int[] {1, 1}));
            runs.add(new Run("fp16 fine", List.of(STAGES + "fine"),
                    model(models, threads, List.of("FP16"), List.of("EAGER", "SDPA"), List.of("NONE")),
                    new int[] {0, 1}));
        }
        // the native decode step (and BF16, which needs it) beside the Java rows above
        runs.add(new Run("native step stages", stages,
                with(model(models, threads, List.of("FP32", "BF16"), List.of("SDPA"), List.of("NONE")), "step",
                        List.of("NATIVE")), calls));
        runs.add(new Run("native step end to end", List.of(E2E),
                with(with(model(models, threads, List.of("FP32", "BF16"), List.of("SDPA"), List.of("NONE")), "step",
                        List.of("NATIVE")), "batch", List.of("1")), calls));
        // the 768-token, 15.4 s workload end to end with its stage times: Java and native rows of one run
        runs.add(new Run("long workload", List.of(LONG),
                with(model(List.of("bark-small"), threads, List.of("FP32"), List.of("SDPA"), List.of("NONE")), "step",
                        List.of("JAVA", "NATIVE")), null));
        runs.add(new Run("long workload bf16", List.of(LONG),
                with(model(List.of("bark-small"), threads, List.of("BF16"), List.of("SDPA"), List.of("NONE")), "step",
                        List.of("NATIVE")), null));
        // 10 s of audio cloned into a voice preset (EnCodec encoder, HuBERT base, English quantizer)
        Map<String, List<String>> cloning = new LinkedHashMap<>();
        cloning.put("precision", full ? List.of("FP32", "FP64") : List.of("FP32"));
        cloning.put("threads", threads);
        runs.add(new Run("voice cloning", List.of(CLONE), cloning, null));
        Map<String, List<String>> attention = new LinkedHashMap<>();
        attention.put("precision", full ? List.of("FP32", "FP16", "FP64") : List.of("FP32", "FP16"));
        attention.put("kernel", List.of("EAGER", "SDPA"));
        runs.add(new Run("attention kernel", List.of(ATTENTION), attention, full ? new int[] {5, 10} : null));
        runs.add(new Run("transposed convolution", List.of(CONV), new LinkedHashMap<>(), full ? new int[] {5, 10} : null));
        return runs;
    }

    private static Map<String, List<String>> model(List<String> models, List<String> threads, List<String> precisions,
            List<String> attention, List<String> offload) {
        Map<String, List<String>> p = new LinkedHashMap<>();
        p.put("model", models);
        p.put("precision", precisions);
        p.put("attention", attention);
        p.put("offload", offload);
        p.put("threads", threads);
        return p;
    }

    private static Map<String, List<String>> with(Map<String, List<String>> p, String key, List<String> values) {
        p.put(key, values);
        return p;
    }
}

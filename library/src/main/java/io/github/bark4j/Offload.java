package io.github.bark4j;

/** Where model weights live between stages. */
public enum Offload {
    /** Every stage's weights stay resident on the compute device. */
    NONE,
    /**
     * Weights live on the host; each stage's weights are copied to the compute device only while that
     * stage runs and released after it (as Hugging Face's enable_cpu_offload). Lowers peak device
     * memory to the largest single stage at the cost of a copy per stage per call.
     */
    PER_STAGE
}

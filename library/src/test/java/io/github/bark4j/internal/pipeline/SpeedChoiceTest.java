package io.github.bark4j.internal.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.Attention;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;

import org.junit.jupiter.api.Test;

/**
 * Which fast paths a Synthesizer takes for each request and environment. No GPU is available to
 * the test machines, so the GPU rows are checked here as decisions, not run.
 */
class SpeedChoiceTest {
    private static SpeedChoice choose(Precision p, Attention a, boolean step, Offload o, boolean bridge, boolean gpu) {
        return SpeedChoice.resolve(p, a, step, o, bridge, bridge ? null : "not built", gpu);
    }

    @Test
    void withTheBridgeOnTheCpuEverythingFastIsUsed() {
        SpeedChoice c = choose(Precision.FP32, Attention.SDPA, true, Offload.NONE, true, false);
        assertEquals(new SpeedChoice(Precision.FP32, Attention.SDPA, true, true, java.util.List.of()), c);
        assertTrue(choose(Precision.FP64, Attention.SDPA, true, Offload.NONE, true, false).nativeStep());
        SpeedChoice bf16 = choose(Precision.BF16, Attention.EAGER, true, Offload.NONE, true, false);
        assertEquals(Precision.BF16, bf16.precision());
        assertTrue(bf16.nativeStep());
        assertTrue(bf16.notes().isEmpty());
    }

    @Test
    void theJavaPathAndEagerStaySelectable() {
        SpeedChoice c = choose(Precision.FP32, Attention.EAGER, false, Offload.NONE, true, false);
        assertEquals(Attention.EAGER, c.attention());
        assertFalse(c.nativeStep());
        assertTrue(c.notes().isEmpty());
    }

    @Test
    void withoutTheBridgeEverythingFallsBackWithAReason() {
        SpeedChoice c = choose(Precision.BF16, Attention.SDPA, true, Offload.NONE, false, false);
        assertEquals(Attention.EAGER, c.attention());
        assertEquals(Precision.FP32, c.precision());
        assertFalse(c.nativeStep());
        assertFalse(c.nativeConv());
        assertEquals(2, c.notes().size());
        assertTrue(c.notes().stream().allMatch(n -> n.contains("not built")), c.notes().toString());
    }

    /** SDPA on a GPU stays SDPA (the bridge hands CUDA tensors to ATen); the CPU-only native parts step aside. */
    @Test
    void onAGpuSdpaStaysAndTheCpuOnlyPartsStepAside() {
        SpeedChoice c = choose(Precision.FP32, Attention.SDPA, true, Offload.NONE, true, true);
        assertEquals(Attention.SDPA, c.attention());
        assertFalse(c.nativeStep());
        assertFalse(c.nativeConv());
        assertTrue(c.notes().isEmpty(), "the default path on a GPU is not a fallback worth a warning");
        SpeedChoice bf16 = choose(Precision.BF16, Attention.SDPA, true, Offload.NONE, true, true);
        assertEquals(Precision.FP32, bf16.precision());
        assertTrue(bf16.notes().get(0).contains("GPU"), bf16.notes().toString());
        assertEquals(Precision.FP16, choose(Precision.FP16, Attention.SDPA, true, Offload.NONE, true, true).precision());
    }

    @Test
    void fp16AndOffloadUseTheJavaStep() {
        assertFalse(choose(Precision.FP16, Attention.SDPA, true, Offload.NONE, true, false).nativeStep());
        assertFalse(choose(Precision.FP32, Attention.SDPA, true, Offload.PER_STAGE, true, false).nativeStep());
        SpeedChoice bf16 = choose(Precision.BF16, Attention.SDPA, true, Offload.PER_STAGE, true, false);
        assertEquals(Precision.FP32, bf16.precision());
        assertTrue(bf16.notes().get(0).contains("offload"), bf16.notes().toString());
        SpeedChoice javaBf16 = choose(Precision.BF16, Attention.SDPA, false, Offload.NONE, true, false);
        assertEquals(Precision.FP32, javaBf16.precision());
        assertTrue(javaBf16.notes().get(0).contains("Java path"), javaBf16.notes().toString());
    }
}

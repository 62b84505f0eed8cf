package io.github.bark4j.internal.pipeline;

import io.github.bark4j.Attention;
import io.github.bark4j.Offload;
import io.github.bark4j.Precision;
import io.github.bark4j.internal.model.NativeGpt;

import java.util.ArrayList;
import java.util.List;

/**
 * The fast paths a {@code Synthesizer} uses, decided in one place from what the builder asked for
 * and what this process offers (the native bridge, the device, the weight residency). Everything
 * asked for that cannot run here falls back to the reference path with a note saying why.
 *
 * @param nativeStep decode the causal GPTs with {@link NativeGpt}
 * @param nativeConv EnCodec's transposed convolutions through libtorch (bridge)
 * @param notes why something asked for was replaced (logged as warnings)
 */
public record SpeedChoice(Precision precision, Attention attention, boolean nativeStep, boolean nativeConv,
        List<String> notes) {

    public static SpeedChoice resolve(Precision precision, Attention attention, boolean nativeStep, Offload offload,
            boolean bridge, String bridgeReason, boolean gpu) {
        List<String> notes = new ArrayList<>();
        Attention a = attention;
        if (attention == Attention.SDPA && !bridge) {
            // the bridge's SDPA takes tensors on any device: only its absence forces EAGER
            notes.add("SDPA attention needs bark4j's native bridge, which is unavailable (" + bridgeReason
                    + "); using EAGER");
            a = Attention.EAGER;
        }
        // the native step reads CPU weights in place, which per-stage offload replaces per request;
        // FP16 has no native step (the Java path computes it)
        boolean stepPossible = bridge && !gpu && offload == Offload.NONE && precision != Precision.FP16;
        boolean step = nativeStep && stepPossible;
        Precision p = precision;
        if (precision == Precision.BF16 && !step) {
            String why = !nativeStep ? "the Java path was asked for"
                    : !bridge ? "the native bridge is unavailable (" + bridgeReason + ")"
                    : gpu ? "the device is a GPU" : "per-stage offload copies the weights per request";
            notes.add("BF16 needs the native decode step, but " + why + "; using FP32");
            p = Precision.FP32;
        }
        return new SpeedChoice(p, a, step, bridge && !gpu, List.copyOf(notes));
    }
}

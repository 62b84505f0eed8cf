package io.github.bark4j;

import com.code_intelligence.jazzer.junit.FuzzTest;

import org.junit.jupiter.api.AfterAll;

/**
 * The targets of {@link FileFuzzTest} under Jazzer, which then mutates the scripts with coverage
 * guidance. In a normal test run (regression mode) Jazzer replays only the saved inputs in
 * {@code src/test/resources/io/github/bark4j/JazzerFuzzTestInputs/<method>/} (scripts, a few bytes
 * each; a failing script from {@code target/fuzz-failures} can be dropped there to keep it as a
 * regression test). To fuzz one format for real:
 * {@code JAZZER_FUZZ=1 mvn -pl library -am test -Dtest=JazzerFuzzTest#npz -Dsurefire.failIfNoSpecifiedTests=false}
 * (crashing inputs are saved beside the seeds).
 */
class JazzerFuzzTest {
    @AfterAll
    static void closeSynthesizer() {
        FuzzTargets.close();
    }

    private interface Factory {
        FuzzHarness.Target create() throws Exception;
    }

    /** Targets read their seed file once per JVM. */
    private static final java.util.Map<String, FuzzHarness.Target> TARGETS = new java.util.HashMap<>();

    /** The contract: a {@link BarkException} is a fine answer to a hostile input; anything else is a finding. */
    private static void check(String name, Factory factory, byte[] script) throws Exception {
        FuzzHarness.Target target;
        synchronized (TARGETS) {
            target = TARGETS.get(name);
            if (target == null) {
                target = factory.create();
                TARGETS.put(name, target);
            }
        }
        try {
            target.run(script);
        } catch (BarkException expected) {
            // a clear, typed refusal
        }
    }

    @FuzzTest(maxDuration = "2m")
    void safetensors(byte[] script) throws Exception {
        check("safetensors", FuzzTargets::safetensors, script);
    }

    @FuzzTest(maxDuration = "2m")
    void pytorchCheckpoint(byte[] script) throws Exception {
        check("pytorchCheckpoint", FuzzTargets::pytorchCheckpoint, script);
    }

    @FuzzTest(maxDuration = "2m")
    void pickle(byte[] script) throws Exception {
        check("pickle", FuzzTargets::pickle, script);
    }

    @FuzzTest(maxDuration = "2m")
    void npz(byte[] script) throws Exception {
        check("npz", FuzzTargets::npz, script);
    }

    @FuzzTest(maxDuration = "2m")
    void npy(byte[] script) throws Exception {
        check("npy", FuzzTargets::npy, script);
    }

    @FuzzTest(maxDuration = "2m")
    void config(byte[] script) throws Exception {
        check("config", FuzzTargets::config, script);
    }

    @FuzzTest(maxDuration = "2m")
    void tokenizer(byte[] script) throws Exception {
        check("tokenizer", FuzzTargets::tokenizer, script);
    }

    @FuzzTest(maxDuration = "2m")
    void modelsManifest(byte[] script) throws Exception {
        check("modelsManifest", FuzzTargets::modelsManifest, script);
    }

    @FuzzTest(maxDuration = "2m")
    void requestText(byte[] script) throws Exception {
        check("requestText", FuzzTargets::requestText, script);
    }

    @FuzzTest(maxDuration = "2m")
    void wav(byte[] script) throws Exception {
        check("wav", FuzzTargets::wav, script);
    }
}
